"""Segmentation operations (imgstudio.ops.segment) as a family: catalog, cheap import, labels
output, alpha, progress and cancellation."""

from __future__ import annotations

import numpy as np
import pytest

import imgstudio.api as api
from imgstudio.core.progress import Cancelled, Progress

# -- family contracts -------------------------------------------------------------------------


CATALOG = {
    "segment.otsu": set(),
    "segment.riddler_calvard": set(),
    "segment.watershed": {"min_distance", "compactness", "footprint"},
    "segment.watershed_markers": {"min_distance", "footprint"},
    "segment.sitk_watershed": {"level", "fully_connected"},
    "segment.random_walker": {"beta", "mode"},
    "segment.som": {"rows", "cols", "iterations", "sigma", "learning_rate", "seed"},
    "segment.gmm": {"n_components", "color_space", "seed"},
    "segment.kmeans": {"k", "seed"},
    "segment.slic": {"n_segments", "compactness"},
    "segment.grabcut": {"iterations"},
    "segment.mean_shift": {"spatial_radius", "color_radius", "tolerance"},
    "segment.fuzzy_cmeans": {"clusters", "m", "seed"},
    "segment.rag_merge": {"n_segments", "threshold", "compactness"},
    "segment.region_grow": {"lower", "upper", "multiplier", "iterations", "radius"},
}
INPUTS = {
    "segment.watershed": ["image", "markers"],
    "segment.sitk_watershed": ["image", "markers"],
    "segment.random_walker": ["image", "seeds"],
    "segment.gmm": ["image", "seeds"],
    "segment.grabcut": ["image", "mask"],
    "segment.region_grow": ["image", "seeds"],
}
CATALOG_DEFAULTS = {
    ("segment.watershed", "min_distance"): 20,
    ("segment.watershed", "compactness"): 0.0,
    ("segment.watershed", "footprint"): 3,
    ("segment.sitk_watershed", "level"): 1.0,
    ("segment.sitk_watershed", "fully_connected"): False,
    ("segment.random_walker", "beta"): 130.0,
    ("segment.random_walker", "mode"): "cg_j",
    ("segment.som", "rows"): 3,
    ("segment.som", "cols"): 3,
    ("segment.som", "iterations"): 1000,
    ("segment.som", "sigma"): 1.0,
    ("segment.som", "learning_rate"): 0.5,
    ("segment.gmm", "n_components"): 3,
    ("segment.gmm", "color_space"): "ycrcb",
    ("segment.kmeans", "k"): 4,
    ("segment.slic", "n_segments"): 200,
    ("segment.slic", "compactness"): 10.0,
    ("segment.grabcut", "iterations"): 5,
    ("segment.mean_shift", "spatial_radius"): 20,
    ("segment.mean_shift", "color_radius"): 30.0,
    ("segment.fuzzy_cmeans", "clusters"): 3,
    ("segment.fuzzy_cmeans", "m"): 2.0,
    ("segment.rag_merge", "n_segments"): 400,
    ("segment.rag_merge", "threshold"): 30.0,
    ("segment.region_grow", "multiplier"): 2.5,
}
LONG_RUNNING = set(CATALOG)  # all of them can take seconds on a 12 MP image


def case(op_id: str, image: np.ndarray) -> dict:
    """Layer inputs and parameters for a valid, quick call of ``op_id`` on ``image``."""
    h, w = image.shape[:2]
    seeds = np.zeros((h, w), np.int32)
    seeds[20:30, 40:50] = 1
    seeds[2:6, 2:30] = 2
    seeds[55:60, 70:90] = 2
    rect = np.zeros((h, w), np.int32)
    rect[8:56, 12:84] = 1
    return {
        "segment.otsu": {},
        "segment.riddler_calvard": {},
        "segment.watershed": {"min_distance": 5},
        "segment.watershed_markers": {"min_distance": 5},
        "segment.sitk_watershed": {"level": 4.0},
        "segment.random_walker": {"seeds": seeds},
        "segment.som": {"iterations": 300},
        "segment.gmm": {"seeds": seeds, "n_components": 2},
        "segment.kmeans": {},
        "segment.slic": {"n_segments": 50},
        "segment.grabcut": {"mask": rect, "iterations": 2},
        "segment.mean_shift": {"spatial_radius": 5},
        "segment.fuzzy_cmeans": {},
        "segment.rag_merge": {"n_segments": 100},
        "segment.region_grow": {"seeds": np.array([[45.0, 25.0]])},
    }[op_id]


