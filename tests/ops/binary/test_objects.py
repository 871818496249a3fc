"""Object operations (imgstudio.ops.binary.objects): skeletonize, fill holes, remove small,
label and blobs, against scikit-image, SciPy and known answers."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi
import skimage.data
import skimage.feature
import skimage.measure
import skimage.morphology

import imgstudio.api as api
from imgstudio.core.progress import Cancelled, Progress
from imgstudio.ops import binary
from imgstudio.ops.basic import grayscale
from tests.ops.binary.helpers import MASK, assert_mask, blobs_mask, cancelled, mask_image
from tests.ops.helpers import TOP, convert, dtypes, kinds

pytestmark = pytest.mark.gray_channel(1)  # `make`: the gray image is the green channel

# -- skeletonize ------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_skeletonize_equals_skimage_on_many_objects(seed):
    mask = blobs_mask((120, 90), n=30, seed=seed)
    mask = skimage.morphology.remove_small_objects(mask, max_size=3)
    assert_mask(api.run("binary.skeletonize", mask_image(mask)),
                skimage.morphology.skeletonize(mask))


def test_skeletonize_equals_skimage_on_one_large_shape():
    mask = skimage.data.horse() == 0
    assert_mask(api.run("binary.skeletonize", mask_image(mask, np.float32)),
                skimage.morphology.skeletonize(mask))


def test_skeleton_of_a_bar_is_its_midline():
    mask = np.zeros((20, 60), bool)
    mask[7:14, 5:55] = True
    out = api.run("binary.skeletonize", mask_image(mask))
    assert out[10, 10:50].all() and out.sum() <= 60 and not out[:7].any() and not out[14:].any()


def test_skeletonize_reports_progress_and_cancels():
    calls = []
    api.run("binary.skeletonize", mask_image(MASK), progress=Progress(lambda f, m: calls.append(f)))
    assert calls[-1] == 1.0
    with pytest.raises(Cancelled):
        binary.skeletonize(mask_image(MASK), progress=cancelled())


def test_skeletonize_bad_params_reject_non_binary_image(make):
    with pytest.raises(ValueError, match="image"):
        api.run("binary.skeletonize", make())


# -- fill holes -------------------------------------------------------------------------------


@kinds
def test_fill_holes_equals_scipy(kind):
    assert_mask(api.run("binary.fill_holes", mask_image(MASK, np.uint16, kind)),
                ndi.binary_fill_holes(MASK))


def test_fill_holes_fills_a_ring_but_not_a_border_bay():
    yy, xx = np.mgrid[:40, :60]
    disc = (yy - 20) ** 2 + (xx - 20) ** 2 <= 12**2
    ring = disc & ((yy - 20) ** 2 + (xx - 20) ** 2 > 6**2)
    bay = np.zeros((40, 60), bool)
    bay[:, 40:55] = True
    bay[:30, 45:50] = False  # open to the top border: not a hole
    assert_mask(api.run("binary.fill_holes", mask_image(ring | bay)), disc | bay)


def test_fill_holes_bad_params_reject_non_binary_image(make):
    with pytest.raises(ValueError, match="image"):
        api.run("binary.fill_holes", make(np.float32))


# -- remove small -----------------------------------------------------------------------------


@pytest.mark.parametrize("connectivity", [1, 2])
@pytest.mark.parametrize("min_size", [0, 1, 2, 20, 64, 500])
def test_remove_small_equals_skimage(min_size, connectivity):
    mask = blobs_mask(seed=5) & (np.random.default_rng(2).random((90, 120)) < 0.8)
    expected = (mask if min_size <= 1 else skimage.morphology.remove_small_objects(
        mask, max_size=min_size - 1, connectivity=connectivity))
    out = api.run("binary.remove_small", mask_image(mask), min_size=min_size,
                  connectivity=connectivity)
    assert_mask(out, expected)


def test_remove_small_keeps_objects_of_exactly_min_size():
    mask = np.zeros((20, 30), bool)
    mask[2:4, 2:7] = True  # 10 pixels
    mask[10:13, 10:13] = True  # 9 pixels
    mask[15, 20] = mask[16, 21] = True  # 2 pixels touching by a corner
    out = api.run("binary.remove_small", mask_image(mask), min_size=10)
    assert_mask(out, np.pad(np.ones((2, 5), bool), ((2, 16), (2, 23))))
    corner = api.run("binary.remove_small", mask_image(mask), min_size=2, connectivity=2)
    assert corner[15, 20] == corner[16, 21] == 1
    assert not api.run("binary.remove_small", mask_image(mask), min_size=2)[15, 20]


@pytest.mark.parametrize(
    ("params", "name"), [({"min_size": -1}, "min_size"), ({"connectivity": 3}, "connectivity")]
)
def test_remove_small_bad_params_name_the_parameter(params, name):
    with pytest.raises(ValueError, match=name):
        api.run("binary.remove_small", mask_image(MASK), **params)


# -- label ------------------------------------------------------------------------------------


@pytest.mark.parametrize("connectivity", [1, 2])
@dtypes
def test_label_equals_skimage_and_counts(connectivity, dtype, make):
    image = make(dtype, "gray")
    image = np.where(image > TOP[np.dtype(dtype)] * 0.6, image, 0).astype(dtype)  # any > 0
    expected, count = skimage.measure.label(image > 0, connectivity=connectivity, return_num=True)
    out = api.run("binary.label", image, connectivity=connectivity)
    assert out.labels.dtype == np.int32 and np.array_equal(out.labels, expected)
    assert out.count == count == out.labels.max()
    assert out.to_json() == {"count": count}


def test_label_diagonal_pixels_join_only_with_connectivity_2():
    image = np.zeros((5, 5), np.uint8)
    image[1, 1] = image[2, 2] = image[4, 0] = 255
    assert api.run("binary.label", image, connectivity=2).count == 2
    assert api.run("binary.label", image, connectivity=1).count == 3


def test_label_bad_params_name_connectivity():
    with pytest.raises(ValueError, match="connectivity"):
        api.run("binary.label", mask_image(MASK), connectivity=3)


# -- blobs ------------------------------------------------------------------------------------


def spots(dtype=np.float32) -> tuple[np.ndarray, list[tuple[int, int, float]]]:
    """Gaussian spots (x, y, sigma) on a dark background."""
    truth = [(20, 15, 2.0), (60, 40, 4.0), (90, 20, 3.0), (30, 50, 5.0)]
    yy, xx = np.mgrid[:70, :110]
    image = np.zeros((70, 110))
    for x, y, s in truth:
        image += np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * s * s))
    return convert(np.clip(image * 255, 0, 255).astype(np.uint8), dtype), truth


@pytest.mark.parametrize(("method", "threshold"), [("log", 0.1), ("dog", 0.1), ("doh", 0.005)])
@dtypes
def test_blobs_equal_skimage_with_x_y_order(method, threshold, dtype):
    image, _ = spots(dtype)
    rgb = np.dstack([image] * 3)
    detect = getattr(skimage.feature, f"blob_{method}")
    expected = detect(grayscale(rgb), min_sigma=1.0, max_sigma=10.0, threshold=threshold)
    out = api.run("binary.blobs", rgb, method=method, max_sigma=10.0, threshold=threshold)
    assert len(expected) > 0
    np.testing.assert_array_equal(out.points, expected[:, [1, 0]])
    factor = np.sqrt(2.0) if method != "doh" else 1.0
    np.testing.assert_allclose(out.table.columns["radius"], expected[:, 2] * factor)
    assert out.table.columns["x"] == expected[:, 1].tolist()
    assert out.table.columns["sigma"] == expected[:, 2].tolist()


def test_blobs_log_finds_the_spots_and_their_scale():
    image, truth = spots()
    out = api.run("binary.blobs", image, min_sigma=1.0, max_sigma=8.0)
    assert len(out.points) == len(truth)
    for x, y, s in truth:
        i = np.argmin(np.hypot(out.points[:, 0] - x, out.points[:, 1] - y))
        assert np.hypot(out.points[i, 0] - x, out.points[i, 1] - y) <= 1.0
        assert abs(out.table.columns["sigma"][i] - s) <= 0.5 * s


def test_blobs_on_a_flat_image_finds_none():
    out = api.run("binary.blobs", np.zeros((20, 20), np.uint8))
    assert out.points.shape == (0, 2) and len(out.table) == 0


@pytest.mark.parametrize(
    ("params", "name"),
    [({"min_sigma": 5.0, "max_sigma": 2.0}, "max_sigma"), ({"method": "mser"}, "method"),
     ({"threshold": -0.1}, "threshold"), ({"min_sigma": 0.0}, "min_sigma")],
)
def test_blobs_bad_params_name_the_parameter(params, name):
    with pytest.raises(ValueError, match=name):
        api.run("binary.blobs", spots()[0], **params)
