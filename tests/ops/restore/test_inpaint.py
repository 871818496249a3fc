"""restore.inpaint (imgstudio.ops.restore.inpaint) against OpenCV and scikit-image."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import skimage.data
import skimage.restoration
from scipy import ndimage
from skimage.draw import disk

import imgstudio.api as api
from imgstudio.core.progress import Cancelled, Progress
from imgstudio.ops.restore.inpaint import total_variation
from tests.ops.helpers import TOP, convert, dtypes, kinds

METHODS = ["telea", "ns", "biharmonic", "tv"]


@pytest.fixture(scope="module")
def smooth() -> np.ndarray:
    """The camera man at 128×128, smoothed (σ = 1.5 px), uint8."""
    image = skimage.data.camera()[::4, ::4].astype(float)
    return np.clip(np.rint(ndimage.gaussian_filter(image, 1.5)), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def blobs() -> np.ndarray:
    """Four disc-shaped holes (radius 4–7 px) in a 128×128 mask."""
    mask = np.zeros((128, 128), np.int32)
    for r, c, radius in [(30, 40, 5), (80, 90, 6), (100, 30, 4), (60, 64, 7)]:
        mask[disk((r, c), radius, shape=mask.shape)] = 1
    return mask


def small_mask(shape=(48, 48)) -> np.ndarray:
    mask = np.zeros(shape, np.int32)
    mask[20:27, 10:16] = 1
    mask[disk((35, 35), 4, shape=shape)] = 2  # any non-zero label is a hole
    return mask


# -- inpaint ----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_inpaint_beats_filling_with_the_mean_of_known_pixels(method, smooth, blobs):
    hole = blobs.astype(bool)
    out = api.run("restore.inpaint", smooth, mask=blobs, method=method)
    mean_fill_error = np.abs(smooth[hole] - smooth[~hole].mean()).mean()
    error = np.abs(out[hole].astype(float) - smooth[hole]).mean()
    # measured error / mean-fill error: telea 0.22, ns 0.17, biharmonic 0.10, tv 0.13
    assert error < 0.4 * mean_fill_error
    assert np.array_equal(out[~hole], smooth[~hole])


@pytest.mark.parametrize(("method", "flag"), [("telea", cv2.INPAINT_TELEA), ("ns", cv2.INPAINT_NS)])
@pytest.mark.parametrize("case", ["uint8-gray", "uint8-rgb", "uint16-gray", "float32-gray"])
def test_inpaint_telea_and_ns_equal_cv2_inpaint(method, flag, case, rgb):
    dtype, kind = case.split("-")
    image = convert(rgb if kind == "rgb" else rgb[..., 0], np.dtype(dtype).type)
    mask = small_mask()
    out = api.run("restore.inpaint", image, mask=mask, method=method, radius=4)
    expected = cv2.inpaint(image, (mask != 0).astype(np.uint8), 4, flag)
    if dtype == "float32":
        expected = np.clip(expected, 0, 1)
    assert out.dtype == image.dtype and np.array_equal(out, expected)


@pytest.mark.parametrize("dtype", [np.uint16, np.float32], ids=["uint16", "float32"])
def test_inpaint_telea_of_deep_colour_equals_cv2_per_channel(dtype, rgb):
    image = convert(rgb, dtype)
    mask8 = (small_mask() != 0).astype(np.uint8)
    out = api.run("restore.inpaint", image, mask=small_mask(), radius=3)
    expected = np.dstack([cv2.inpaint(np.ascontiguousarray(image[..., c]), mask8, 3,
                                      cv2.INPAINT_TELEA) for c in range(3)])
    if dtype == np.float32:
        expected = np.clip(expected, 0, 1)  # the gradient term may overshoot slightly
    assert np.array_equal(out, expected)


@dtypes
@kinds
def test_inpaint_biharmonic_equals_skimage(dtype, kind, rgb):
    image = convert(rgb if kind == "rgb" else rgb[..., 1], dtype)
    mask = small_mask()
    out = api.run("restore.inpaint", image, mask=mask, method="biharmonic")
    expected = skimage.restoration.inpaint_biharmonic(
        image / TOP[image.dtype], mask != 0, channel_axis=-1 if kind == "rgb" else None)
    tol = 1e-5 if dtype == np.float32 else 1.0  # skimage solves float32 input in float32
    assert out.dtype == dtype
    assert np.abs(out / TOP[image.dtype] - expected).max() * TOP[image.dtype] <= tol


def test_inpaint_tv_minimises_total_variation_with_known_pixels_fixed(smooth, blobs):
    hole = blobs.astype(bool)
    tv = api.run("restore.inpaint", convert(smooth, np.float32), mask=blobs, method="tv")
    assert np.array_equal(tv[~hole], convert(smooth, np.float32)[~hole])
    # the convex optimum has less total variation than any other fill of the same holes
    for method in ("telea", "biharmonic"):
        other = api.run("restore.inpaint", convert(smooth, np.float32), mask=blobs, method=method)
        assert total_variation(tv.astype(float)) < total_variation(other.astype(float))


def test_inpaint_tv_fills_a_straight_edge_straight():
    image = np.zeros((30, 30), np.float32)
    image[:, 15:] = 1.0
    mask = np.zeros((30, 30), np.int32)
    mask[8:22, 8:22] = 1  # hides a piece of the edge
    out = api.run("restore.inpaint", image, mask=mask, method="tv")
    assert np.abs(out - image).max() < 0.05


@dtypes
@pytest.mark.parametrize("method", METHODS)
def test_inpaint_keeps_dtype_alpha_and_input(method, dtype, rgb):
    image = convert(np.dstack([rgb, np.full(rgb.shape[:2], 200, np.uint8)]), dtype)
    before = image.copy()
    out = api.run("restore.inpaint", image, mask=small_mask(), method=method)
    assert np.array_equal(image, before)
    assert out.dtype == dtype and out.shape == image.shape
    assert np.array_equal(out[..., 3], image[..., 3])


def test_inpaint_with_empty_mask_returns_a_copy(rgb):
    out = api.run("restore.inpaint", rgb, mask=np.zeros(rgb.shape[:2], np.int32))
    assert np.array_equal(out, rgb) and not np.shares_memory(out, rgb)


def test_inpaint_tv_reports_progress_and_can_be_cancelled(smooth, blobs):
    token = Progress(lambda fraction, message: token.cancel())
    with pytest.raises(Cancelled):
        api.run("restore.inpaint", smooth, mask=blobs, method="tv", progress=token)


@pytest.mark.parametrize(("mask", "params", "name"), [
    (np.zeros((10, 10), np.int32), {}, "mask"),
    (np.ones((48, 48), np.int32), {}, "mask"),
    (None, {"method": "patchmatch"}, "method"),
    (None, {"radius": 0}, "radius"),
])
def test_inpaint_bad_params_name_the_parameter(mask, params, name, rgb):
    mask = small_mask() if mask is None else mask
    with pytest.raises(ValueError, match=name):
        api.run("restore.inpaint", rgb, mask=mask, **params)