def labels_of(out):
    return out if isinstance(out, np.ndarray) else out.labels


def test_catalog_ids_parameters_and_inputs_are_registered():
    specs = {s.id: s for s in api.list_operations() if s.family == "segment"}
    dl = {"segment.unet", "segment.semantic", "segment.mask_rcnn"}
    assert set(specs) - dl == set(CATALOG)
    for op_id, names in CATALOG.items():
        assert {p.name for p in specs[op_id].params} == names, op_id
        assert [i.name for i in specs[op_id].inputs] == INPUTS.get(op_id, ["image"]), op_id
    for (op_id, name), default in CATALOG_DEFAULTS.items():
        assert specs[op_id].param(name).default == default, (op_id, name)
    assert set(specs["segment.random_walker"].param("mode").choices) == {"cg", "cg_j", "bf"}
    assert set(specs["segment.gmm"].param("color_space").choices) == {"rgb", "ycrcb", "lab", "hsv"}
    assert specs["segment.som"].param("iterations").hi <= 100_000
    assert not specs["segment.region_grow"].input("seeds").optional
    assert specs["segment.gmm"].input("seeds").optional
    assert specs["segment.watershed"].input("markers").optional


def test_long_running_ops_take_progress_and_the_summary_is_one_line():
    for spec in api.list_operations():
        if spec.id in CATALOG:
            assert spec.takes_progress == (spec.id in LONG_RUNNING), spec.id
            assert spec.summary and spec.summary.endswith("."), spec.id
            assert spec.menu.startswith("Segment/"), spec.id


@pytest.mark.parametrize("op_id", sorted(CATALOG))
def test_op_returns_int32_labels_and_does_not_mutate_inputs(op_id, make):
    image = make(np.uint8, "rgb")
    kwargs = case(op_id, image)
    before = image.copy(), {k: v.copy() for k, v in kwargs.items() if isinstance(v, np.ndarray)}
    out = api.run(op_id, image, **kwargs)
    labels = labels_of(out)
    assert labels.dtype == np.int32 and labels.shape == image.shape[:2]
    assert labels.flags.c_contiguous and labels.min() >= 0
    assert np.array_equal(image, before[0])
    for name, value in before[1].items():
        assert np.array_equal(kwargs[name], value), name


@pytest.mark.parametrize("op_id", sorted(CATALOG))
def test_direct_call_equals_api_run(op_id, make):
    image = make(np.uint8, "rgb")
    kwargs = case(op_id, image)
    direct = labels_of(api.get_operation(op_id).func(image, **kwargs))
    assert np.array_equal(direct, labels_of(api.run(op_id, image, **kwargs)))


@pytest.mark.parametrize("op_id", sorted(CATALOG))
def test_rgba_alpha_is_ignored(op_id, make):
    rgb, rgba = make(np.uint8, "rgb"), make(np.uint8, "rgba")
    out_rgb = labels_of(api.run(op_id, rgb, **case(op_id, rgb)))
    out_rgba = labels_of(api.run(op_id, rgba, **case(op_id, rgba)))
    assert np.array_equal(out_rgb, out_rgba)


@pytest.mark.parametrize("op_id", sorted(LONG_RUNNING))
def test_long_running_op_reports_progress_and_honours_cancel(op_id, make):
    image = make(np.uint8, "rgb")
    seen = []
    api.run(op_id, image, progress=Progress(lambda f, m: seen.append(f)), **case(op_id, image))
    assert seen and all(0.0 <= f <= 1.0 for f in seen)
    assert seen == sorted(seen)
    cancelled = Progress()
    cancelled.cancel()
    with pytest.raises(Cancelled):
        api.run(op_id, image, progress=cancelled, **case(op_id, image))


@pytest.mark.parametrize(
    ("op_id", "kwargs"),
    [("segment.sitk_watershed", {}), ("segment.region_grow", {"seeds": np.array([[5.0, 5.0]])})],
)
def test_simpleitk_filters_abort_when_cancelled_midway(op_id, kwargs):
    image = np.random.default_rng(0).integers(0, 255, (300, 300), endpoint=True).astype(np.uint8)
    tokens = []

    def cancel_inside_the_filter(fraction, message):
        if fraction > 0.3:
            tokens[0].cancel()

    progress = Progress(cancel_inside_the_filter)
    tokens.append(progress)
    with pytest.raises(Cancelled):
        api.run(op_id, image, progress=progress, **kwargs)
