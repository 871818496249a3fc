"""Colour operations (imgstudio.ops.basic.color): grayscale, colour spaces, quantisation and the
colour mask, each checked against an independent reference."""

from __future__ import annotations

import colorsys

import numpy as np
import pytest
import skimage.color

import imgstudio.api as api
from tests.ops.basic.helpers import assert_close, to_dtype
from tests.ops.helpers import TOP, dtypes, kinds

# -- grayscale --------------------------------------------------------------------------------


@dtypes
def test_grayscale_uses_bt601_luma(dtype, make):
    rgb = make(dtype, "rgb").astype(np.float64)
    expected = to_dtype(0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2], dtype)
    # integer results may differ by 1 where the sum lands on .5 up to float summation order
    assert_close(api.run("basic.grayscale", make(dtype, "rgb")), expected, int_tol=1)


@dtypes
def test_grayscale_returns_gray_input_as_a_copy(dtype, make):
    gray = make(dtype, "gray")
    out = api.run("basic.grayscale", gray)
    assert np.array_equal(out, gray) and not np.shares_memory(out, gray)


def test_grayscale_drops_alpha(make):
    out = api.run("basic.grayscale", make(np.uint8, "rgba"))
    assert np.array_equal(out, api.run("basic.grayscale", make(np.uint8, "rgb")))


def test_grayscale_bad_params_rejects_unknown_parameter(make):
    with pytest.raises(ValueError, match="weights"):
        api.run("basic.grayscale", make(), weights="709")


# -- convert_color ----------------------------------------------------------------------------


_CORNERS = np.array([[[r, g, b] for r in (0.0, 1.0) for g in (0.0, 1.0) for b in (0.0, 1.0)]])


def _linear_bounds(convert):
    """Per-channel min/max of a linear conversion over the RGB cube: reached at its corners."""
    values = convert(_CORNERS).reshape(-1, 3)
    return values.min(axis=0), values.max(axis=0)


def reference_color(rgb: np.ndarray, space: str) -> np.ndarray:
    """skimage.color conversion scaled to [0, 1] as documented in basic.convert_color."""
    c = skimage.color
    if space == "hsv":
        return c.rgb2hsv(rgb)
    if space == "lab":
        return (c.rgb2lab(rgb) + [0, 128, 128]) / [100, 255, 255]
    if space == "luv":
        return (c.rgb2luv(rgb) + [0, 134, 140]) / [100, 354, 262]
    if space == "ycbcr":
        return c.rgb2ycbcr(rgb) / 255
    if space == "ycrcb":
        return c.rgb2ycbcr(rgb)[..., [0, 2, 1]] / 255
    convert = {
        "xyz": c.rgb2xyz,
        "yuv": c.rgb2yuv,
        "yiq": c.rgb2yiq,
        "ypbpr": c.rgb2ypbpr,
        "hed": c.rgb2hed,
    }[space]
    lo, hi = _linear_bounds(convert)
    return (convert(rgb) - lo) / (hi - lo)


SPACES = ["hsv", "lab", "luv", "xyz", "ycrcb", "ycbcr", "yuv", "yiq", "ypbpr", "hed"]


@pytest.mark.parametrize("space", SPACES)
def test_convert_color_matches_skimage_scaled_to_unit_range(space, make):
    image = make(np.float32, "rgb")
    expected = reference_color(image.astype(np.float64), space)
    out = api.run("basic.convert_color", image, space=space)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, expected, atol=1e-4)


@dtypes
def test_convert_color_accepts_every_dtype(dtype, make):
    image = make(dtype, "rgb")
    expected = skimage.color.rgb2hsv(image.astype(np.float64) / TOP[np.dtype(dtype)])
    np.testing.assert_allclose(api.run("basic.convert_color", image), expected, atol=1e-5)


@pytest.mark.parametrize("space", SPACES)
def test_convert_color_stays_in_unit_range_over_the_gamut(space):
    levels = np.linspace(0, 1, 17)
    cube = np.stack(np.meshgrid(levels, levels, levels), axis=-1).reshape(17, -1, 3)
    reference = reference_color(cube, space)
    assert reference.min() > -1e-6 and reference.max() < 1 + 1e-6  # the documented ranges hold
    out = api.run("basic.convert_color", cube.astype(np.float32), space=space)
    assert out.min() >= 0 and out.max() <= 1


def test_convert_color_channel_returns_one_gray_plane(make):
    image = make(np.uint8, "rgb")
    full = api.run("basic.convert_color", image, space="lab")
    out = api.run("basic.convert_color", image, space="lab", channel=0)
    assert out.shape == image.shape[:2] and np.array_equal(out, full[..., 0])


def test_convert_color_ignores_alpha(make):
    rgba = api.run("basic.convert_color", make(np.uint8, "rgba"), space="yuv")
    assert np.array_equal(rgba, api.run("basic.convert_color", make(np.uint8, "rgb"), space="yuv"))


