"""enhance.gaussian, enhance.median, enhance.bilateral, enhance.unsharp_mask
(imgstudio.ops.enhance.smooth) against the library calls they wrap, plus measured properties
on skimage.data images."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from scipy import ndimage
from skimage.filters import unsharp_mask

import imgstudio.api as api
from tests.ops.enhance.helpers import assert_close, bgr, camera, noisy_camera, psnr, unit
from tests.ops.helpers import TOP, dtypes, kinds

# -- gaussian ---------------------------------------------------------------------------------


@dtypes
@kinds
@pytest.mark.parametrize("sigma", [0.8, 2.5])
def test_gaussian_is_bit_exact_cv2_gaussian_blur(dtype, kind, sigma, make):
    image = make(dtype, kind)
    expected = cv2.GaussianBlur(image, (0, 0), sigma)
    if dtype == np.float32:
        expected = np.minimum(expected, 1.0)  # the op caps 1 + 1 ulp at 1
    assert_close(api.run("enhance.gaussian", image, sigma=sigma), expected)


def test_gaussian_lowers_variance_and_keeps_the_mean():
    image = camera()
    out = api.run("enhance.gaussian", image, sigma=2.0)
    assert out.var() < 0.9 * image.var()
    # the fine detail (Laplacian energy) drops much more than the variance
    lap = lambda x: cv2.Laplacian(x.astype(np.float32), cv2.CV_32F).var()  # noqa: E731
    assert lap(out) < 0.1 * lap(image)
    assert abs(out.mean() - image.mean()) < 0.5


def test_gaussian_zero_sigma_returns_a_copy(make):
    image = make()
    out = api.run("enhance.gaussian", image, sigma=0.0)
    assert np.array_equal(out, image) and not np.shares_memory(out, image)


def test_gaussian_bad_params_name_sigma(make):
    with pytest.raises(ValueError, match="sigma"):
        api.run("enhance.gaussian", make(), sigma=-1.0)
    with pytest.raises(ValueError, match="sigma"):  # given as text, as the CLI and recipes do
        api.run("enhance.gaussian", make(), sigma="-1.0")


# -- median -----------------------------------------------------------------------------------


@dtypes
@kinds
@pytest.mark.parametrize("ksize", [3, 5])
def test_median_small_windows_equal_cv2_median_blur(dtype, kind, ksize, make):
    image = make(dtype, kind)
    assert_close(api.run("enhance.median", image, ksize=ksize), cv2.medianBlur(image, ksize))


@kinds
@pytest.mark.parametrize("ksize", [7, 15])
def test_median_uint8_large_windows_equal_cv2_median_blur(kind, ksize, make):
    image = make(np.uint8, kind)
    assert_close(api.run("enhance.median", image, ksize=ksize), cv2.medianBlur(image, ksize))


@pytest.mark.parametrize("dtype", [np.uint16, np.float32], ids=["uint16", "float32"])
@kinds
def test_median_large_windows_of_other_dtypes_equal_scipy_median_filter(dtype, kind, make):
    image = make(dtype, kind)
    size = (7, 7) + (1,) * (image.ndim - 2)
    expected = ndimage.median_filter(image, size=size, mode="nearest")
    assert_close(api.run("enhance.median", image, ksize=7), expected)


@pytest.mark.parametrize("dtype", [np.uint16, np.float32], ids=["uint16", "float32"])
def test_median_scipy_fallback_has_the_cv2_border(dtype, make):
    """scipy with mode="nearest" equals OpenCV (replicated border) where both apply."""
    image = make(dtype, "rgb")
    assert np.array_equal(ndimage.median_filter(image, size=(5, 5, 1), mode="nearest"),
                          cv2.medianBlur(image, 5))


def test_median_removes_salt_and_pepper_noise():
    clean = camera()
    rng = np.random.default_rng(1)
    noisy = clean.copy()
    hits = rng.random(clean.shape)
    noisy[hits < 0.05] = 0
    noisy[hits > 0.95] = 255
    out = api.run("enhance.median", noisy, ksize=3)
    clean_f = clean / 255.0
    assert psnr(out, clean_f) > psnr(noisy, clean_f) + 8.0


@pytest.mark.parametrize("ksize", [4, 0])
def test_median_bad_params_name_ksize(ksize, make):
    with pytest.raises(ValueError, match="ksize"):
        api.run("enhance.median", make(), ksize=ksize)


# -- bilateral --------------------------------------------------------------------------------


@kinds
def test_bilateral_uint8_is_bit_exact_cv2_on_bgr(kind, make):
    image = make(np.uint8, kind)
    if kind == "rgb":
        expected = bgr(cv2.bilateralFilter(bgr(image), 9, 40.0, 4.0))
    else:
        expected = cv2.bilateralFilter(image, 9, 40.0, 4.0)
    out = api.run("enhance.bilateral", image, d=9, sigma_color=40.0, sigma_space=4.0)
    assert_close(out, expected)


@kinds
def test_bilateral_float32_scales_sigma_color_by_255(kind, make):
    image = make(np.float32, kind)
    expected = cv2.bilateralFilter(image, 7, 40.0 / 255.0, 3.0)
    out = api.run("enhance.bilateral", image, d=7, sigma_color=40.0, sigma_space=3.0)
    assert_close(out, np.minimum(expected, 1.0))


@kinds
def test_bilateral_uint16_filters_as_float_and_rounds_back(kind, make):
    image = make(np.uint16, kind)
    f = (image / 65535.0).astype(np.float32)
    expected = np.rint(cv2.bilateralFilter(f, 7, 40.0 / 255.0, 3.0) * 65535.0).astype(np.uint16)
    out = api.run("enhance.bilateral", image, d=7, sigma_color=40.0, sigma_space=3.0)
    assert_close(out, expected, int_tol=1)


def test_bilateral_defaults_gain_over_5db_on_noisy_camera():
    """Noise sigma 0.1 (25.5 levels): measured +6.6 dB with the defaults; margin 1.6 dB."""
    clean, noisy = noisy_camera()
    out = api.run("enhance.bilateral", noisy)
    assert psnr(out, clean) >= psnr(noisy, clean) + 5.0


@pytest.mark.parametrize(("params", "name"), [({"d": 0}, "d"), ({"sigma_color": 0.0}, "sigma_color"),
                                              ({"sigma_space": -1.0}, "sigma_space")])
def test_bilateral_bad_params_name_the_parameter(params, name, make):
    with pytest.raises(ValueError, match=name):
        api.run("enhance.bilateral", make(), **params)


# -- unsharp mask -----------------------------------------------------------------------------


@dtypes
@kinds
def test_unsharp_mask_equals_skimage_rounded_to_dtype(dtype, kind, make):
    image = make(dtype, kind)
    expected = unsharp_mask(image, radius=1.5, amount=1.2, channel_axis=2 if kind == "rgb" else None)
    top = TOP[np.dtype(dtype)]
    if dtype == np.float32:
        expected = expected.astype(np.float32)
    else:
        expected = np.rint(expected * top).astype(dtype)
    assert_close(api.run("enhance.unsharp_mask", image, radius=1.5, amount=1.2), expected)


def test_unsharp_mask_amount_zero_is_identity(make):
    image = make(np.uint16, "rgb")
    assert np.array_equal(api.run("enhance.unsharp_mask", image, amount=0.0), image)


def test_unsharp_mask_raises_edge_contrast():
    image = camera()
    out = api.run("enhance.unsharp_mask", image, radius=2.0, amount=1.0)
    lap = lambda x: np.abs(cv2.Laplacian(unit(x), cv2.CV_64F)).mean()  # noqa: E731
    assert lap(out) > 1.5 * lap(image)
    # adding (image - blur) changes no mean, up to clipping at black and white
    assert abs(unit(out).mean() - unit(image).mean()) < 0.01


@pytest.mark.parametrize(("params", "name"), [({"radius": -1.0}, "radius"),
                                              ({"amount": -0.5}, "amount")])
def test_unsharp_mask_bad_params_name_the_parameter(params, name, make):
    with pytest.raises(ValueError, match=name):
        api.run("enhance.unsharp_mask", make(), **params)
    with pytest.raises(ValueError, match=name):  # given as text, as the CLI and recipes do
        api.run("enhance.unsharp_mask", make(), **{k: str(v) for k, v in params.items()})
