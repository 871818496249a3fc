"""Sketch operations (imgstudio.ops.artistic.sketch): dodge, DoG, XDoG, anisotropic sketch and
pencil, each against the formula or the OpenCV call it follows."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import scipy.ndimage as ndi
from skimage.filters import threshold_otsu

import imgstudio.api as api
from tests.ops.artistic.helpers import as_uint8, mismatch, perona_malik_reference, scaled_from_uint8
from tests.ops.helpers import TOP, dtypes, kinds


def luma(image: np.ndarray) -> np.ndarray:
    """BT.601 grey in [0, 1], float64 (the editor's basic.grayscale weights)."""
    x = image.astype(np.float64) / TOP[image.dtype]
    if x.ndim == 3:
        x = x[..., :3] @ np.array([0.299, 0.587, 0.114])
    return x


def to_dtype(unit: np.ndarray, dtype) -> np.ndarray:
    top = TOP[np.dtype(dtype)]
    if np.dtype(dtype).kind == "f":
        return np.clip(unit, 0, 1).astype(dtype)
    return np.rint(np.clip(unit, 0, 1) * top).astype(dtype)


# -- colour dodge sketch ----------------------------------------------------------------------


def test_sketch_dodge_equals_classic_cv2_divide_for_uint8(make):
    image = make(np.uint8, "rgb")
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    denominator = 255 - cv2.GaussianBlur(255 - gray, (21, 21), 0)
    expected = cv2.divide(gray, denominator, scale=256)
    assert denominator.min() > 0  # the classic recipe's x/0 = 0 never applies here
    assert np.array_equal(api.run("artistic.sketch_dodge", image), expected)


@dtypes
@kinds
def test_sketch_dodge_matches_colour_dodge_formula(dtype, kind, make):
    image = make(dtype, kind)
    top = TOP[np.dtype(dtype)]
    gray = luma(image) * top
    if dtype != np.float32:
        gray = np.rint(gray)
    # the blur is OpenCV's (sigma from ksize); the dodge itself is the closed form
    blurred = cv2.GaussianBlur((top - gray).astype(dtype), (9, 9), 0).astype(np.float64)
    valid = blurred < top
    expected = gray[valid] / (top - blurred[valid]) * top * 256 / 255
    out = api.run("artistic.sketch_dodge", image, ksize=9)
    assert out.dtype == dtype and out.shape == image.shape[:2]
    assert valid.mean() > 0.95
    # grey from cv2.cvtColor (fixed point for integers) may differ from the float luma by one
    # level, which the division amplifies where the blur is near white: allow 2 levels on all
    # but 1 % of pixels
    tol = 1e-4 if dtype == np.float32 else 2.0 * (top / 255.0)
    assert mismatch(out[valid], to_dtype(expected / top, dtype), tol) < 0.01


def test_sketch_dodge_zero_denominator_is_white_unless_black():
    image = np.zeros((20, 20), np.float32)
    image[10, 10] = 1e-9  # blur(1 - g) rounds to 1 there: g / 0
    out = api.run("artistic.sketch_dodge", image, ksize=5)
    assert out[10, 10] == 1.0 and out[0, 0] == 0.0 and out.sum() == 1.0


def test_sketch_dodge_bad_params_name_ksize(make):
    with pytest.raises(ValueError, match="ksize"):
        api.run("artistic.sketch_dodge", make(), ksize=20)


# -- DoG and XDoG -----------------------------------------------------------------------------


@dtypes
@kinds
@pytest.mark.parametrize(("sigma", "k", "threshold"), [(0.5, 1.6, 0.01), (1.5, 2.0, 0.02)])
def test_sketch_dog_matches_scipy_difference_of_gaussians(dtype, kind, sigma, k, threshold, make):
    image = make(dtype, kind)
    gray = luma(image)
    dog = ndi.gaussian_filter(gray, sigma) - ndi.gaussian_filter(gray, k * sigma)
    expected = np.where(dog < -threshold, 0, TOP[np.dtype(dtype)]).astype(dtype)
    out = api.run("artistic.sketch_dog", image, sigma=sigma, k=k, threshold=threshold)
    assert out.dtype == dtype and 0.02 < np.mean(out == 0) < 0.5
    # float32 arithmetic vs float64 reference: only pixels within ~1e-6 of the threshold flip
    assert mismatch(out, expected, 0) < 0.002


def test_sketch_dog_inks_the_dark_side_of_an_edge():
    image = np.zeros((16, 32), np.uint8)
    image[:, 16:] = 200
    out = api.run("artistic.sketch_dog", image, sigma=1.0, threshold=0.02)
    ink = np.argwhere(out == 0)
    assert len(ink) and set(ink[:, 1]) <= {13, 14, 15}


@pytest.mark.parametrize(("params", "name"), [({"sigma": 0.0}, "sigma"), ({"k": 0.5}, "k"),
                                              ({"threshold": -0.1}, "threshold")])
def test_sketch_dog_bad_params_name_the_parameter(params, name, make):
    with pytest.raises(ValueError, match=name):
        api.run("artistic.sketch_dog", make(), **params)


def xdog_reference(gray, sigma=0.8, k=1.6, gamma=0.98, epsilon=-0.1, phi=200.0, binarize=False):
    """Winnemöller's XDoG as in the catalog, float64 with scipy."""
    diff = ndi.gaussian_filter(gray, sigma) - gamma * ndi.gaussian_filter(gray, k * sigma)
    tone = np.where(diff < epsilon, 1.0, 1.0 + np.tanh(phi * diff))
    tone = (tone - tone.min()) / (tone.max() - tone.min())
    if binarize:
        tone = (tone >= threshold_otsu(tone)).astype(float)
    return tone


@dtypes
@kinds
@pytest.mark.parametrize("params", [{}, {"sigma": 1.2, "k": 2.0, "gamma": 0.9, "epsilon": 0.0,
                                         "phi": 20.0}])
def test_sketch_xdog_matches_reference(dtype, kind, params, make):
    image = make(dtype, kind)
    expected = to_dtype(xdog_reference(luma(image), **params), dtype)
    out = api.run("artistic.sketch_xdog", image, **params)
    assert out.dtype == dtype and out.shape == image.shape[:2]
    tol = 2e-4 if dtype == np.float32 else 1.0 * TOP[np.dtype(dtype)] / 255.0
    assert mismatch(out, expected, tol) < 0.002


@dtypes
def test_sketch_xdog_binarized_matches_reference(dtype, make):
    image = make(dtype, "rgb")
    expected = to_dtype(xdog_reference(luma(image), binarize=True), dtype)
    out = api.run("artistic.sketch_xdog", image, binarize=True)
    assert set(np.unique(out)) <= {0, TOP[np.dtype(dtype)]}
    assert mismatch(out, expected, 0) < 0.002


def test_sketch_xdog_of_a_flat_image_is_white():
    out = api.run("artistic.sketch_xdog", np.full((12, 12), 0.3, np.float32))
    assert np.all(out == 1.0)


@pytest.mark.parametrize(("params", "name"), [({"phi": -1.0}, "phi"), ({"gamma": 2.0}, "gamma"),
                                              ({"epsilon": 3.0}, "epsilon")])
def test_sketch_xdog_bad_params_name_the_parameter(params, name, make):
    with pytest.raises(ValueError, match=name):
        api.run("artistic.sketch_xdog", make(), **params)


# -- anisotropic sketch ------------------------------------------------------------------------


def anisotropic_sketch_reference(image, kappa=20.0, niter=5, gamma=0.1):
    gray8 = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
    smooth = perona_malik_reference(gray8, kappa, niter, gamma).astype(np.float64)
    gx = ndi.sobel(smooth, axis=1, mode="reflect")
    gy = ndi.sobel(smooth, axis=0, mode="reflect")
    return 1.0 - np.minimum(np.hypot(gx, gy) / 4.0 / kappa, 1.0)


@pytest.mark.parametrize("params", [{"niter": 5}, {"kappa": 40.0, "niter": 8, "gamma": 0.05}])
@kinds
def test_sketch_anisotropic_is_edge_emphasis_of_diffused_grey(params, kind, make):
    image = make(np.uint8, kind)
    expected = to_dtype(anisotropic_sketch_reference(image, **params), np.uint8)
    out = api.run("artistic.sketch_anisotropic", image, **params)
    assert out.dtype == np.uint8 and out.shape == image.shape[:2]
    assert mismatch(out, expected, 1) < 0.01


@pytest.mark.parametrize("dtype", [np.uint16, np.float32], ids=["uint16", "float32"])
def test_sketch_anisotropic_other_dtypes_follow_the_8bit_grey(dtype, make):
    image = make(dtype, "gray")
    expected = to_dtype(anisotropic_sketch_reference(as_uint8(image)), dtype)
    out = api.run("artistic.sketch_anisotropic", image, niter=5)
    assert out.dtype == dtype
    assert mismatch(out, expected, 1.0 * TOP[np.dtype(dtype)] / 255) < 0.01


def test_sketch_anisotropic_draws_strong_edges_and_drops_weak_texture():
    rng = np.random.default_rng(3)
    clean = np.where(np.arange(48) < 24, 40.0, 200.0)[None, :].repeat(32, axis=0)
    noisy = np.clip(clean + rng.normal(0, 3, clean.shape), 0, 255).astype(np.uint8)
    out = api.run("artistic.sketch_anisotropic", noisy)
    assert np.all(out[:, 22:26].min(axis=1) == 0)  # the edge is a black line on every row
    assert np.mean(out[:, 3:18] > 200) > 0.95 and np.mean(out[:, 30:45] > 200) > 0.95


@pytest.mark.parametrize(("params", "name"), [({"gamma": 0.2}, "gamma"), ({"kappa": 0.0}, "kappa"),
                                              ({"niter": -1}, "niter")])
def test_sketch_anisotropic_bad_params_name_the_parameter(params, name, make):
    with pytest.raises(ValueError, match=name):
        api.run("artistic.sketch_anisotropic", make(), **params)


# -- pencil (OpenCV NPR) ----------------------------------------------------------------------


@pytest.mark.parametrize("params", [{}, {"sigma_s": 20.0, "sigma_r": 0.2, "shade": 0.02}])
def test_pencil_equals_cv2_pencil_sketch(params, make):
    image = make(np.uint8, "rgb")
    grey, colour = cv2.pencilSketch(cv2.cvtColor(image, cv2.COLOR_RGB2BGR),
                                    sigma_s=params.get("sigma_s", 60.0),
                                    sigma_r=params.get("sigma_r", 0.07),
                                    shade_factor=params.get("shade", 0.05))
    assert np.array_equal(api.run("artistic.pencil", image, **params), grey)
    out = api.run("artistic.pencil", image, color=True, **params)
    assert np.array_equal(out, cv2.cvtColor(colour, cv2.COLOR_BGR2RGB))


@dtypes
@pytest.mark.parametrize("kind", ["gray", "rgba"])
def test_pencil_other_layouts_and_dtypes(dtype, kind, make):
    image = make(dtype, kind)
    image8 = as_uint8(image)
    bgr = (cv2.cvtColor(image8, cv2.COLOR_GRAY2BGR) if kind == "gray"
           else cv2.cvtColor(image8, cv2.COLOR_RGBA2BGR))
    grey, colour = cv2.pencilSketch(bgr, sigma_s=60.0, sigma_r=0.07, shade_factor=0.05)
    out = api.run("artistic.pencil", image)
    assert np.allclose(out, scaled_from_uint8(grey, dtype), rtol=0, atol=1e-6)
    out = api.run("artistic.pencil", image, color=True)
    assert out.shape == image.shape and out.dtype == dtype
    if kind == "rgba":
        assert np.array_equal(out[..., 3], image[..., 3])
        colour = cv2.cvtColor(colour, cv2.COLOR_BGR2RGB)
    else:
        colour = cv2.cvtColor(colour, cv2.COLOR_BGR2GRAY)
    assert np.allclose(out[..., :3] if kind == "rgba" else out,
                       scaled_from_uint8(colour, dtype), rtol=0, atol=1e-6)


def test_pencil_bad_params_name_shade(make):
    with pytest.raises(ValueError, match="shade"):
        api.run("artistic.pencil", make(), shade=0.5)