def test_convert_color_rejects_gray_image_naming_image(make):
    with pytest.raises(ValueError, match="image"):
        api.run("basic.convert_color", make(np.uint8, "gray"))


@pytest.mark.parametrize(
    ("params", "name"), [({"space": "cmyk"}, "space"), ({"channel": 3}, "channel")]
)
def test_convert_color_bad_params_name_the_parameter(params, name, make):
    with pytest.raises(ValueError, match=name):
        api.run("basic.convert_color", make(), **params)


# -- quantize ---------------------------------------------------------------------------------


def n_colours(image: np.ndarray) -> int:
    return len(np.unique(image.reshape(-1, image.shape[2] if image.ndim == 3 else 1), axis=0))


@dtypes
@kinds
def test_quantize_leaves_at_most_colors_unique_colours(dtype, kind, make):
    out = api.run("basic.quantize", make(dtype, kind), colors=5)
    assert 2 <= n_colours(out) <= 5


def test_quantize_stays_close_to_the_input(make):
    image = make(np.uint8, "rgb")
    out = api.run("basic.quantize", image, colors=16)
    assert np.abs(out.astype(float) - image).mean() < 20


def test_quantize_is_deterministic(make):
    image = make(np.uint8, "rgb")
    assert np.array_equal(api.run("basic.quantize", image), api.run("basic.quantize", image))


def test_quantize_keeps_an_image_with_fewer_colours(make):
    palette = np.array([[255, 0, 0], [0, 128, 255], [10, 20, 30]], np.uint8)
    image = palette[np.random.default_rng(0).integers(0, 3, (32, 40))]
    assert np.array_equal(api.run("basic.quantize", image, colors=8), image)


def test_quantize_keeps_alpha(make):
    image = make(np.uint8, "rgba")
    out = api.run("basic.quantize", image, colors=3)
    assert np.array_equal(out[..., 3], image[..., 3]) and n_colours(out[..., :3]) <= 3


def test_quantize_bad_params_name_colors(make):
    with pytest.raises(ValueError, match="colors"):
        api.run("basic.quantize", make(), colors=1)


# -- color_mask -------------------------------------------------------------------------------


def reference_mask(rgb8: np.ndarray, hue_min, hue_max, sat_min, val_min):
    """Per-pixel colorsys (stdlib) HSV thresholds, and where round-off could decide (a tie)."""
    out = np.zeros(rgb8.shape[:2], np.uint8)
    tie = np.zeros(rgb8.shape[:2], bool)
    for (i, j), _ in np.ndenumerate(out):
        h, s, v = colorsys.rgb_to_hsv(*(rgb8[i, j, :3] / 255.0))
        h *= 360
        in_hue = hue_min <= h <= hue_max if hue_min <= hue_max else h >= hue_min or h <= hue_max
        out[i, j] = in_hue and s >= sat_min and v >= val_min
        near = np.subtract([h, h, s, v], [hue_min, hue_max, sat_min, val_min])
        tie[i, j] = np.abs(near).min() < 1e-9
    return out, tie


@pytest.mark.parametrize(("hue_min", "hue_max"), [(0.0, 30.0), (20.0, 60.0), (300.0, 20.0)])
def test_color_mask_matches_hsv_thresholds(hue_min, hue_max, make):
    image = make(np.uint8, "rgb")
    out = api.run(
        "basic.color_mask", image, hue_min=hue_min, hue_max=hue_max, sat_min=0.3, val_min=0.2
    )
    expected, tie = reference_mask(image, hue_min, hue_max, 0.3, 0.2)
    assert out.shape == image.shape[:2] and np.issubdtype(out.dtype, np.integer)
    assert 0 < expected.sum() and np.array_equal(out[~tie], expected[~tie])


def test_color_mask_wraps_hue_range_around_red():
    hues = np.array([350.0, 10.0, 180.0, 90.0])
    rgb = np.array([[colorsys.hsv_to_rgb(h / 360, 1.0, 1.0) for h in hues]], np.float32)
    out = api.run("basic.color_mask", rgb, hue_min=340.0, hue_max=20.0)
    assert out.tolist() == [[1, 1, 0, 0]]


@dtypes
def test_color_mask_is_zero_one_for_every_dtype(dtype, make):
    out = api.run("basic.color_mask", make(dtype, "rgb"))
    assert set(np.unique(out).tolist()) == {0, 1}


def test_color_mask_rejects_gray_image_naming_image(make):
    with pytest.raises(ValueError, match="image"):
        api.run("basic.color_mask", make(np.uint8, "gray"))


@pytest.mark.parametrize(
    ("params", "name"), [({"hue_max": 400.0}, "hue_max"), ({"sat_min": 1.5}, "sat_min")]
)
def test_color_mask_bad_params_name_the_parameter(params, name, make):
    with pytest.raises(ValueError, match=name):
        api.run("basic.color_mask", make(), **params)
