"""Registration operations (imgstudio.ops.register), checked against known warps.

Every case warps a ``skimage.data`` image with a known matrix and checks that the op's
``matrix`` (moving → fixed) recovers its inverse: rotation angle, scale, the displacement of
the image centre and of the corners. Moving images are cut from the warped full image, so
they have no empty border.
"""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest
import skimage.color
import skimage.data
from skimage.util import img_as_float32, img_as_uint

import imgstudio.api as api
from imgstudio.core.progress import Cancelled, Progress
from imgstudio.core.types import Registered
from imgstudio.ops.register import (
    EccRegistered,
    FeaturesRegistered,
    SitkRegistered,
    register_ecc,
    register_sitk,
    stitch,
)

DTYPES = [np.uint8, np.uint16, np.float32]
DTYPE_IDS = ["uint8", "uint16", "float32"]
dtypes = pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
kinds = pytest.mark.parametrize("kind", ["gray", "rgb"])

CATALOG = {
    "register.sitk": ({"image", "fixed"}, {"transform", "metric", "bins", "optimizer",
                                           "learning_rate", "iterations", "sampling"}),
    "register.ecc": ({"image", "fixed"}, {"motion", "iterations", "eps"}),
    "register.features": ({"image", "fixed"}, {"detector", "ratio", "ransac_threshold"}),
    "register.stitch": ({"images"}, {"mode", "warper"}),
}


# -- helpers ----------------------------------------------------------------------------------

def similarity(angle: float, scale: float, tx: float, ty: float, centre=(256.0, 256.0)):
    """3×3 rotation (degrees, counter-clockwise on screen) + scale about centre, then shift."""
    m = np.eye(3)
    m[:2] = cv2.getRotationMatrix2D(centre, angle, scale)
    m[:2, 2] += (tx, ty)
    return m


def cut_pair(base: np.ndarray, warp: np.ndarray, y0: int, x0: int, size: int):
    """``fixed`` = a crop of ``base``; ``moving`` = the same crop of ``base`` warped by ``warp``.

    Returns fixed, moving and the true moving → fixed matrix in crop coordinates.
    """
    rows, cols = base.shape[:2]
    warped = cv2.warpPerspective(base, warp, (cols, rows), flags=cv2.INTER_LINEAR)
    if base.ndim == 3 and warped.ndim == 2:
        warped = warped[..., None]
    shift = np.array([[1.0, 0, -x0], [0, 1, -y0], [0, 0, 1]])
    truth = shift @ np.linalg.inv(warp) @ np.linalg.inv(shift)
    crop = (slice(y0, y0 + size), slice(x0, x0 + size))
    return (np.ascontiguousarray(base[crop]), np.ascontiguousarray(warped[crop]),
            truth / truth[2, 2])


def corner_error(matrix: np.ndarray, truth: np.ndarray, shape) -> float:
    rows, cols = shape[:2]
    corners = np.float64([[[0, 0], [cols - 1, 0], [cols - 1, rows - 1], [0, rows - 1]]])
    got = cv2.perspectiveTransform(corners, np.asarray(matrix, float))[0]
    want = cv2.perspectiveTransform(corners, truth)[0]
    return float(np.abs(got - want).max())


def similarity_errors(matrix: np.ndarray, truth: np.ndarray, shape):
    """(angle error in degrees, relative scale error, displacement error of the centre)."""
    def angle(m):
        return np.degrees(np.arctan2(m[1, 0], m[0, 0]))

    def scale(m):
        return np.sqrt(abs(np.linalg.det(m[:2, :2])))

    centre = np.array([(shape[1] - 1) / 2, (shape[0] - 1) / 2, 1.0])
    shift = np.abs((matrix @ centre)[:2] - (truth @ centre)[:2]).max()
    return abs(angle(matrix) - angle(truth)), abs(scale(matrix) / scale(truth) - 1), shift


def as_dtype(image: np.ndarray, dtype) -> np.ndarray:
    return {np.uint8: np.array, np.uint16: img_as_uint, np.float32: img_as_float32}[dtype](image)


def ncc(a: np.ndarray, b: np.ndarray) -> float:
    a = a.astype(np.float64).ravel() - a.mean()
    b = b.astype(np.float64).ravel() - b.mean()
    return float(a @ b / np.sqrt((a @ a) * (b @ b)))


@pytest.fixture(scope="module")
def camera() -> np.ndarray:
    return skimage.data.camera()


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return skimage.data.astronaut()


def source(kind: str, dtype) -> np.ndarray:
    rgb = skimage.data.astronaut()
    base = rgb if kind == "rgb" else np.rint(skimage.color.rgb2gray(rgb) * 255).astype(np.uint8)
    return np.ascontiguousarray(as_dtype(base, dtype))


# -- catalog ----------------------------------------------------------------------------------

@pytest.mark.parametrize("op_id", sorted(CATALOG))
def test_catalog_inputs_and_parameters(op_id):
    spec = api.get_operation(op_id)
    inputs, params = CATALOG[op_id]
    assert {i.name for i in spec.inputs} == inputs
    assert params <= {p.name for p in spec.params}
    assert spec.summary and spec.takes_progress


def test_results_are_registered_dataclasses():
    for op_id, result in (("register.sitk", SitkRegistered), ("register.ecc", EccRegistered),
                          ("register.features", FeaturesRegistered)):
        spec = api.get_operation(op_id)
        assert spec.output.result_type is result and issubclass(result, Registered)


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


# -- register.stitch --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def wide() -> np.ndarray:
    """A 400 × 1112 RGB scene: astronaut and coffee side by side."""
    return np.ascontiguousarray(np.hstack([skimage.data.astronaut()[56:456],
                                           skimage.data.coffee()]))


