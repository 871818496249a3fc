"""register.stitch (imgstudio.ops.register.stitch): scans mosaics and panoramas rebuilt from
crops of a known scene."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import skimage.color
import skimage.data
from skimage.util import img_as_uint

import imgstudio.api as api
from imgstudio.core.progress import Cancelled, Progress
from imgstudio.ops.register import stitch

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
