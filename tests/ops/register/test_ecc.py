"""register.ecc (imgstudio.ops.register.ecc), checked against known warps.

Every case warps a ``skimage.data`` image with a known matrix and checks that the op's
``matrix`` (moving → fixed) recovers its inverse: rotation angle, scale, the displacement of
the image centre and of the corners. Moving images are cut from the warped full image, so
they have no empty border."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import imgstudio.api as api
from imgstudio.core.progress import Cancelled, Progress
from imgstudio.ops.register import register_ecc
from tests.ops.helpers import dtypes, kinds
from tests.ops.register.helpers import corner_error, cut_pair, similarity, similarity_errors, source

# -- register.ecc -----------------------------------------------------------------------------


@dtypes
@kinds
def test_ecc_recovers_a_euclidean_warp(dtype, kind):
    base = source(kind, dtype)
    fixed, moving, truth = cut_pair(base, similarity(-11.0, 1.0, 16.0, -12.0), 128, 128, 256)
    before = moving.copy()
    result = api.run("register.ecc", moving, fixed=fixed)
    d_angle, d_scale, d_shift = similarity_errors(result.matrix, truth, fixed.shape)
    assert d_angle < 0.5 and d_shift < 1.0, (d_angle, d_shift)
    assert corner_error(result.matrix, truth, fixed.shape) < 1.0
    assert result.correlation > 0.95
    assert result.image.dtype == moving.dtype and result.image.shape == fixed.shape
    np.testing.assert_array_equal(moving, before)


def test_ecc_recovers_a_homography_within_two_pixels(camera):
    src = np.float32([[0, 0], [511, 0], [511, 511], [0, 511]])
    dst = src + np.float32([[14, -10], [-12, 16], [-18, -9], [11, 13]])
    warp = cv2.getPerspectiveTransform(src, dst).astype(np.float64)
    fixed, moving, truth = cut_pair(camera, warp, 128, 128, 256)
    result = api.run("register.ecc", moving, fixed=fixed, motion="homography")
    assert corner_error(result.matrix, truth, fixed.shape) <= 2.0


@pytest.mark.parametrize("motion", ["translation", "affine"])
def test_ecc_simpler_and_affine_motions(camera, motion):
    warp = similarity(0, 1, 7.0, -5.0) if motion == "translation" else \
        np.array([[1.04, 0.06, -8.0], [-0.03, 0.97, 6.0], [0, 0, 1]])
    fixed, moving, truth = cut_pair(camera, warp, 128, 128, 256)
    result = register_ecc(moving, fixed, motion=motion)
    assert corner_error(result.matrix, truth, fixed.shape) < 1.0


def test_ecc_unrelated_images_raise_value_error(camera):
    noise = np.random.default_rng(0).integers(0, 256, (256, 256), dtype=np.uint8)
    for motion in ("translation", "euclidean"):
        with pytest.raises(ValueError, match="converge"):
            api.run("register.ecc", noise, fixed=camera[128:384, 128:384], motion=motion)


def test_ecc_bad_parameters_and_cancel(camera):
    img = camera[:64, :64]
    with pytest.raises(ValueError, match="gauss_filt_size"):
        api.run("register.ecc", img, fixed=img, gauss_filt_size=4)
    with pytest.raises(ValueError, match="eps"):
        api.run("register.ecc", img, fixed=img, eps=0.0)
    with pytest.raises(ValueError, match="motion"):
        api.run("register.ecc", img, fixed=img, motion="projective")
    token = Progress()
    token.cancel()
    with pytest.raises(Cancelled):
        register_ecc(img, img, progress=token)
