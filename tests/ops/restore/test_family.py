"""Restoration operations (imgstudio.ops.restore) as a family: catalog, defaults, inputs and
outputs, cheap import, and the input/dtype contracts every op keeps."""

from __future__ import annotations

import numpy as np
import pytest

import imgstudio.api as api
from tests.ops.helpers import convert, dtypes

CATALOG = {
    "restore.blur": {"psf", "size", "angle"},
    "restore.add_noise": {"mode", "amount", "seed"},
    "restore.wiener": {"psf", "size", "angle", "balance"},
    "restore.unsupervised_wiener": {"psf", "size", "angle", "seed"},  # seed added
    "restore.pseudo_inverse": {"psf", "size", "angle", "epsilon"},
    "restore.cls": {"psf", "size", "angle", "lam"},
    "restore.mrf_denoise": {"eta", "zeta", "sweeps", "seed"},
    "restore.inpaint": {"method", "radius"},
    "restore.dictionary_denoise": {"n_components", "patch_size", "alpha", "nonzero_coefs",
                                   "max_patches", "seed"},
    "restore.wavelet_compress": {"wavelet", "threshold"},
    "restore.stego_hide": {"message"},
    "restore.stego_reveal": set(),
}
DEFAULTS = {
    "restore.blur": {"psf": "gaussian", "size": 9, "angle": 0.0},
    "restore.add_noise": {"mode": "gaussian", "amount": 0.05, "seed": 0},
    "restore.wiener": {"psf": "box", "size": 5, "angle": 0.0, "balance": 0.25},
    "restore.pseudo_inverse": {"psf": "box", "size": 4, "angle": 0.0, "epsilon": 0.25},
    "restore.cls": {"psf": "box", "size": 4, "angle": 0.0, "lam": 2.0},
    "restore.mrf_denoise": {"eta": 2.0, "zeta": 1.5, "sweeps": 10, "seed": 0},
    "restore.inpaint": {"method": "telea", "radius": 5},
    "restore.dictionary_denoise": {"n_components": 256, "patch_size": 7, "alpha": 1.0,
                                   "nonzero_coefs": 2, "max_patches": 20000, "seed": 0},
    "restore.wavelet_compress": {"wavelet": "db4", "threshold": 12.0},
}
# Cheap valid calls of the image → image ops on a small image.
CASES = {
    "restore.blur": {"psf": "motion", "size": 5, "angle": 30.0},
    "restore.add_noise": {"mode": "s&p"},
    "restore.wiener": {},
    "restore.unsupervised_wiener": {"size": 3},
    "restore.pseudo_inverse": {},
    "restore.cls": {},
}


# -- contracts --------------------------------------------------------------------------------


def test_catalog_ids_and_parameter_names_are_registered():
    specs = {s.id: s for s in api.list_operations() if s.family == "restore"}
    assert set(specs) == set(CATALOG)
    for op_id, names in CATALOG.items():
        assert {p.name for p in specs[op_id].params} == names, op_id
        assert specs[op_id].summary, op_id


def test_catalog_defaults_are_kept():
    for op_id, defaults in DEFAULTS.items():
        assert api.get_operation(op_id).defaults() == defaults, op_id


def test_inputs_and_outputs_follow_the_catalog():
    specs = {s.id: s for s in api.list_operations() if s.family == "restore"}
    assert [i.name for i in specs["restore.inpaint"].inputs] == ["image", "mask"]
    assert specs["restore.mrf_denoise"].output.kind == "labels"
    assert specs["restore.stego_reveal"].output.result_type.__name__ == "Text"
    assert specs["restore.wavelet_compress"].output.kind == "result"
    slow = {"restore.unsupervised_wiener", "restore.dictionary_denoise", "restore.inpaint",
            "restore.mrf_denoise", "restore.wiener"}
    assert all(specs[op_id].long_running for op_id in slow)


@pytest.mark.parametrize("op_id", sorted(CASES))
def test_op_does_not_mutate_its_input(op_id, make_small):
    image = make_small(np.uint8, "rgb")
    before = image.copy()
    api.run(op_id, image, **CASES[op_id])
    assert np.array_equal(image, before)


@pytest.mark.parametrize("op_id", sorted(CASES))
@dtypes
def test_op_preserves_dtype_shape_and_alpha(op_id, dtype, make_small):
    image = make_small(dtype, "rgb")
    alpha = convert(np.tile(np.linspace(0, 255, image.shape[1]).astype(np.uint8),
                            (image.shape[0], 1)), dtype)
    rgba = np.dstack([image, alpha])
    out = api.run(op_id, rgba, **CASES[op_id])
    assert out.dtype == dtype and out.shape == rgba.shape
    assert np.array_equal(out[..., 3], alpha)
    assert np.array_equal(out[..., :3], api.run(op_id, image, **CASES[op_id]))
