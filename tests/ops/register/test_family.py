"""Registration operations (imgstudio.ops.register) as a family: catalog and result types."""

from __future__ import annotations

import pytest

import imgstudio.api as api
from imgstudio.core.types import Registered
from imgstudio.ops.register import EccRegistered, FeaturesRegistered, SitkRegistered

CATALOG = {
    "register.sitk": ({"image", "fixed"}, {"transform", "metric", "bins", "optimizer",
                                           "learning_rate", "iterations", "sampling"}),
    "register.ecc": ({"image", "fixed"}, {"motion", "iterations", "eps"}),
    "register.features": ({"image", "fixed"}, {"detector", "ratio", "ransac_threshold"}),
    "register.stitch": ({"images"}, {"mode", "warper"}),
}


# -- catalog ----------------------------------------------------------------------------------


@pytest.mark.parametrize("op_id", sorted(CATALOG))
def test_catalog_inputs_and_parameters(op_id):
    spec = api.get_operation(op_id)
    inputs, params = CATALOG[op_id]
    assert {i.name for i in spec.inputs} == inputs
    assert params <= {p.name for p in spec.params}
    assert spec.summary and spec.takes_progress


def test_results_are_registered_dataclasses():
    for op_id, result in (("register.sitk", SitkRegistered), ("register.ecc", EccRegistered),
                          ("register.features", FeaturesRegistered)):
        spec = api.get_operation(op_id)
        assert spec.output.result_type is result and issubclass(result, Registered)
