"""register.sitk (imgstudio.ops.register.sitk), checked against known warps.

Every case warps a ``skimage.data`` image with a known matrix and checks that the op's
``matrix`` (moving → fixed) recovers its inverse: rotation angle, scale, the displacement of
the image centre and of the corners. Moving images are cut from the warped full image, so
they have no empty border."""

from __future__ import annotations

import time

import numpy as np
import pytest

import imgstudio.api as api
from imgstudio.core.progress import Cancelled, Progress
from imgstudio.ops.register import SitkRegistered, register_sitk
from tests.ops.helpers import dtypes, kinds
from tests.ops.register.helpers import (
    corner_error,
    cut_pair,
    ncc,
    similarity,
    similarity_errors,
    source,
)

# -- register.sitk ----------------------------------------------------------------------------


SITK_CASES = [(12.0, 1.07, 15.0, -11.0), (-8.0, 0.92, -18.0, 14.0)]


@pytest.mark.parametrize("case", SITK_CASES, ids=["rot12-s1.07", "rot-8-s0.92"])
def test_sitk_defaults_register_an_inverted_rotated_scaled_shifted_copy(camera, case):
    fixed, moving, truth = cut_pair(camera, similarity(*case), 128, 128, 256)
    moving = 255 - moving  # another "modality": only mutual information can relate them
    before = moving.copy()
    result = api.run("register.sitk", moving, fixed=fixed)
    assert isinstance(result, SitkRegistered)
    d_angle, d_scale, d_shift = similarity_errors(result.matrix, truth, fixed.shape)
    assert d_angle < 0.5 and d_scale < 0.01 and d_shift < 1.0, (d_angle, d_scale, d_shift)
    assert corner_error(result.matrix, truth, fixed.shape) < 1.0
    np.testing.assert_array_equal(moving, before)
    assert result.image.dtype == np.uint8 and result.image.shape == fixed.shape
    inner = (slice(40, 216), slice(40, 216))
    assert ncc(result.image[inner], 255 - fixed[inner]) > 0.95
    values = result.metric_values
    assert len(values) > 10 and values[-1] < values[0]
    assert "matrix" in result.to_json() and "image" not in result.to_json()


@dtypes
@kinds
def test_sitk_translation_keeps_dtype_and_channels(dtype, kind):
    base = source(kind, dtype)
    fixed, moving, truth = cut_pair(base, similarity(0, 1, 5.0, -3.0), 160, 160, 128)
    result = register_sitk(moving, fixed, transform="translation")
    assert result.image.dtype == moving.dtype and result.image.shape == fixed.shape
    np.testing.assert_allclose(result.matrix[:2, :2], np.eye(2), atol=1e-9)
    np.testing.assert_allclose(result.matrix[:2, 2], truth[:2, 2], atol=0.3)


def test_sitk_mean_squares_registers_same_modality_rigid_motion(camera):
    fixed, moving, truth = cut_pair(camera, similarity(7.0, 1.0, 9.0, 6.0), 160, 160, 192)
    result = api.run("register.sitk", moving, fixed=fixed, transform="rigid",
                     metric="mean_squares")
    assert corner_error(result.matrix, truth, fixed.shape) < 1.0


def test_sitk_affine_with_correlation_recovers_a_similarity_of_an_inverted_copy(camera):
    # ITK's correlation metric is the squared normalised correlation: either sign matches.
    fixed, moving, truth = cut_pair(camera, similarity(10.0, 1.05, -12.0, 8.0), 128, 128, 256)
    result = api.run("register.sitk", 255 - moving, fixed=fixed, transform="affine",
                     metric="correlation")
    assert corner_error(result.matrix, truth, fixed.shape) < 1.0


@pytest.mark.parametrize("optimizer, learning_rate, tolerance",
                         [("gradient_descent", 0.5, 2.0), ("lbfgsb", 1.0, 0.5)])
def test_sitk_other_optimizers_recover_a_translation(camera, optimizer, learning_rate, tolerance):
    # Plain gradient descent stops when the metric flattens, so it is only roughly right.
    fixed, moving, truth = cut_pair(camera, similarity(0, 1, 6.0, -4.0), 160, 160, 192)
    result = api.run("register.sitk", 255 - moving, fixed=fixed, transform="translation",
                     optimizer=optimizer, learning_rate=learning_rate)
    assert np.abs(result.matrix[:2, 2] - truth[:2, 2]).max() < tolerance


def test_sitk_random_sampling_is_reproducible(camera):
    fixed, moving, truth = cut_pair(camera, similarity(0, 1, 4.0, 2.0), 192, 192, 128)
    a = register_sitk(moving, fixed, transform="translation", sampling=0.2)
    b = register_sitk(moving, fixed, transform="translation", sampling=0.2)
    np.testing.assert_allclose(a.matrix, b.matrix, atol=1e-9)
    np.testing.assert_allclose(a.matrix[:2, 2], truth[:2, 2], atol=0.3)


def test_sitk_reports_progress_and_cancel_stops_the_optimiser(camera):
    fixed, moving, _ = cut_pair(camera, similarity(5.0, 1.0, 3.0, 3.0), 192, 192, 128)
    seen = []
    register_sitk(moving, fixed, transform="translation", progress=Progress(
        lambda f, m: seen.append(f)))
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen)

    calls = []

    def cancel_on_third(fraction, message):
        calls.append(fraction)
        if len(calls) == 3:
            token.cancel()

    token = Progress(cancel_on_third)
    t0 = time.perf_counter()
    with pytest.raises(Cancelled):
        # A crawling optimiser that would run 3 × 5000 iterations if not stopped.
        register_sitk(moving, fixed, learning_rate=0.01, iterations=5000, progress=token)
    assert time.perf_counter() - t0 < 3.0
    assert len(calls) == 3


def test_sitk_bad_input_names_the_input_or_parameter(camera):
    small = camera[:64, :64]
    with pytest.raises(ValueError, match="fixed"):
        api.run("register.sitk", small, fixed=np.zeros((64, 64, 2), np.uint8))
    with pytest.raises(ValueError, match="image"):
        api.run("register.sitk", small[:3, :3], fixed=small)
    with pytest.raises(ValueError, match="bins"):
        api.run("register.sitk", small, fixed=small, bins=1)
    with pytest.raises(ValueError, match="learning_rate"):
        api.run("register.sitk", small, fixed=small, learning_rate=0.0)
    with pytest.raises(ValueError, match="transform"):
        api.run("register.sitk", small, fixed=small, transform="bspline")
    with pytest.raises(ValueError, match="initializer"):
        api.run("register.sitk", small, fixed=np.zeros((64, 64), np.uint8),
                initializer="moments")
