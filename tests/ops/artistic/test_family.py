"""Artistic operations (imgstudio.ops.artistic) as a family: catalog, progress, dtype and input
contracts every op keeps, direct calls."""

from __future__ import annotations

import numpy as np
import pytest

import imgstudio.api as api
from imgstudio.core.progress import Cancelled, Progress
from imgstudio.core.types import IMAGE_DTYPES
from imgstudio.ops import artistic
from tests.ops.helpers import DTYPES, TOP, dtypes

# -- catalog and module contracts -------------------------------------------------------------


CATALOG = {
    "artistic.cartoon": {"num_down", "num_bilateral", "median_ksize", "block_size", "c"},
    "artistic.long_exposure": {"video", "max_frames", "step"},
    "artistic.sketch_dodge": {"ksize"},
    "artistic.sketch_dog": {"sigma", "k", "threshold"},
    "artistic.sketch_xdog": {"sigma", "k", "gamma", "epsilon", "phi", "binarize"},
    "artistic.sketch_anisotropic": {"kappa", "niter", "gamma"},
    "artistic.pencil": {"sigma_s", "sigma_r", "shade", "color"},
    "artistic.stylize": {"sigma_s", "sigma_r"},
    "artistic.stained_glass": {"cells", "border"},
    "artistic.cartoon_anisotropic": {"kappa", "niter", "levels"},
}
# Ops that take more than ~1 s on a 12 MP image on two cores: they report progress and cancel.
LONG_RUNNING = {
    "artistic.cartoon", "artistic.cartoon_anisotropic", "artistic.long_exposure",
    "artistic.pencil", "artistic.sketch_anisotropic", "artistic.stained_glass", "artistic.stylize",
}
IMAGE_OPS = sorted(set(CATALOG) - {"artistic.long_exposure"})
GREY_OUTPUT = {"artistic.sketch_dodge", "artistic.sketch_dog", "artistic.sketch_xdog",
               "artistic.sketch_anisotropic", "artistic.pencil"}
FAST = {"artistic.cartoon_anisotropic": {"niter": 5}, "artistic.sketch_anisotropic": {"niter": 5},
        "artistic.stained_glass": {"cells": 40}}


def test_catalog_ids_inputs_and_parameter_names_are_registered():
    specs = {s.id: s for s in api.list_operations() if s.family == "artistic"}
    assert set(specs) == set(CATALOG)
    for op_id, names in CATALOG.items():
        assert {p.name for p in specs[op_id].params} == names, op_id
        expected_inputs = ["frames"] if op_id == "artistic.long_exposure" else ["image"]
        assert [i.name for i in specs[op_id].inputs] == expected_inputs, op_id
        assert specs[op_id].summary and specs[op_id].menu == "Filters/Artistic", op_id
        assert specs[op_id].output.kind == "image", op_id
    assert specs["artistic.long_exposure"].inputs[0].many
    assert specs["artistic.long_exposure"].param("video").kind == "path"


def test_slow_ops_take_progress_and_fast_ones_do_not():
    specs = {s.id: s for s in api.list_operations() if s.family == "artistic"}
    assert {i for i, s in specs.items() if s.takes_progress and s.long_running} == LONG_RUNNING


@pytest.mark.parametrize("op_id", IMAGE_OPS)
def test_op_does_not_mutate_its_input(op_id, make):
    image = make(np.uint8, "rgba")
    before = image.copy()
    api.run(op_id, image, **FAST.get(op_id, {}))
    assert np.array_equal(image, before)


@pytest.mark.parametrize("op_id", IMAGE_OPS)
@dtypes
def test_op_preserves_dtype_and_shape(op_id, dtype, make):
    image = make(dtype, "rgb")
    out = api.run(op_id, image, **FAST.get(op_id, {}))
    assert out.dtype == dtype
    assert out.shape == (image.shape[:2] if op_id in GREY_OUTPUT else image.shape)
    assert out.min() >= 0 and out.max() <= TOP[np.dtype(dtype)]


@pytest.mark.parametrize("op_id", sorted(LONG_RUNNING - {"artistic.long_exposure"}))
def test_slow_op_reports_progress_and_can_be_cancelled(op_id, make):
    seen = []
    api.run(op_id, make(), progress=Progress(lambda f, m: seen.append(f)), **FAST.get(op_id, {}))
    assert seen and seen[-1] == 1.0 and seen == sorted(seen)
    token = Progress()
    token.cancel()
    with pytest.raises(Cancelled):
        api.run(op_id, make(), progress=token, **FAST.get(op_id, {}))


# -- direct calls ----------------------------------------------------------------------------


def test_direct_calls_equal_api_run(make):
    image = make(np.uint16, "rgb")
    assert np.array_equal(artistic.sketch_dodge(image), api.run("artistic.sketch_dodge", image))
    assert np.array_equal(artistic.cartoon(image, num_bilateral=2),
                          api.run("artistic.cartoon", image, num_bilateral=2))
    assert np.array_equal(artistic.long_exposure([image, image]), image)
    with pytest.raises(ValueError, match="ksize"):
        artistic.sketch_dodge(image, ksize=4)
    assert set(IMAGE_DTYPES) == {np.dtype(d) for d in DTYPES}
