"""Binary operations (imgstudio.ops.binary) as a family: catalog, cheap import, input contracts
and the 0/max masks every mask op reads alike."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import imgstudio.api as api
from tests.ops.binary.helpers import MASK, mask_image
from tests.ops.helpers import convert, dtypes

pytestmark = pytest.mark.gray_channel(1)  # `make`: the gray image is the green channel

# -- catalog and module contracts -------------------------------------------------------------


CATALOG = {
    "binary.threshold": {"method", "value"},
    "binary.adaptive_threshold": {"block_size", "offset"},
    "binary.distance_transform": {"metric"},
    "binary.morphology": {"op", "shape", "size"},
    "binary.hit_or_miss": {"pattern"},
    "binary.skeletonize": set(),
    "binary.fill_holes": set(),
    "binary.remove_small": {"min_size", "connectivity"},
    "binary.reconstruct": {"method"},
    "binary.label": {"connectivity"},
    "binary.blobs": {"method", "min_sigma", "max_sigma", "threshold"},
    "binary.granulometry": {"max_size"},
}
DEFAULTS = {
    ("binary.threshold", "method"): "otsu", ("binary.threshold", "value"): 128.0,
    ("binary.adaptive_threshold", "block_size"): 35, ("binary.adaptive_threshold", "offset"): 0,
    ("binary.distance_transform", "metric"): "euclidean", ("binary.morphology", "op"): "gradient",
    ("binary.morphology", "shape"): "disk", ("binary.morphology", "size"): 3,
    ("binary.hit_or_miss", "pattern"): "-1 -1 -1; 0 1 0; 1 1 1",
    ("binary.remove_small", "min_size"): 64, ("binary.reconstruct", "method"): "dilation",
    ("binary.label", "connectivity"): 2, ("binary.blobs", "method"): "log",
    ("binary.blobs", "min_sigma"): 1, ("binary.blobs", "max_sigma"): 30,
    ("binary.blobs", "threshold"): 0.1, ("binary.granulometry", "max_size"): 30,
}


# A valid call of every op: (input builder, params and extra layer inputs).
CASES = {
    "binary.threshold": {},
    "binary.adaptive_threshold": {"block_size": 15},
    "binary.distance_transform": {},
    "binary.morphology": {"op": "open", "size": 5},
    "binary.hit_or_miss": {},
    "binary.skeletonize": {},
    "binary.fill_holes": {},
    "binary.remove_small": {"min_size": 30},
    "binary.reconstruct": {"markers": (MASK & (np.arange(120) < 30)).astype(np.int32)},
    "binary.label": {},
    "binary.blobs": {"max_sigma": 8.0},
    "binary.granulometry": {"max_size": 5},
}


def test_catalog_ids_parameter_names_and_defaults():
    specs = {s.id: s for s in api.list_operations() if s.family == "binary"}
    assert set(specs) == set(CATALOG)
    for op_id, names in CATALOG.items():
        assert {p.name for p in specs[op_id].params} == names, op_id
        assert specs[op_id].inputs[0].name == "image", op_id
    for (op_id, name), default in DEFAULTS.items():
        assert specs[op_id].param(name).default == default, (op_id, name)
    assert [i.name for i in specs["binary.reconstruct"].inputs] == ["image", "markers", "marker_image"]


def test_every_binary_op_has_menu_summary_and_declared_output():
    kinds = {"binary.threshold": "labels", "binary.morphology": "image",
             "binary.distance_transform": "image", "binary.reconstruct": "image",
             "binary.granulometry": "result", "binary.label": "result", "binary.blobs": "result"}
    for spec in api.list_operations():
        if spec.family == "binary":
            assert spec.menu.startswith(("Binary/", "Analyze/")), spec.id
            assert spec.summary and not spec.summary.endswith(":"), spec.id
            assert spec.output.kind == kinds.get(spec.id, "labels"), spec.id


@pytest.mark.parametrize("op_id", sorted(CASES))
def test_op_does_not_mutate_its_inputs(op_id):
    image = mask_image(MASK, np.uint8, "rgb")
    params = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in CASES[op_id].items()}
    before = image.copy(), {k: v.copy() for k, v in params.items() if isinstance(v, np.ndarray)}
    api.run(op_id, image, **params)
    assert np.array_equal(image, before[0])
    for k, v in before[1].items():
        assert np.array_equal(params[k], v)


@pytest.mark.parametrize("op_id", sorted(CASES))
def test_direct_call_equals_api_run(op_id):
    image = mask_image(MASK)
    func = api.get_operation(op_id).func
    direct, via_api = func(image, **CASES[op_id]), api.run(op_id, image, **CASES[op_id])
    if isinstance(direct, np.ndarray):
        assert np.array_equal(direct, via_api)
        return
    assert type(direct) is type(via_api) and direct.to_json() == via_api.to_json()
    for field in dataclasses.fields(direct):
        value = getattr(direct, field.name)
        if isinstance(value, np.ndarray):
            assert np.array_equal(value, getattr(via_api, field.name))


@pytest.mark.parametrize(
    "op_id", ["binary.hit_or_miss", "binary.skeletonize", "binary.fill_holes",
              "binary.remove_small", "binary.granulometry"]
)
def test_ops_that_need_a_binary_image_reject_grey_with_a_clear_message(op_id, make):
    with pytest.raises(ValueError, match=r"image must be binary .*distinct values.*binary\.threshold"):
        api.run(op_id, make(np.uint8, "gray"))


@pytest.mark.parametrize(
    "op_id", ["binary.hit_or_miss", "binary.skeletonize", "binary.fill_holes",
              "binary.remove_small", "binary.granulometry", "binary.label",
              "binary.distance_transform"]
)
@dtypes
def test_mask_ops_read_0_max_masks_of_every_dtype_and_rgb_alike(op_id, dtype):
    reference = api.run(op_id, mask_image(MASK))
    for image in (mask_image(MASK, dtype), mask_image(MASK, dtype, "rgb"),
                  convert(MASK.astype(np.uint8), dtype) if dtype != np.float32 else
                  MASK.astype(np.float32)):
        out = api.run(op_id, image)
        if isinstance(out, np.ndarray):
            assert np.array_equal(out, reference)
        else:
            assert out.to_json() == reference.to_json()