FOCAL = 400.0
VIEW = (240, 320)  # rows, cols


@pytest.fixture(scope="module")
def scene(wide) -> np.ndarray:
    """The wide scene at 2/3 size: views of FOCAL 400 px turned by ±18° stay inside it."""
    return cv2.resize(wide, None, fx=2 / 3, fy=2 / 3, interpolation=cv2.INTER_AREA)


def rotated_view(scene: np.ndarray, yaw: float) -> np.ndarray:
    """What a camera (focal FOCAL) turned by yaw degrees sees of the scene plane at depth FOCAL."""
    rows, cols = scene.shape[:2]
    t = np.radians(yaw)
    rot = np.array([[np.cos(t), 0, np.sin(t)], [0, 1, 0], [-np.sin(t), 0, np.cos(t)]])
    k_view = np.array([[FOCAL, 0, (VIEW[1] - 1) / 2], [0, FOCAL, (VIEW[0] - 1) / 2], [0, 0, 1]])
    k_scene = np.array([[FOCAL, 0, (cols - 1) / 2], [0, FOCAL, (rows - 1) / 2], [0, 0, 1]])
    view_to_scene = k_scene @ rot @ np.linalg.inv(k_view)
    return cv2.warpPerspective(scene, view_to_scene, (VIEW[1], VIEW[0]),
                               flags=cv2.WARP_INVERSE_MAP | cv2.INTER_LINEAR)


def projected_scene(scene: np.ndarray, warper: str) -> np.ndarray:
    """The scene as seen on the warper's surface (closed form), 1 pixel = 1/FOCAL radian."""
    rows, cols = scene.shape[:2]
    if warper == "plane":
        return scene
    u, v = np.meshgrid(np.arange(-470, 470) / FOCAL, np.arange(-200, 200) / FOCAL)
    if warper == "cylindrical":  # ray (sin u, v, cos u)
        x, y = np.tan(u), v / np.cos(u)
    else:  # spherical: ray (sin u cos v, sin v, cos u cos v)
        x, y = np.tan(u), np.tan(v) / np.cos(u)
    map_x = (x * FOCAL + (cols - 1) / 2).astype(np.float32)
    map_y = (y * FOCAL + (rows - 1) / 2).astype(np.float32)
    return cv2.remap(scene, map_x, map_y, cv2.INTER_LINEAR, borderValue=0)


def best_match(haystack: np.ndarray, needle: np.ndarray) -> float:
    grey = [cv2.cvtColor(x, cv2.COLOR_RGB2GRAY).astype(np.float32) if x.ndim == 3
            else x.astype(np.float32) for x in (haystack, needle)]
    return float(cv2.matchTemplate(grey[0], grey[1], cv2.TM_CCOEFF_NORMED).max())


def test_stitch_scans_mosaic_of_three_crops_matches_the_source(wide):
    crops = [np.ascontiguousarray(wide[:, x:x + 480]) for x in (0, 310, 620)]
    mosaic = api.run("register.stitch", crops, mode="scans")
    assert mosaic.dtype == np.uint8 and mosaic.ndim == 3
    assert 1050 <= mosaic.shape[1] <= 1160 and 380 <= mosaic.shape[0] <= 420
    assert best_match(mosaic, wide[20:380, 20:1090]) >= 0.9


@pytest.mark.parametrize("warper", ["plane", "cylindrical", "spherical"])
def test_stitch_panorama_of_a_rotating_camera_matches_the_projected_scene(scene, warper):
    views = [rotated_view(scene, yaw) for yaw in (-18.0, 0.0, 18.0)]
    mosaic = api.run("register.stitch", views, mode="panorama", warper=warper)
    assert mosaic.shape[1] > 1.6 * VIEW[1]
    rows, cols = mosaic.shape[:2]
    centre = mosaic[rows // 6: rows - rows // 6, cols // 8: cols - cols // 8]
    assert best_match(projected_scene(scene, warper), centre) >= 0.9


def test_stitch_keeps_dtype_grey_and_marks_coverage_in_alpha(wide):
    crops = [np.ascontiguousarray(wide[::2, x:x + 480:2]) for x in (0, 310, 620)]
    grey16 = [img_as_uint(np.rint(skimage.color.rgb2gray(c) * 255).astype(np.uint8))
              for c in crops]
    mosaic = stitch(grey16, mode="scans")
    assert mosaic.dtype == np.uint16 and mosaic.ndim == 2
    assert best_match(mosaic, grey16[1][10:190, 10:230]) >= 0.9
    rgba = [np.dstack([c, np.full(c.shape[:2], 255, np.uint8)]) for c in crops[:2]]
    out = stitch(rgba, mode="scans")
    assert out.shape[2] == 4 and set(np.unique(out[..., 3])) <= {0, 255}
    assert (out[..., 3] == 255).mean() > 0.9


def test_stitch_errors_say_what_is_wrong(wide):
    with pytest.raises(ValueError, match="need more images"):
        api.run("register.stitch", [wide])
    apart = [np.ascontiguousarray(wide[:, :400]), np.ascontiguousarray(wide[:, 700:])]
    with pytest.raises(ValueError, match="not enough overlap"):
        api.run("register.stitch", apart, mode="scans")
    with pytest.raises(ValueError, match="warper"):
        api.run("register.stitch", [wide, wide], warper="fisheye")
    token = Progress()
    token.cancel()
    with pytest.raises(Cancelled):
        stitch([wide[:, :600], wide[:, 400:]], progress=token)
