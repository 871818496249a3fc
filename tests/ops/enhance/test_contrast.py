"""enhance.histogram_equalize, enhance.clahe, enhance.histogram_match
(imgstudio.ops.enhance.contrast) against scikit-image and OpenCV (colour: on L of Lab, rebuilt
here from the documented recipe)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage.exposure import equalize_hist, match_histograms

import imgstudio.api as api
from imgstudio.ops import enhance
from tests.ops.enhance.helpers import assert_close, camera, to_dtype, unit
from tests.ops.helpers import dtypes, kinds


def on_lab_lightness(rgb: np.ndarray, fn) -> np.ndarray:
    """Reference colour recipe: ``fn`` on L of Lab (uint8 Lab for uint8, else L as uint16)."""
    if rgb.dtype == np.uint8:
        lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)
        lab[..., 0] = fn(lab[..., 0].copy())
        return cv2.cvtColor(lab, cv2.COLOR_Lab2RGB)
    lab = cv2.cvtColor(unit(rgb).astype(np.float32), cv2.COLOR_RGB2Lab)
    lightness = np.rint(lab[..., 0] / 100.0 * 65535.0).astype(np.uint16)
    lab[..., 0] = fn(lightness).astype(np.float64) / 65535.0 * 100.0
    return to_dtype(cv2.cvtColor(lab, cv2.COLOR_Lab2RGB), rgb.dtype)


# -- histogram equalisation -------------------------------------------------------------------


@dtypes
def test_histogram_equalize_gray_equals_skimage(dtype, make):
    image = make(dtype, "gray")
    expected = to_dtype(equalize_hist(image), dtype)
    assert_close(api.run("enhance.histogram_equalize", image), expected, float_tol=1e-7)


@dtypes
def test_histogram_equalize_rgb_equalizes_lab_lightness(dtype, make):
    image = make(dtype, "rgb")
    expected = on_lab_lightness(image, lambda L: to_dtype(equalize_hist(L), L.dtype))
    assert_close(api.run("enhance.histogram_equalize", image), expected, int_tol=1,
                 float_tol=1e-6)


def test_histogram_equalize_flattens_the_cumulative_histogram():
    image = camera()
    out = api.run("enhance.histogram_equalize", image)
    cdf = np.cumsum(np.bincount(out.ravel(), minlength=256)) / out.size
    # an equalised CDF is the identity up to the largest single grey level's share
    largest = np.bincount(image.ravel()).max() / image.size
    assert np.abs(cdf - np.arange(1, 257) / 256).max() <= largest + 1.0 / 256
    assert np.abs(np.cumsum(np.bincount(image.ravel(), minlength=256)) / image.size
                  - np.arange(1, 257) / 256).max() > 0.1  # and the input was far from flat


def test_histogram_equalize_bad_params_name_the_parameter(make):
    with pytest.raises(ValueError, match="nbins"):
        api.run("enhance.histogram_equalize", make(), nbins=64)
    with pytest.raises(ValueError, match="image"):
        enhance.histogram_equalize(np.zeros((4, 4, 2), np.uint8))


# -- CLAHE ------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16], ids=["uint8", "uint16"])
@pytest.mark.parametrize(("clip_limit", "tile"), [(2.0, 8), (4.0, 3), (0.0, 4)])
def test_clahe_gray_is_bit_exact_cv2(dtype, clip_limit, tile, make):
    image = make(dtype, "gray")
    expected = cv2.createCLAHE(clipLimit=clip_limit, tileGridSize=(tile, tile)).apply(image)
    out = api.run("enhance.clahe", image, clip_limit=clip_limit, tile=tile)
    assert_close(out, expected)


def test_clahe_gray_float32_goes_through_uint16(make):
    image = make(np.float32, "gray")
    u16 = np.rint(image.astype(np.float64) * 65535).astype(np.uint16)
    expected = cv2.createCLAHE(clipLimit=3.0, tileGridSize=(4, 4)).apply(u16) / 65535.0
    out = api.run("enhance.clahe", image, clip_limit=3.0, tile=4)
    assert_close(out, expected.astype(np.float32), float_tol=1e-7)


@dtypes
def test_clahe_rgb_equalizes_lab_lightness_with_cv2(dtype, make):
    image = make(dtype, "rgb")
    engine = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(4, 4))
    expected = on_lab_lightness(image, engine.apply)
    assert_close(api.run("enhance.clahe", image, clip_limit=2.0, tile=4), expected, int_tol=1,
                 float_tol=1e-6)


def test_clahe_raises_local_contrast_in_dark_areas():
    image = (camera() // 3).astype(np.uint8)  # a dark, low-contrast version
    out = api.run("enhance.clahe", image, clip_limit=3.0, tile=4)
    assert out.std() > 1.5 * image.std()  # measured 1.76x


@pytest.mark.parametrize(("params", "name"), [({"tile": 0}, "tile"), ({"tile": 200}, "tile"),
                                              ({"clip_limit": -1.0}, "clip_limit")])
def test_clahe_bad_params_name_the_parameter(params, name, make):
    with pytest.raises(ValueError, match=name):
        api.run("enhance.clahe", make(), **params)


# -- histogram matching -----------------------------------------------------------------------


@dtypes
@kinds
def test_histogram_match_equals_skimage_match_histograms(dtype, kind, make, astronaut_small):
    image = make(dtype, kind)
    # a reference of another size and histogram: a darker, contrast-stretched crop
    reference = np.ascontiguousarray(image[10:50, 5:70])
    reference = to_dtype(unit(reference) ** 2.0, dtype)
    axis = -1 if kind == "rgb" else None
    expected = match_histograms(image, reference, channel_axis=axis)
    out = api.run("enhance.histogram_match", image, reference=reference)
    if dtype == np.float32:
        assert_close(out, expected)
    else:
        # skimage truncates integer colour results and returns float for grey; the op rounds
        assert_close(out, np.rint(expected).astype(dtype) if kind == "gray"
                     else expected, int_tol=0 if kind == "gray" else 1)
        if kind == "rgb":  # exact against the per-channel CDF mapping, rounded
            exact = np.stack([np.rint(match_histograms(image[..., c], reference[..., c]))
                              for c in range(3)], -1).astype(dtype)
            assert_close(out, exact)


def test_histogram_match_gives_the_reference_quantiles():
    image = camera()
    reference = np.rint(np.linspace(0, 1, 10000) ** 3 * 255).astype(np.uint8).reshape(100, 100)
    out = api.run("enhance.histogram_match", image, reference=reference)
    q = np.linspace(0.05, 0.95, 19)
    # each quantile of the result is the reference's, up to the share of the largest input
    # grey level (ties: one input level maps to one output level)
    share = np.bincount(image.ravel()).max() / image.size
    out_q = np.quantile(out, q)
    assert np.all(out_q >= np.quantile(reference, q - share) - 1)
    assert np.all(out_q <= np.quantile(reference, q + share) + 1)
    # matching an image to itself changes nothing
    assert np.array_equal(api.run("enhance.histogram_match", image, reference=image), image)


def test_histogram_match_rescales_a_reference_of_another_dtype(make):
    image = make(np.uint8, "rgb")
    ref8 = np.ascontiguousarray(make(np.uint8, "rgb")[::-1, ::-1] // 2)
    ref16 = (ref8.astype(np.uint16) * 257)
    out8 = api.run("enhance.histogram_match", image, reference=ref8)
    assert np.array_equal(api.run("enhance.histogram_match", image, reference=ref16), out8)


@pytest.mark.parametrize(("image_kind", "reference_kind"), [("gray", "rgb"), ("rgb", "gray")])
def test_histogram_match_bad_params_grey_colour_mismatch_names_reference(image_kind, reference_kind,
                                                                         make):
    with pytest.raises(ValueError, match="reference"):
        api.run("enhance.histogram_match", make(np.uint8, image_kind),
                reference=make(np.uint8, reference_kind))


def test_histogram_match_requires_a_reference(make):
    with pytest.raises(ValueError, match="reference"):
        api.run("enhance.histogram_match", make())
