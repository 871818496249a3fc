"""Tone operations (imgstudio.ops.basic.tone): invert, brightness/contrast, gamma and levels
against their closed forms."""

from __future__ import annotations

import numpy as np
import pytest

import imgstudio.api as api
from tests.ops.basic.helpers import assert_close, to_dtype
from tests.ops.helpers import TOP, dtypes, kinds

# -- invert -----------------------------------------------------------------------------------


@dtypes
@kinds
def test_invert_is_max_minus_x(dtype, kind, make):
    image = make(dtype, kind)
    expected = (TOP[np.dtype(dtype)] - image.astype(np.float64)).astype(dtype)
    assert_close(api.run("basic.invert", image), expected, float_tol=0)


def test_invert_keeps_alpha(make):
    image = make(np.uint16, "rgba")
    out = api.run("basic.invert", image)
    assert np.array_equal(out[..., 3], image[..., 3])
    assert np.array_equal(out[..., :3], 65535 - image[..., :3])


def test_invert_bad_params_rejects_float64_image():
    with pytest.raises(ValueError, match="image"):
        api.run("basic.invert", np.zeros((8, 8), np.float64))


# -- tone: brightness/contrast, gamma, levels -------------------------------------------------


@dtypes
@kinds
def test_brightness_contrast_matches_closed_form(dtype, kind, make):
    image = make(dtype, kind)
    top = TOP[np.dtype(dtype)]
    x = image.astype(np.float64)
    expected = to_dtype((x - top / 2) * 1.5 + top / 2 + 0.1 * top, dtype)
    out = api.run("basic.brightness_contrast", image, brightness=0.1, contrast=1.5)
    assert_close(out, expected)


@dtypes
def test_brightness_contrast_defaults_are_identity(dtype, make):
    image = make(dtype, "rgb")
    assert np.array_equal(api.run("basic.brightness_contrast", image), image)


def test_brightness_contrast_keeps_alpha(make):
    image = make(np.uint8, "rgba")
    out = api.run("basic.brightness_contrast", image, brightness=-0.5)
    assert np.array_equal(out[..., 3], image[..., 3])


@pytest.mark.parametrize(
    ("params", "name"), [({"brightness": 2.0}, "brightness"), ({"contrast": -1.0}, "contrast")]
)
def test_brightness_contrast_bad_params_name_the_parameter(params, name, make):
    with pytest.raises(ValueError, match=name):
        api.run("basic.brightness_contrast", make(), **params)


@dtypes
@kinds
def test_gamma_matches_closed_form(dtype, kind, make):
    image = make(dtype, kind)
    top = TOP[np.dtype(dtype)]
    expected = to_dtype(top * (image.astype(np.float64) / top) ** (1 / 2.2), dtype)
    assert_close(api.run("basic.gamma", image, gamma=2.2), expected)


def test_gamma_above_one_brightens(make):
    image = make(np.float32, "rgb")
    assert api.run("basic.gamma", image, gamma=2.0).mean() > image.mean()


def test_gamma_one_is_identity(make):
    image = make(np.uint16, "rgb")
    assert np.array_equal(api.run("basic.gamma", image, gamma=1.0), image)


def test_gamma_bad_params_name_gamma(make):
    with pytest.raises(ValueError, match="gamma"):
        api.run("basic.gamma", make(), gamma=0.0)


@dtypes
@kinds
def test_levels_matches_closed_form(dtype, kind, make):
    image = make(dtype, kind)
    top = TOP[np.dtype(dtype)]
    lo, hi = 30 / 255 * top, 200 / 255 * top
    stretched = np.clip((image.astype(np.float64) - lo) / (hi - lo), 0, 1)
    expected = to_dtype(stretched ** (1 / 0.8) * top, dtype)
    assert_close(api.run("basic.levels", image, black=30, white=200, gamma=0.8), expected)


def test_levels_defaults_are_identity(make):
    image = make(np.uint8, "rgb")
    assert np.array_equal(api.run("basic.levels", image), image)


def test_levels_keeps_alpha(make):
    image = make(np.float32, "rgba")
    out = api.run("basic.levels", image, black=50, white=100)
    assert np.array_equal(out[..., 3], image[..., 3])


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"black": 100, "white": 100}, "white"),
        ({"black": 200, "white": 50}, "white"),
        ({"gamma": 0.0}, "gamma"),
        ({"black": 300}, "black"),
    ],
)
def test_levels_bad_params_name_the_parameter(params, name, make):
    with pytest.raises(ValueError, match=name):
        api.run("basic.levels", make(), **params)
