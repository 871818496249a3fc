"""Watersheds (imgstudio.ops.segment.watershed): segment.watershed, watershed_markers and
sitk_watershed against scikit-image and SimpleITK, and the markers drawn from points."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk
from scipy import ndimage as ndi
from skimage.feature import peak_local_max
from skimage.filters import sobel, threshold_otsu
from skimage.segmentation import watershed as sk_watershed

import imgstudio.api as api
from imgstudio.ops import segment
from tests.helpers import iou
from tests.ops.helpers import TOP, convert, dtypes, kinds
from tests.ops.segment.helpers import ref_luma, same_partition

# -- watershed --------------------------------------------------------------------------------


DISC_A, DISC_B, RADIUS = (40, 38), (40, 70), 20  # (row, col) centres 32 px apart


def two_discs(dtype=np.uint8, kind="gray"):
    yy, xx = np.mgrid[:80, :110]
    a = (yy - DISC_A[0]) ** 2 + (xx - DISC_A[1]) ** 2 <= RADIUS**2
    b = (yy - DISC_B[0]) ** 2 + (xx - DISC_B[1]) ** 2 <= RADIUS**2
    image = ((a | b) * 255).astype(np.uint8)
    if kind == "rgb":
        image = np.dstack([image] * 3)
    return convert(image, dtype), a, b


@dtypes
@kinds
def test_watershed_separates_two_overlapping_discs(dtype, kind):
    image, a, b = two_discs(dtype, kind)
    out = api.run("segment.watershed", image)
    values = [v for v in np.unique(out) if v]
    assert len(values) == 2
    for disc in (a, b):
        best = max(iou(out == v, disc) for v in values)
        assert best >= 0.9
    assert np.array_equal(out > 0, a | b)


def test_watershed_without_markers_equals_the_skimage_recipe():
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[:90, :120]
    mask = np.zeros((90, 120), bool)
    for cy, cx, r in zip(rng.integers(15, 75, 7), rng.integers(15, 105, 7), rng.integers(8, 15, 7),
                         strict=True):
        mask |= (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    image = (mask * 200).astype(np.uint8)
    distance = ndi.distance_transform_edt(mask)
    peaks = peak_local_max(distance, min_distance=7, footprint=np.ones((3, 3)),
                           labels=ndi.label(mask)[0], exclude_border=False)
    markers = np.zeros(mask.shape, np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    expected = sk_watershed(-distance, markers, mask=mask)
    out = api.run("segment.watershed", image, min_distance=7)
    assert same_partition(out, expected)
    proposed = api.run("segment.watershed_markers", image, min_distance=7)
    assert np.array_equal(proposed > 0, markers > 0)
    assert sorted(proposed[proposed > 0]) == list(range(1, len(peaks) + 1))


def test_watershed_labels_every_foreground_component(make):
    # Otsu foreground of a real photo has thin components without a strict distance peak
    image = make(np.uint8, "gray")
    out = api.run("segment.watershed", image, min_distance=10)
    assert np.array_equal(out > 0, image > threshold_otsu(image))


def test_watershed_compactness_is_passed_to_skimage():
    image, a, b = two_discs()
    mask = a | b
    distance = ndi.distance_transform_edt(mask)
    markers = segment.propose_markers(image, min_distance=20, footprint=3)
    expected = sk_watershed(-distance, markers, mask=mask, compactness=0.5)
    assert np.array_equal(api.run("segment.watershed", image, compactness=0.5), expected)


@dtypes
@kinds
def test_watershed_with_markers_floods_the_sobel_gradient(dtype, kind, make):
    image = make(dtype, kind)
    markers = segment.markers_from_points(
        np.array([[10.0, 10.0], [48.0, 30.0], [85.0, 55.0], [30.0, 50.0]]), image.shape[:2]
    )
    markers[markers == 4] = 9  # marker values are kept as they are
    expected = sk_watershed(sobel(ref_luma(image).astype(np.float64) / TOP[image.dtype]), markers)
    out = api.run("segment.watershed", image, markers=markers)
    assert np.array_equal(out, expected)
    assert set(np.unique(out)) == {1, 2, 3, 9}


def test_markers_from_points_draws_one_disc_per_point_in_x_y_order():
    markers = segment.markers_from_points(np.array([[3.0, 5.0], [20.4, 2.6]]), (10, 30), radius=2)
    yy, xx = np.mgrid[:10, :30]
    assert np.array_equal(markers == 1, (xx - 3) ** 2 + (yy - 5) ** 2 <= 4)
    assert np.array_equal(markers == 2, (xx - 20) ** 2 + (yy - 3) ** 2 <= 4)
    assert markers.dtype == np.int32 and set(np.unique(markers)) == {0, 1, 2}
    assert segment.markers_from_points(np.array([[0.0, 0.0]]), (4, 4), radius=0).sum() == 1


def test_markers_from_points_bad_params_name_points():
    with pytest.raises(ValueError, match="points"):
        segment.markers_from_points(np.array([[30.0, 5.0]]), (10, 30))


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"markers": np.ones((5, 5), np.int32)}, "markers"),
        ({"markers": np.zeros((80, 110), np.int32)}, "markers"),
        ({"markers": -np.ones((80, 110), np.int32)}, "markers"),
        ({"min_distance": 0}, "min_distance"),
        ({"footprint": 0}, "footprint"),
        ({"compactness": -1.0}, "compactness"),
    ],
)
def test_watershed_bad_params_name_the_parameter(kwargs, name):
    with pytest.raises(ValueError, match=name):
        api.run("segment.watershed", two_discs()[0], **kwargs)


def test_watershed_markers_bad_params_name_min_distance():
    with pytest.raises(ValueError, match="min_distance"):
        api.run("segment.watershed_markers", two_discs()[0], min_distance=0)


# -- sitk_watershed ---------------------------------------------------------------------------


def sitk_gradient(image: np.ndarray) -> sitk.Image:
    grey = (ref_luma(image).astype(np.float64) * (255.0 / TOP[image.dtype])).astype(np.float32)
    return sitk.GradientMagnitude(sitk.GetImageFromArray(grey))


@dtypes
@kinds
@pytest.mark.parametrize("fully_connected", [False, True])
def test_sitk_watershed_equals_simpleitk(dtype, kind, fully_connected, make):
    image = make(dtype, kind)
    expected = sitk.GetArrayFromImage(sitk.MorphologicalWatershed(
        sitk_gradient(image), level=6.0, markWatershedLine=False, fullyConnected=fully_connected
    ))
    out = api.run("segment.sitk_watershed", image, level=6.0, fully_connected=fully_connected)
    assert out.dtype == np.int32 and np.array_equal(out, expected)
    assert 1 < len(np.unique(out)) < out.size / 20


def test_sitk_watershed_higher_level_gives_fewer_regions(make):
    image = make(np.uint8, "gray")
    counts = [out.max() for out in
              (api.run("segment.sitk_watershed", image, level=v) for v in (1.0, 5.0, 20.0))]
    assert counts[0] > counts[1] > counts[2] >= 1


@kinds
def test_sitk_watershed_from_markers_equals_simpleitk(kind, make):
    image = make(np.uint8, kind)
    markers = segment.markers_from_points(
        np.array([[10.0, 10.0], [48.0, 30.0], [85.0, 55.0]]), image.shape[:2]
    )
    expected = sitk.GetArrayFromImage(sitk.MorphologicalWatershedFromMarkers(
        sitk_gradient(image), sitk.GetImageFromArray(markers), markWatershedLine=False,
        fullyConnected=False,
    ))
    out = api.run("segment.sitk_watershed", image, markers=markers)
    assert np.array_equal(out, expected) and set(np.unique(out)) == {1, 2, 3}


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"level": -1.0}, "level"), ({"markers": np.ones((3, 3), np.int32)}, "markers")],
)
def test_sitk_watershed_bad_params_name_the_parameter(kwargs, name, make):
    with pytest.raises(ValueError, match=name):
        api.run("segment.sitk_watershed", make(), **kwargs)
