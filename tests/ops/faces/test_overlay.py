"""faces.overlay (imgstudio.ops.faces.overlay): a picture anchored on the landmarks."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import imgstudio.api as api
from imgstudio.ops.faces import _models
from tests.ops.faces.helpers import noise

# -- faces.overlay ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def red_bar() -> np.ndarray:
    """A 100×20 RGBA overlay: an opaque red bar in rows 6–13 on a transparent background."""
    bar = np.zeros((20, 100, 4), np.uint8)
    bar[6:14, :, 0] = 255
    bar[6:14, :, 3] = 255
    return bar


def test_overlay_covers_the_eyes_and_nothing_far(astro, red_bar, p5):
    out = api.run("faces.overlay", astro, red_bar)
    assert out.shape == astro.shape and out.dtype == np.uint8
    for x, y in np.rint(_models.eye_centres_5(p5)).astype(int):
        assert np.array_equal(out[y, x], [255, 0, 0])
    changed = np.any(out != astro, axis=2)
    ys, xs = np.nonzero(changed)
    # the bar is 2 eye distances (2 × 43 px) wide, centred between the eyes (225, 103)
    assert 170 <= xs.min() and xs.max() <= 280 and 90 <= ys.min() and ys.max() <= 116
    assert np.array_equal(out[~changed], astro[~changed])  # everything else untouched


@pytest.mark.parametrize("anchor, centre", [("nose", (224, 135)), ("mouth", (223, 145))])
def test_overlay_anchors(astro, red_bar, anchor, centre):
    out = api.run("faces.overlay", astro, red_bar, anchor=anchor, scale=0.5)
    ys, xs = np.nonzero(np.any(out != astro, axis=2))
    assert abs(xs.mean() - centre[0]) <= 3 and abs(ys.mean() - centre[1]) <= 3


def test_overlay_keeps_dtype_channels_and_alpha(astro, red_bar, p5):
    rgba = np.dstack([astro, np.full(astro.shape[:2], 128, np.uint8)]).astype(np.float32) / 255
    out = api.run("faces.overlay", rgba, red_bar.astype(np.uint16) * 257)
    x, y = np.rint(_models.eye_centres_5(p5)[0]).astype(int)
    assert out.dtype == np.float32 and out.shape == rgba.shape
    assert np.allclose(out[y, x], [1, 0, 0, 1], atol=1e-6)  # opaque red over half-transparent
    assert np.array_equal(out[10, 10], rgba[10, 10])
    gray = cv2.cvtColor(astro, cv2.COLOR_RGB2GRAY)
    out = api.run("faces.overlay", gray, red_bar)
    assert out.shape == gray.shape and out[y, x] == round(0.299 * 255)  # red's luma


def test_overlay_does_not_mutate(astro, red_bar):
    before, bar = astro.copy(), red_bar.copy()
    api.run("faces.overlay", astro, red_bar)
    assert np.array_equal(astro, before) and np.array_equal(red_bar, bar)


def test_overlay_bad_params(astro, red_bar):
    with pytest.raises(ValueError, match="no face found"):
        api.run("faces.overlay", noise(), red_bar)
    with pytest.raises(ValueError, match="anchor"):
        api.run("faces.overlay", astro, red_bar, anchor="ears")
    with pytest.raises(ValueError, match="scale"):
        api.run("faces.overlay", astro, red_bar, scale=0.0)
    with pytest.raises(ValueError, match="overlay"):
        api.run("faces.overlay", astro, red_bar.astype(np.float64))
