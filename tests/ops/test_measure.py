"""Measure operations (imgstudio.ops.measure): region properties against
skimage.measure.regionprops_table and known answers; change detection on pasted squares."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data
import skimage.measure

import imgstudio.api as api
from imgstudio.core.progress import Cancelled, Progress
from imgstudio.ops import measure
from tests.ops.helpers import DTYPES, convert, dtypes, kinds


@pytest.fixture(scope="module")
def coins():
    """A 120×160 crop of skimage's coins and its labelled coins."""
    image = np.ascontiguousarray(skimage.data.coins()[40:160, 40:200])
    labels = skimage.measure.label(image > 110).astype(np.int32)
    return image, labels


def image_of(grey: np.ndarray, dtype, kind) -> np.ndarray:
    image = convert(grey, dtype)
    if kind == "rgb":  # three different channels
        image = np.dstack([image, image[::-1], image[:, ::-1]])
    return np.ascontiguousarray(image)


def assert_table_equals(table, expected: dict) -> None:
    assert list(table.columns) == list(expected)
    for key, values in expected.items():
        np.testing.assert_array_equal(np.asarray(table.columns[key]), np.asarray(values), err_msg=key)
        assert all(not isinstance(v, np.generic) for v in table.columns[key])  # plain Python


def test_catalog_ids_inputs_and_parameter_names():
    specs = {s.id: s for s in api.list_operations() if s.family == "measure"}
    assert set(specs) == {"measure.regions", "measure.change"}
    regions = specs["measure.regions"]
    assert [(i.name, i.kind.value, i.optional) for i in regions.inputs] == [
        ("labels", "labels", False), ("image", "image", True)]
    assert [p.name for p in regions.params] == ["properties"]
    assert regions.param("properties").default == "area,centroid,bbox,mean_intensity"
    change = specs["measure.change"]
    assert [(i.name, i.kind.value) for i in change.inputs] == [("image", "image"), ("other", "image")]
    assert [p.name for p in change.params] == ["threshold"]
    assert change.param("threshold").default == 30
    for spec in specs.values():
        assert spec.summary and spec.menu.startswith("Analyze/")


# -- regions ----------------------------------------------------------------------------------


@dtypes
@kinds
def test_regions_equal_skimage_regionprops_table(dtype, kind, coins):
    grey, labels = coins
    image = image_of(grey, dtype, kind)
    expected = skimage.measure.regionprops_table(
        labels, image, properties=("label", "area", "centroid", "bbox", "mean_intensity"))
    out = api.run("measure.regions", labels, image=image)
    assert_table_equals(out, expected)
    if kind == "rgb":
        assert {"mean_intensity-0", "mean_intensity-1", "mean_intensity-2"} <= set(out.columns)


def test_regions_shape_properties_need_no_image(coins):
    _, labels = coins
    names = "perimeter,eccentricity, euler_number orientation,solidity,moments_hu,area_convex"
    expected = skimage.measure.regionprops_table(labels, properties=["label"] + [
        "perimeter", "eccentricity", "euler_number", "orientation", "solidity", "moments_hu",
        "area_convex"])
    assert_table_equals(api.run("measure.regions", labels, properties=names), expected)


def test_regions_of_a_known_rectangle():
    labels = np.zeros((30, 40), np.int32)
    labels[5:15, 7:27] = 4
    image = np.zeros((30, 40), np.uint8)
    image[5:15, 7:17] = 100  # left half 100, right half 0
    out = api.run("measure.regions", labels, image=image).rows()
    assert out == [{"label": 4, "area": 200.0, "centroid-0": 9.5, "centroid-1": 16.5,
                    "bbox-0": 5, "bbox-1": 7, "bbox-2": 15, "bbox-3": 27,
                    "mean_intensity": 50.0}]


def test_regions_with_many_labels_measure_in_groups_and_equal_one_call():
    rng = np.random.default_rng(0)
    labels = np.zeros((160, 160), np.int32)
    ids = rng.permutation(np.arange(1, 1601)) * 3  # 1600 sparse, shuffled ids
    for k, (y, x) in enumerate(np.ndindex(40, 40)):
        labels[4 * y: 4 * y + 3, 4 * x: 4 * x + 1 + k % 3] = ids[k]
    image = rng.random((160, 160)).astype(np.float32)
    props = ("label", "area", "centroid", "intensity_max", "perimeter")
    calls = []
    out = api.run("measure.regions", labels, image=image, properties=",".join(props[1:]),
                  progress=Progress(lambda f, m: calls.append(f)))
    assert len(calls) == 16 and calls[-1] == 1.0
    assert_table_equals(out, skimage.measure.regionprops_table(labels, image, properties=props))
    assert out.columns["label"] == sorted(ids.tolist())


def test_regions_cancel_stops_it():
    labels = np.arange(40 * 40, dtype=np.int32).reshape(40, 40)
    with pytest.raises(Cancelled):
        measure.regions(labels, properties="area", progress=_cancelled())


def _cancelled() -> Progress:
    token = Progress()
    token.cancel()
    return token


