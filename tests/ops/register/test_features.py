"""register.features (imgstudio.ops.register.features), checked against known warps.

Every case warps a ``skimage.data`` image with a known matrix and checks that the op's
``matrix`` (moving → fixed) recovers its inverse: rotation angle, scale, the displacement of
the image centre and of the corners. Moving images are cut from the warped full image, so
they have no empty border."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import skimage.color
import skimage.data

import imgstudio.api as api
from imgstudio.ops.register import FeaturesRegistered
from tests.ops.helpers import dtypes, kinds
from tests.ops.register.helpers import as_dtype, corner_error, ncc

# -- helpers ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return skimage.data.astronaut()


# -- register.features ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def perspective_pair():
    """Astronaut (fixed) and a perspective view of it (moving); true moving → fixed matrix."""
    fixed = skimage.data.astronaut()
    src = np.float32([[0, 0], [511, 0], [511, 511], [0, 511]])
    dst = src + np.float32([[30, 20], [-25, 35], [-40, -30], [20, -15]])
    to_moving = cv2.getPerspectiveTransform(src, dst).astype(np.float64)
    moving = cv2.warpPerspective(fixed, to_moving, (512, 512))
    return fixed, moving, np.linalg.inv(to_moving)


@pytest.mark.parametrize("detector", ["sift", "orb", "sift_brief"])
def test_features_recover_a_perspective_warp(perspective_pair, detector):
    fixed, moving, truth = perspective_pair
    result = api.run("register.features", moving, fixed=fixed, detector=detector)
    assert isinstance(result, FeaturesRegistered)
    assert corner_error(result.matrix, truth / truth[2, 2], fixed.shape) <= 2.0
    inner = (slice(60, 450), slice(60, 450))
    assert ncc(result.image[inner], fixed[inner]) > 0.95
    assert result.matches.dtype == np.uint8 and result.matches.shape == (512, 1024, 3)
    row = result.table.rows()[0]
    assert row["inliers"] == result.inliers >= 10 and row["matches"] >= row["inliers"]
    assert {"matrix", "table"} <= set(result.to_json())


@dtypes
@kinds
def test_features_keep_dtype_and_channels(perspective_pair, dtype, kind):
    fixed, moving, truth = perspective_pair
    if kind == "gray":
        fixed, moving = (np.rint(skimage.color.rgb2gray(x) * 255).astype(np.uint8)
                         for x in (fixed, moving))
    fixed, moving = as_dtype(fixed[::2, ::2], dtype), as_dtype(moving[::2, ::2], dtype)
    half = np.diag([0.5, 0.5, 1.0])
    result = api.run("register.features", moving, fixed=fixed)
    assert corner_error(result.matrix, half @ truth @ np.linalg.inv(half), fixed.shape) <= 2.0
    assert result.image.dtype == moving.dtype and result.image.shape == fixed.shape


def test_features_unrelated_images_report_not_enough_matches(astronaut):
    noise = np.random.default_rng(1).integers(0, 256, (256, 256), dtype=np.uint8)
    with pytest.raises(ValueError, match=r"not enough matches \(found \d+"):
        api.run("register.features", noise, fixed=astronaut)
    with pytest.raises(ValueError, match="not enough matches"):
        api.run("register.features", np.zeros((32, 32), np.uint8), fixed=astronaut)


def test_features_bad_parameters(astronaut):
    with pytest.raises(ValueError, match="ratio"):
        api.run("register.features", astronaut, fixed=astronaut, ratio=1.5)
    with pytest.raises(ValueError, match="detector"):
        api.run("register.features", astronaut, fixed=astronaut, detector="surf")
    with pytest.raises(ValueError, match="fixed"):
        api.run("register.features", astronaut, fixed=astronaut.astype(np.int32))
