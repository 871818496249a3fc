"""faces.align (imgstudio.ops.faces.align): eyes level at fixed positions, or onto a reference."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import imgstudio.api as api
from imgstudio.ops.faces import _models
from imgstudio.ops.faces.align import chip_eyes
from tests.ops.faces.helpers import noise, similarity

# -- faces.align ------------------------------------------------------------------------------


@pytest.mark.parametrize("angle, scale", [(0, 1.0), (20, 1.0), (-20, 1.0), (-5, 0.8), (5, 1.3)])
def test_align_puts_the_eyes_level_at_fixed_positions(astro, angle, scale):
    chip = api.run("faces.align", similarity(astro, angle, scale))
    assert chip.shape == (256, 256, 3) and chip.dtype == np.uint8
    target = chip_eyes(256, 0.25)  # (81.5, 80.4), (171.1, 80.4)
    for model, centres in ((5, _models.eye_centres_5), (68, _models.eye_centres_68)):
        eyes = np.array(centres(api.run("faces.landmarks", chip, model=model)))
        assert abs(eyes[0, 1] - eyes[1, 1]) <= 1.0, (model, eyes)  # measured ≤ 0.5
        assert np.abs(eyes - target).max() <= 2.5, (model, eyes)  # measured ≤ 1.6


def test_align_size_and_padding(astro):
    chip = api.run("faces.align", astro, size=150, padding=0.1)
    assert chip.shape == (150, 150, 3)
    eyes = np.array(_models.eye_centres_5(api.run("faces.landmarks", chip, model=5)))
    assert np.abs(eyes - chip_eyes(150, 0.1)).max() <= 2.0


def test_align_keeps_dtype_and_channels(astro):
    rgba16 = np.dstack([astro, np.full(astro.shape[:2], 255, np.uint8)]).astype(np.uint16) * 257
    out = api.run("faces.align", rgba16)
    ref = api.run("faces.align", astro)
    assert out.shape == (256, 256, 4) and out.dtype == np.uint16
    assert np.abs(out[..., :3] / 257.0 - ref).max() <= 1.0
    gray = cv2.cvtColor(astro, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255
    out = api.run("faces.align", gray)
    assert out.shape == (256, 256) and out.dtype == np.float32 and out.max() <= 1.0


def test_align_onto_a_reference_face(astro, p68):
    moved = similarity(astro, 20, 0.8, (30, -10))
    out = api.run("faces.align", moved, reference=astro)
    assert out.shape == astro.shape
    error = np.linalg.norm(api.run("faces.landmarks", out) - p68, axis=1)
    assert error.mean() <= 1.5  # measured 0.63 px (max 2.2)
    face = (slice(80, 180), slice(180, 270))
    assert np.abs(out[face].astype(int) - astro[face]).mean() < 10  # measured 5.4 grey levels


def test_align_bad_params(astro):
    with pytest.raises(ValueError, match="size"):
        api.run("faces.align", astro, size=0)
    with pytest.raises(ValueError, match="padding"):
        api.run("faces.align", astro, padding=-0.1)
    with pytest.raises(ValueError, match="no face found in reference"):
        api.run("faces.align", astro, reference=noise())
    with pytest.raises(ValueError, match="no face found"):
        api.run("faces.align", noise())


def test_align_does_not_mutate(astro):
    before = astro.copy()
    api.run("faces.align", astro, reference=astro)
    assert np.array_equal(astro, before)
