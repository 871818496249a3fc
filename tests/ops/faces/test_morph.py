"""faces.morph and its maths (imgstudio.ops.faces.morph), on real faces and synthetic shapes."""

from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np
import pytest

import imgstudio.api as api
from imgstudio.ops.faces.morph import (
    add_border_points,
    average_shape,
    border_points,
    delaunay_triangles,
    morph_frame,
    morph_sequence,
    prepare_pair,
)


@pytest.fixture(scope="module")
def moved(astro) -> np.ndarray:
    """Her picture rotated by 8°, scaled by 0.85 and shifted: the face moves ~40 px."""
    matrix = cv2.getRotationMatrix2D((256, 256), 8, 0.85)
    matrix[:, 2] += (20, 15)
    return cv2.warpAffine(astro, matrix, (512, 512), borderMode=cv2.BORDER_REFLECT)


@pytest.fixture(scope="module")
def landmarks(astro, moved) -> tuple[np.ndarray, np.ndarray]:
    return api.run("faces.landmarks", astro), api.run("faces.landmarks", moved)


def square(centre, half, size=(120, 160)) -> np.ndarray:
    """A float32 gray image with a white axis-aligned square on black."""
    image = np.zeros(size, np.float32)
    (cx, cy) = centre
    image[round(cy - half):round(cy + half) + 1, round(cx - half):round(cx + half) + 1] = 1.0
    return image


def corners(centre, half) -> np.ndarray:
    cx, cy = centre
    return np.array([[cx - half, cy - half], [cx + half, cy - half], [cx + half, cy + half],
                     [cx - half, cy + half]], dtype=float)


# -- the maths --------------------------------------------------------------------------------


def test_average_shape_is_the_weighted_mean():
    a = np.array([[0.0, 0.0], [10.0, 4.0]])
    b = np.array([[4.0, 8.0], [2.0, 0.0]])
    assert np.allclose(average_shape(a, b, 0.25), 0.75 * a + 0.25 * b)
    assert np.array_equal(average_shape(a, b, 0.0), a)
    with pytest.raises(ValueError, match="same shape"):
        average_shape(a, b[:1], 0.5)


def test_border_points_are_the_corners_and_edge_middles():
    points = add_border_points(np.array([[5.0, 6.0]]), (11, 21))
    assert points.shape == (9, 2) and np.array_equal(points[0], [5, 6])
    assert np.array_equal(points[1:], border_points((11, 21)))
    assert {tuple(p) for p in points[1:]} == {(0, 0), (10, 0), (20, 0), (20, 5), (20, 10),
                                              (10, 10), (0, 10), (0, 5)}


def test_delaunay_triangles_tile_the_image():
    points = add_border_points(np.array([[30.0, 20.0], [60.0, 50.0], [20.0, 70.0]]), (81, 101))
    triangles = delaunay_triangles(points, (81, 101))
    u, v = (points[triangles[:, k]] - points[triangles[:, 0]] for k in (1, 2))
    area = np.abs(u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0]) / 2
    assert np.isclose(area.sum(), 100 * 80)  # the whole image, no overlap, no gap
    assert (area > 0).all() and triangles.shape[1] == 3
    with pytest.raises(ValueError, match="inside"):
        delaunay_triangles(np.array([[0, 0], [200, 0], [0, 50]]), (81, 101))
    with pytest.raises(ValueError, match="collinear"):
        delaunay_triangles(np.array([[0, 0], [10, 10], [20, 20]]), (81, 101))