def test_regions_accept_a_mask_and_empty_labels():
    mask = np.zeros((10, 10), np.int32)
    empty = api.run("measure.regions", mask, properties="area,centroid")
    assert empty.columns == {"label": [], "area": [], "centroid-0": [], "centroid-1": []}
    mask[2:4, 3:6] = 1
    assert api.run("measure.regions", mask, properties="area").rows() == [{"label": 1, "area": 6.0}]
    assert measure.regions(mask.astype(bool), properties="area").rows() == [{"label": 1, "area": 6.0}]


def test_regions_do_not_mutate_inputs(coins):
    grey, labels = coins
    before = grey.copy(), labels.copy()
    api.run("measure.regions", labels, image=grey)
    assert np.array_equal(grey, before[0]) and np.array_equal(labels, before[1])


def test_regions_property_names_cover_skimage_columns_but_no_object_ones():
    names = measure.region_property_names()
    assert {"area", "centroid", "bbox", "mean_intensity", "intensity_mean", "perimeter"} <= set(names)
    assert not {"image", "coords", "slice", "image_intensity", "convex_image"} & set(names)


@pytest.mark.parametrize(
    ("properties", "with_image", "name"),
    [("area,foo", True, "properties"), ("image", True, "properties"), ("", True, "properties"),
     ("coords", True, "properties"), ("area,mean_intensity", False, "image"),
     ("centroid_weighted", False, "image")],
)
def test_regions_bad_params_name_the_parameter(properties, with_image, name, coins):
    grey, labels = coins
    extra = {"image": grey} if with_image else {}
    with pytest.raises(ValueError, match=name):
        api.run("measure.regions", labels, properties=properties, **extra)


def test_regions_bad_inputs_name_them(coins):
    grey, labels = coins
    with pytest.raises(ValueError, match="image"):
        api.run("measure.regions", labels, image=grey[:50])
    with pytest.raises(ValueError, match="labels"):
        api.run("measure.regions", labels - 1, properties="area")
    with pytest.raises(ValueError, match="labels"):
        api.run("measure.regions", grey.astype(np.float32), properties="area")


# -- change -----------------------------------------------------------------------------------


@dtypes
@kinds
def test_change_finds_a_pasted_square(dtype, kind, coins):
    dark = coins[0] // 2  # 0..127: + 60 never clips
    before = image_of(dark, dtype, kind)
    after = before.copy()
    brighter = image_of(dark + 60, dtype, kind)  # every channel + 60: the luma too
    after[30:70, 50:110] = brighter[30:70, 50:110]
    out = api.run("measure.change", before, other=after)
    assert out.mask.dtype == np.int32
    assert np.array_equal(out.mask, np.pad(np.ones((40, 60)), ((30, 50), (50, 50))))
    n = 40 * 60
    assert out.table.rows() == [{"changed_pixels": n, "total_pixels": dark.size,
                                 "changed_fraction": n / dark.size}]
    assert out.to_json() == {"table": {"columns": out.table.columns}}
    assert not api.run("measure.change", before, other=after, threshold=60.5).mask.any()


def test_change_threshold_is_in_8_bit_units_for_every_dtype():
    base = np.full((8, 10), 100, np.uint8)
    other = base.copy()
    other[:, :5] = 131  # differs by 31
    other[:, 5:] = 129  # differs by 29
    for dtype in DTYPES:
        out = api.run("measure.change", convert(base, dtype), other=convert(other, dtype),
                      threshold=30)
        assert np.array_equal(out.mask[:, :5], np.ones((8, 5))), dtype
        assert not out.mask[:, 5:].any(), dtype
        assert out.table.columns["changed_fraction"] == [0.5]


def test_change_compares_across_dtypes_and_channel_counts():
    grey = np.full((6, 6), 0.5, np.float32)
    rgb = np.full((6, 6, 3), 128, np.uint8)  # the same level in 8-bit units (± 0.5)
    assert not api.run("measure.change", grey, other=rgb, threshold=1).mask.any()
    assert api.run("measure.change", grey, other=rgb, threshold=0.1).mask.all()


def test_change_of_an_image_with_itself_is_empty_and_inputs_untouched(coins):
    grey, _ = coins
    copy = grey.copy()
    out = api.run("measure.change", grey, other=copy)
    assert not out.mask.any() and out.table.columns["changed_fraction"] == [0.0]
    assert np.array_equal(grey, copy)


@pytest.mark.parametrize(
    ("other", "params", "name"),
    [(np.zeros((5, 6), np.uint8), {}, "other"), (np.zeros((6, 6), np.uint8), {"threshold": -1}, "threshold"),
     (np.zeros((6, 6), np.uint8), {"threshold": 256}, "threshold"),
     (np.zeros((6, 6), np.float64), {}, "other")],
)
def test_change_bad_params_name_the_parameter(other, params, name):
    with pytest.raises(ValueError, match=name):
        api.run("measure.change", np.zeros((6, 6), np.uint8), other=other, **params)


def test_regions_default_without_image_leaves_mean_intensity_out(coins):
    import skimage.measure

    _, labels = coins
    table = api.run("measure.regions", labels)
    assert "mean_intensity" not in table.columns and "area" in table.columns
    expected = skimage.measure.regionprops_table(labels, properties=["label", "area"])
    assert list(table.columns["area"]) == list(expected["area"])
