"""Basic operations (imgstudio.ops.basic) as a family: catalog, menus, cheap import, and the
input/dtype contracts every op keeps."""

from __future__ import annotations

import numpy as np
import pytest

import imgstudio.api as api
from tests.ops.basic.helpers import DST3, QUAD, SRC3
from tests.ops.helpers import dtypes

# -- catalog and module contracts -------------------------------------------------------------


CATALOG = {
    "basic.grayscale": set(),
    "basic.invert": set(),
    "basic.crop": {"x", "y", "width", "height"},
    "basic.resize": {"width", "height", "interpolation"},
    "basic.rotate": {"angle", "expand"},
    "basic.flip": {"axis"},
    "basic.brightness_contrast": {"brightness", "contrast"},
    "basic.gamma": {"gamma"},
    "basic.levels": {"black", "white", "gamma"},
    "basic.convert_color": {"space", "channel"},
    "basic.quantize": {"colors"},
    "basic.perspective": {"width", "height"},
    "basic.affine": {"matrix"},
    "basic.elastic": {"alpha", "sigma", "seed"},
    "basic.color_mask": {"hue_min", "hue_max", "sat_min", "val_min"},
}

# A valid call of every op on an RGB image: params and extra layer inputs.
CASES = {
    "basic.grayscale": {},
    "basic.invert": {},
    "basic.crop": {"x": 5, "y": 4, "width": 30, "height": 20},
    "basic.resize": {"width": 50, "height": 30},
    "basic.rotate": {"angle": 30.0},
    "basic.flip": {},
    "basic.brightness_contrast": {"brightness": 0.1, "contrast": 1.3},
    "basic.gamma": {"gamma": 2.0},
    "basic.levels": {"black": 20, "white": 220, "gamma": 1.2},
    "basic.convert_color": {"space": "lab"},
    "basic.quantize": {"colors": 4},
    "basic.perspective": {"corners": QUAD},
    "basic.affine": {"src": SRC3, "dst": DST3},
    "basic.elastic": {},
    "basic.color_mask": {},
}
SAME_DTYPE = sorted(set(CASES) - {"basic.convert_color", "basic.color_mask"})


def test_catalog_ids_and_parameter_names_are_registered():
    specs = {s.id: s for s in api.list_operations() if s.family == "basic"}
    assert set(specs) == set(CATALOG)
    for op_id, names in CATALOG.items():
        assert {p.name for p in specs[op_id].params} == names, op_id


def test_every_basic_op_has_menu_and_one_line_summary():
    for spec in api.list_operations():
        if spec.family == "basic":
            assert spec.menu.startswith(("Image/", "Select")), spec.id
            assert spec.summary and not spec.summary.endswith(":"), spec.id


@pytest.mark.parametrize("op_id", sorted(CASES))
def test_op_does_not_mutate_its_input(op_id, make):
    image = make(np.uint8, "rgb")
    before = image.copy()
    api.run(op_id, image, **CASES[op_id])
    assert np.array_equal(image, before)


@pytest.mark.parametrize("op_id", SAME_DTYPE)
@dtypes
def test_op_preserves_dtype(op_id, dtype, make):
    out = api.run(op_id, make(dtype, "rgb"), **CASES[op_id])
    assert out.dtype == dtype


@pytest.mark.parametrize("op_id", sorted(CASES))
def test_direct_call_equals_api_run(op_id, make):
    image = make(np.uint8, "rgb")
    func = api.get_operation(op_id).func
    assert np.array_equal(func(image, **CASES[op_id]), api.run(op_id, image, **CASES[op_id]))