def test_morph_frame_moves_a_square_to_the_average_position():
    """Hand-placed points on a non-face: the in-between square sits at the average place."""
    a_centre, b_centre = (40.0, 40.0), (110.0, 75.0)
    img_a, img_b = square(a_centre, 15), square(b_centre, 25)
    pts_a = add_border_points(corners(a_centre, 15), img_a.shape)
    pts_b = add_border_points(corners(b_centre, 25), img_b.shape)
    frame = morph_frame(img_a, img_b, pts_a, pts_b, 0.5)
    assert frame.dtype == np.float32 and frame.shape == img_a.shape
    # both squares land on the average square (centre (75, 57.5), half-side 20): one white
    # square, no ghosts
    expected = square((75.0, 57.5), 20)
    assert np.mean(np.abs(frame - expected)) < 0.01  # measured 0.004 (edge pixels)
    ys, xs = np.nonzero(frame > 0.5)
    assert abs(xs.mean() - 75) <= 0.5 and abs(ys.mean() - 57.5) <= 0.5


def test_morph_frame_needs_same_shape_and_dtype():
    a = np.zeros((10, 10), np.uint8)
    pts = add_border_points(np.zeros((0, 2)), a.shape)
    with pytest.raises(ValueError, match="same shape"):
        morph_frame(a, np.zeros((10, 11), np.uint8), pts, pts, 0.5)
    with pytest.raises(ValueError, match="alpha"):
        morph_frame(a, a, pts, pts, 1.5)


