"""binary.threshold and binary.adaptive_threshold (imgstudio.ops.binary.threshold), against
scikit-image and known answers."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data
import skimage.filters

import imgstudio.api as api
from imgstudio.ops import binary
from imgstudio.ops.basic import grayscale
from tests.ops.binary.helpers import assert_mask
from tests.ops.helpers import TOP, dtypes, kinds

pytestmark = pytest.mark.gray_channel(1)  # `make`: the gray image is the green channel

# -- threshold --------------------------------------------------------------------------------


METHODS = ["otsu", "isodata", "li", "yen", "triangle", "mean"]


@pytest.mark.parametrize("method", METHODS)
@dtypes
@kinds
def test_threshold_equals_skimage_on_the_grey_image(method, dtype, kind, make):
    image = make(dtype, kind)
    grey = grayscale(image)
    t = getattr(skimage.filters, f"threshold_{method}")(grey)
    assert_mask(api.run("binary.threshold", image, method=method), grey > t)
    assert binary.threshold_value(image, method) == pytest.approx(float(t), rel=0, abs=0)


@dtypes
def test_threshold_manual_value_is_in_8_bit_units(dtype, make):
    image = make(dtype, "gray")
    level = {np.uint8: 100, np.uint16: 100 * 257, np.float32: 100 / 255}[dtype]
    assert_mask(api.run("binary.threshold", image, method="manual", value=100), image > level)
    assert binary.threshold_value(image, "manual", 100) == pytest.approx(level)


def test_threshold_otsu_separates_two_levels_exactly():
    image = np.full((40, 50), 60, np.uint8)
    image[10:30, 5:25] = 190
    image[::7, ::3] = 70  # a little texture in the background
    assert_mask(api.run("binary.threshold", image), image == 190)


def test_threshold_isodata_is_the_ridler_calvard_fixed_point():
    coins = skimage.data.coins()
    t = binary.threshold_value(coins, "isodata")
    midpoint = (coins[coins <= t].mean() + coins[coins > t].mean()) / 2
    assert abs(t - midpoint) <= 1.0


@pytest.mark.parametrize("method", METHODS)
def test_threshold_of_a_constant_image_is_empty(method):
    for image in (np.full((6, 7), 0.3, np.float32), np.full((6, 7), 9, np.uint16)):
        assert not api.run("binary.threshold", image, method=method).any()


@pytest.mark.parametrize(
    ("params", "name"),
    [({"method": "kittler"}, "method"), ({"method": "manual", "value": 256}, "value"),
     ({"value": -1}, "value")],
)
def test_threshold_bad_params_name_the_parameter(params, name, make):
    with pytest.raises(ValueError, match=name):
        api.run("binary.threshold", make(), **params)


def test_threshold_isodata_without_a_level_raises_naming_method():
    levels = np.array([0.14875335, 0.68970144, 0.7560846], np.float32)
    image = np.repeat(levels, [3, 1, 2]).reshape(2, 3)
    with pytest.raises(IndexError):
        skimage.filters.threshold_isodata(image)  # the scikit-image bug we turn into a message
    with pytest.raises(ValueError, match="method isodata"):
        api.run("binary.threshold", image, method="isodata")


# -- adaptive threshold -----------------------------------------------------------------------


@dtypes
@kinds
def test_adaptive_threshold_equals_skimage_threshold_local(dtype, kind, make):
    image = make(dtype, kind)
    grey = grayscale(image)
    offset = 12 * TOP[np.dtype(dtype)] / 255
    expected = grey > skimage.filters.threshold_local(grey, 21, offset=offset)
    assert_mask(api.run("binary.adaptive_threshold", image, block_size=21, offset=12), expected)


def test_adaptive_threshold_finds_text_under_a_gradient():
    yy, xx = np.mgrid[:60, :80]
    image = (40 + 2 * xx).astype(np.uint8)  # strong ramp: no global threshold works
    text = np.zeros((60, 80), bool)
    text[20:23, 10:70] = True
    text[35:38, 10:70] = True
    image[text] += 40
    out = api.run("binary.adaptive_threshold", image, block_size=15, offset=-10)
    assert_mask(out, text)


@pytest.mark.parametrize(
    ("params", "name"),
    [({"block_size": 20}, "block_size"), ({"block_size": 1}, "block_size"),
     ({"offset": 300}, "offset")],
)
def test_adaptive_threshold_bad_params_name_the_parameter(params, name, make):
    with pytest.raises(ValueError, match=name):
        api.run("binary.adaptive_threshold", make(), **params)
