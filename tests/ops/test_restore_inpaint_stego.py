"""Restoration: inpainting and LSB steganography."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import skimage.data
import skimage.restoration
from scipy import ndimage
from skimage.draw import disk
from skimage.util import img_as_float32, img_as_uint

import imgstudio.api as api
from imgstudio.core.io import load_image, save_image
from imgstudio.core.progress import Cancelled, Progress
from imgstudio.core.types import Text
from imgstudio.ops.restore.inpaint import total_variation

DTYPES = [np.uint8, np.uint16, np.float32]
DTYPE_IDS = ["uint8", "uint16", "float32"]
TOP = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0, np.dtype(np.float32): 1.0}
dtypes = pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
kinds = pytest.mark.parametrize("kind", ["gray", "rgb"])
METHODS = ["telea", "ns", "biharmonic", "tv"]


def convert(image: np.ndarray, dtype) -> np.ndarray:
    return np.ascontiguousarray(
        {np.uint8: np.array, np.uint16: img_as_uint, np.float32: img_as_float32}[dtype](image))


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


@pytest.fixture(scope="module")
def rgb() -> np.ndarray:
    image = skimage.data.astronaut()[::8, ::8][8:56, 8:56].astype(float)
    return np.clip(np.rint(ndimage.gaussian_filter(image, (1, 1, 0))), 0, 255).astype(np.uint8)


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


# -- stego ------------------------------------------------------------------------------------

MESSAGE = "Grüße aus Köln! 日本語のテキスト 🎨 — line two\nline three"


@pytest.mark.parametrize("case", ["uint8-gray", "uint8-rgb", "uint8-rgba", "uint16-rgb"])
def test_stego_round_trip_is_lossless_for_unicode(case, rgb):
    dtype, kind = case.split("-")
    image = {"gray": rgb[..., 0], "rgb": rgb,
             "rgba": np.dstack([rgb, np.full(rgb.shape[:2], 128, np.uint8)])}[kind]
    image = convert(image, np.dtype(dtype).type)
    before = image.copy()
    hidden = api.run("restore.stego_hide", image, message=MESSAGE)
    assert np.array_equal(image, before)
    assert hidden.dtype == image.dtype and hidden.shape == image.shape
    # only the lowest bits change, and only the first 8 × (12 + bytes) colour samples
    diff = np.abs(hidden.astype(int) - image.astype(int))
    assert diff.max() == 1
    colour = (diff if kind == "gray" else diff[..., :3]).ravel()
    assert not colour[8 * (12 + len(MESSAGE.encode())):].any()
    if kind == "rgba":
        assert np.array_equal(hidden[..., 3], image[..., 3])
    revealed = api.run("restore.stego_reveal", hidden)
    assert isinstance(revealed, Text) and revealed.items == [(MESSAGE, None)]
    assert revealed.text == MESSAGE


def test_stego_survives_a_png_round_trip(tmp_path, rgb):
    hidden = api.run("restore.stego_hide", rgb, message=MESSAGE)
    save_image(tmp_path / "secret.png", hidden)
    assert api.run("restore.stego_reveal", load_image(tmp_path / "secret.png")).text == MESSAGE
    deep = api.run("restore.stego_hide", convert(rgb, np.uint16), message="16-bit ✓")
    save_image(tmp_path / "deep.png", deep)
    assert api.run("restore.stego_reveal", load_image(tmp_path / "deep.png")).text == "16-bit ✓"


def test_stego_reveal_of_a_clean_image_says_no_message(rgb):
    assert api.run("restore.stego_reveal", rgb).items == []
    assert api.run("restore.stego_reveal", rgb[:3, :3]).items == []  # too small for a header


def test_stego_empty_message_is_told_apart_from_no_message(rgb):
    hidden = api.run("restore.stego_hide", rgb, message="")
    assert api.run("restore.stego_reveal", hidden).items == [("", None)]


def test_stego_damaged_message_is_not_revealed(rgb):
    hidden = api.run("restore.stego_hide", rgb, message="hello there")
    damaged = hidden.copy()
    damaged.reshape(-1)[100] ^= 1  # flip one payload bit: the CRC no longer matches
    assert api.run("restore.stego_reveal", damaged).items == []


def test_stego_fills_the_image_to_capacity(rgb):
    capacity = rgb[:8, :8].size // 8 - 12  # bytes
    full = api.run("restore.stego_hide", rgb[:8, :8], message="x" * capacity)
    assert api.run("restore.stego_reveal", full).text == "x" * capacity


def test_stego_bad_params_too_long_message_names_message(rgb):
    with pytest.raises(ValueError, match="message"):
        api.run("restore.stego_hide", rgb[:8, :8], message="x" * (rgb[:8, :8].size // 8 - 11))


def test_stego_bad_params_float_image_names_image(rgb):
    image = convert(rgb, np.float32)
    with pytest.raises(ValueError, match="image"):
        api.run("restore.stego_hide", image, message="hi")
    with pytest.raises(ValueError, match="image"):
        api.run("restore.stego_reveal", image)