def test_hand_placed_points_work_without_dlib():
    code = (
        "import sys, numpy as np, imgstudio.api as api\n"
        "a = np.zeros((60, 80), np.uint8); a[10:30, 10:30] = 255\n"
        "b = np.zeros((60, 80), np.uint8); b[20:50, 40:70] = 255\n"
        "pa = np.array([[10, 10], [29, 10], [29, 29], [10, 29]], float)\n"
        "pb = np.array([[40, 20], [69, 20], [69, 49], [40, 49]], float)\n"
        "out = api.run('faces.morph', a, b, points_a=pa, points_b=pb, alpha=0.5)\n"
        "print(out.shape, out.dtype, 'dlib' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "(60, 80) uint8 False"


# -- faces.morph on faces ---------------------------------------------------------------------


def test_morph_ends_reproduce_the_images(astro, moved):
    # measured: max error 0 at both ends (each image warped onto its own points is the
    # identity, and the triangles are rasterised once: no seams)
    start = api.run("faces.morph", astro, moved, alpha=0.0)
    end = api.run("faces.morph", astro, moved, alpha=1.0)
    assert start.dtype == np.uint8 and start.shape == astro.shape
    assert np.abs(start.astype(int) - astro).max() <= 1
    assert np.abs(end.astype(int) - moved).max() <= 1


def test_morph_midpoint_face_has_the_average_shape(astro, moved, landmarks):
    pts_a, pts_b = landmarks
    assert np.linalg.norm(pts_a - pts_b, axis=1).mean() > 30  # the faces really differ (40 px)
    frame = api.run("faces.morph", astro, moved)
    found = api.run("faces.landmarks", frame)
    error = np.linalg.norm(found - average_shape(pts_a, pts_b, 0.5), axis=1)
    assert error.mean() <= 2.0  # measured 0.62 px (max 1.8)


def test_morph_with_given_points_equals_detected_points(astro, moved, landmarks):
    pts_a, pts_b = landmarks
    given = api.run("faces.morph", astro, moved, points_a=pts_a, points_b=pts_b, alpha=0.3)
    assert np.array_equal(given, api.run("faces.morph", astro, moved, alpha=0.3))


def test_morph_sequence_runs_from_image_to_other(astro, moved, landmarks):
    frames = morph_sequence(astro, moved, *landmarks, frames=4)
    assert len(frames) == 4
    assert np.abs(frames[0].astype(int) - astro).max() <= 1
    assert np.abs(frames[-1].astype(int) - moved).max() <= 1
    third = api.run("faces.morph", astro, moved, *landmarks, alpha=1 / 3)
    assert np.array_equal(frames[1], third)
    with pytest.raises(ValueError, match="frames"):
        morph_sequence(astro, moved, *landmarks, frames=1)


def test_morph_resizes_other_and_its_points():
    a_centre, b_centre = (40.0, 40.0), (110.0, 75.0)
    img_a = (square(a_centre, 15) * 255).astype(np.uint8)
    img_b = (square(b_centre, 25) * 255).astype(np.uint8)
    half_b = cv2.resize(img_b, (80, 60), interpolation=cv2.INTER_AREA)  # other at half size
    pts_b_half = (corners(b_centre, 25) + 0.5) / 2 - 0.5
    full = api.run("faces.morph", img_a, img_b, corners(a_centre, 15), corners(b_centre, 25))
    half = api.run("faces.morph", img_a, half_b, corners(a_centre, 15), pts_b_half)
    assert half.shape == img_a.shape
    assert np.abs(half.astype(int) - full).mean() < 3  # same morph, other blurrier


def test_prepare_pair_gives_morph_frame_what_the_operation_uses():
    a_centre, b_centre = (40.0, 40.0), (40.0, 30.0)
    img_a = (square(a_centre, 15) * 255).astype(np.uint8)
    small_b = (square(b_centre, 20, size=(60, 80)) * 255).astype(np.uint8)  # other at half size
    pts_a, pts_b = corners(a_centre, 15), corners(b_centre, 20)
    image, other, pa, pb = prepare_pair(img_a, small_b, pts_a, pts_b)
    assert other.shape == image.shape == img_a.shape and len(pa) == len(pb) == 4 + 8
    np.testing.assert_allclose(pb[:4], (pts_b + 0.5) * 2 - 0.5)  # scaled with the image
    np.testing.assert_allclose(pa[4:], border_points(img_a.shape))
    for alpha in (0.0, 0.4):
        op = api.run("faces.morph", img_a, small_b, pts_a, pts_b, alpha=alpha)
        assert np.array_equal(morph_frame(image, other, pa, pb, alpha), op)
    with pytest.raises(ValueError, match="same number of points"):
        prepare_pair(img_a, small_b, pts_a, pts_b[:3])


def test_morph_converts_other_to_image_layout(astro, moved, landmarks):
    rgba16 = np.dstack([astro, np.full(astro.shape[:2], 255, np.uint8)]).astype(np.uint16) * 257
    gray = cv2.cvtColor(moved, cv2.COLOR_RGB2GRAY)
    out = api.run("faces.morph", rgba16, gray, *landmarks)
    assert out.shape == rgba16.shape and out.dtype == np.uint16
    assert (out[..., 3] == 65535).all()  # gray other counts as opaque
    end = api.run("faces.morph", rgba16, gray, *landmarks, alpha=1.0)
    assert np.abs(end[..., 0] / 257.0 - gray).max() <= 1  # gray replicated into RGB


def test_morph_does_not_mutate(astro, moved, landmarks):
    copies = [astro.copy(), moved.copy(), landmarks[0].copy(), landmarks[1].copy()]
    api.run("faces.morph", astro, moved, *landmarks)
    for before, after in zip(copies, [astro, moved, *landmarks], strict=True):
        assert np.array_equal(before, after)


def test_morph_bad_params(astro, moved, landmarks):
    pts_a, pts_b = landmarks
    with pytest.raises(ValueError, match="points_a and points_b"):
        api.run("faces.morph", astro, moved, points_a=pts_a, points_b=pts_b[:10])
    with pytest.raises(ValueError, match="points_a"):
        api.run("faces.morph", astro, moved, points_a=pts_a + 600, points_b=pts_b)
    with pytest.raises(ValueError, match="points_b"):
        api.run("faces.morph", astro, moved, points_a=pts_a, points_b=np.ones((68, 3)))
    with pytest.raises(ValueError, match="alpha"):
        api.run("faces.morph", astro, moved, alpha=1.5)
    with pytest.raises(ValueError, match="frames"):
        api.run("faces.morph", astro, moved, frames=1)
    with pytest.raises(ValueError, match="no face found in other"):
        api.run("faces.morph", astro, np.zeros((64, 64, 3), np.uint8), points_a=pts_a)
