"""Enhancement operations (imgstudio.ops.enhance) as a family: catalog, cheap import, and the
contracts every op keeps (inputs, dtypes, alpha, progress, cancel)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import imgstudio.api as api
from imgstudio.core.progress import Cancelled, Progress
from tests.ops.helpers import DTYPE_IDS, DTYPES

CATALOG = {
    "enhance.gaussian": ({"image"}, {"sigma"}),
    "enhance.median": ({"image"}, {"ksize"}),
    "enhance.bilateral": ({"image"}, {"d", "sigma_color", "sigma_space"}),
    "enhance.nl_means": ({"image"}, {"h"}),
    "enhance.anisotropic_diffusion": ({"image"}, {"kappa", "niter", "gamma", "option"}),
    "enhance.histogram_equalize": ({"image"}, set()),
    "enhance.clahe": ({"image"}, {"clip_limit", "tile"}),
    "enhance.histogram_match": ({"image", "reference"}, set()),
    "enhance.seamless_clone": ({"image", "source", "mask"}, {"center_x", "center_y", "mode"}),
    "enhance.unsharp_mask": ({"image"}, {"radius", "amount"}),
    "enhance.tv_denoise": ({"image"}, {"weight"}),
    "enhance.wavelet_denoise": ({"image"}, {"wavelet", "mode", "sigma"}),
    "enhance.frequency_filter": ({"image"}, {"kind", "cutoff", "order"}),
    "enhance.pyramid_blend": ({"image", "other", "mask"}, {"levels"}),
    "enhance.focus_stack": ({"images"}, set()),
}
# Parameters added beyond the catalog (with defaults).
EXTRA = {"enhance.frequency_filter": {"width"}, "enhance.focus_stack": {"sigma"}}
DEFAULTS = {
    "enhance.gaussian": {"sigma": 1.0},
    "enhance.median": {"ksize": 5},
    "enhance.bilateral": {"d": 9, "sigma_color": 75.0, "sigma_space": 75.0},
    "enhance.nl_means": {"h": 10.0},
    "enhance.anisotropic_diffusion": {"kappa": 20.0, "niter": 20, "gamma": 0.1, "option": 1},
    "enhance.clahe": {"clip_limit": 2.0, "tile": 8},
    "enhance.seamless_clone": {"center_x": None, "center_y": None, "mode": "normal"},
    "enhance.unsharp_mask": {"radius": 1.0, "amount": 1.0},
    "enhance.tv_denoise": {"weight": 0.1},
    "enhance.wavelet_denoise": {"wavelet": "db1", "mode": "soft", "sigma": None},
    "enhance.frequency_filter": {"kind": "gaussian_lowpass", "cutoff": 30.0, "order": 2},
    "enhance.pyramid_blend": {"levels": 6},
}
SINGLE_IMAGE = sorted(op for op, (inputs, _) in CATALOG.items() if inputs == {"image"})


def call_args(op_id: str, image: np.ndarray) -> tuple[tuple, dict]:
    """Positional layer inputs and keyword arguments for a valid call of ``op_id`` on ``image``."""
    h, w = image.shape[:2]
    if op_id == "enhance.histogram_match":
        return (image, image[::-1, ::2].copy()), {}
    if op_id == "enhance.seamless_clone":
        source = np.ascontiguousarray(image[h // 4 : h // 2, w // 4 : w // 2][::-1])
        mask = np.zeros(source.shape[:2], np.int32)
        mask[2:-2, 3:-3] = 1
        return (image, source, mask), {"center_x": w // 2, "center_y": h // 3}
    if op_id == "enhance.pyramid_blend":
        mask = np.zeros((h, w), np.int32)
        mask[:, : w // 2] = 1
        return (image, image[::-1].copy(), mask), {"levels": 3}
    if op_id == "enhance.focus_stack":
        return ([image, cv2.GaussianBlur(image, (0, 0), 2.0)],), {}
    return (image,), {}


def test_catalog_ids_inputs_and_parameter_names_are_registered():
    specs = {s.id: s for s in api.list_operations() if s.family == "enhance"}
    assert set(CATALOG) <= set(specs)
    for op_id, (inputs, params) in CATALOG.items():
        spec = specs[op_id]
        assert {i.name for i in spec.inputs} == inputs, op_id
        assert {p.name for p in spec.params} == params | EXTRA.get(op_id, set()), op_id
        assert spec.summary and not spec.summary.endswith(":"), op_id


@pytest.mark.parametrize("op_id", sorted(DEFAULTS))
def test_catalog_defaults(op_id):
    assert {k: v for k, v in api.get_operation(op_id).defaults().items()
            if k in DEFAULTS[op_id]} == DEFAULTS[op_id]


@pytest.mark.parametrize("op_id", sorted(CATALOG))
def test_op_does_not_mutate_its_inputs(op_id, make):
    args, kwargs = call_args(op_id, make(np.uint8, "rgb"))
    flat = [a for arg in args for a in (arg if isinstance(arg, list) else [arg])]
    before = [a.copy() for a in flat]
    api.run(op_id, *args, **kwargs)
    assert all(np.array_equal(a, b) for a, b in zip(flat, before, strict=True))


@pytest.mark.parametrize("op_id", sorted(CATALOG))
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("kind", ["gray", "rgb", "rgba"])
def test_op_preserves_dtype_and_shape(op_id, dtype, kind, make):
    image = make(dtype, kind)
    args, kwargs = call_args(op_id, image)
    out = api.run(op_id, *args, **kwargs)
    assert out.dtype == dtype and out.shape == image.shape
    if dtype == np.float32:
        assert out.min() >= 0.0 and out.max() <= 1.0


@pytest.mark.parametrize("op_id", sorted(set(CATALOG) - {"enhance.focus_stack"}))
def test_alpha_is_carried_through(op_id, make):
    image = make(np.uint16, "rgba")
    args, kwargs = call_args(op_id, image)
    out = api.run(op_id, *args, **kwargs)
    assert np.array_equal(out[..., 3], image[..., 3])


@pytest.mark.parametrize("op_id", sorted(CATALOG))
def test_direct_call_equals_api_run(op_id, make):
    args, kwargs = call_args(op_id, make(np.uint8, "rgb"))
    func = api.get_operation(op_id).func
    assert np.array_equal(func(*args, **kwargs), api.run(op_id, *args, **kwargs))


@pytest.mark.parametrize("op_id", SINGLE_IMAGE)
def test_unknown_parameter_is_rejected_by_name(op_id, make):
    with pytest.raises(ValueError, match="strength"):
        api.run(op_id, make(), strength=3)


@pytest.mark.parametrize("op_id", sorted(CATALOG))
def test_float64_image_is_rejected_naming_the_input(op_id, make):
    args, kwargs = call_args(op_id, make(np.float32, "rgb"))
    first = args[0]
    if isinstance(first, list):
        args = ([first[0], first[1].astype(np.float64)],)
        name = r"images\[1\]"
    else:
        args = (first.astype(np.float64),) + args[1:]
        name = "image"
    with pytest.raises(ValueError, match=name):
        api.run(op_id, *args, **kwargs)


# -- progress and cancellation ----------------------------------------------------------------

LONG_RUNNING = sorted(CATALOG)  # each can take more than a second on 12 MP


@pytest.mark.parametrize("op_id", LONG_RUNNING)
def test_long_ops_report_progress_up_to_one(op_id, make):
    seen: list[float] = []
    args, kwargs = call_args(op_id, make(np.uint8, "rgb"))
    api.run(op_id, *args, progress=Progress(lambda f, m: seen.append(f)), **kwargs)
    assert seen and seen[-1] == 1.0 and seen == sorted(seen)


@pytest.mark.parametrize("op_id", LONG_RUNNING)
def test_cancelled_token_stops_the_op(op_id, make):
    token = Progress()
    token.cancel()
    args, kwargs = call_args(op_id, make(np.uint8, "rgb"))
    with pytest.raises(Cancelled):
        api.run(op_id, *args, progress=token, **kwargs)
