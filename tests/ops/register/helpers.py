"""Known warps and their error measures, shared by the registration tests (imported by name).

Every case warps a ``skimage.data`` image with a known matrix and checks that the op's
``matrix`` (moving → fixed) recovers its inverse: rotation angle, scale, the displacement of
the image centre and of the corners. Moving images are cut from the warped full image, so
they have no empty border."""

from __future__ import annotations

import cv2
import numpy as np
import skimage.color
import skimage.data
from skimage.util import img_as_float32, img_as_uint


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


def source(kind: str, dtype) -> np.ndarray:
    rgb = skimage.data.astronaut()
    base = rgb if kind == "rgb" else np.rint(skimage.color.rgb2gray(rgb) * 255).astype(np.uint8)
    return np.ascontiguousarray(as_dtype(base, dtype))
