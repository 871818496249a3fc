"""Helpers shared by the basic operations (dtype casting, tone curves, warps)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from imgstudio.core.types import dtype_max


def _cast(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Clip float ``values`` (in intensity units of ``dtype``) to its range; round for ints."""
    top = dtype_max(dtype)
    if np.dtype(dtype).kind == "f":
        return np.clip(values, 0.0, top).astype(dtype, copy=False)
    return np.clip(np.rint(values), 0.0, top).astype(dtype)


def _tone(image: np.ndarray, curve: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Apply a tone ``curve`` (intensity units in, intensity units out) to the colour channels.

    Integer images go through an exact lookup table computed in float64; float images are
    mapped directly. An alpha channel is carried through untouched.
    """
    dtype = image.dtype
    if dtype.kind == "f":

        def mapped(x: np.ndarray) -> np.ndarray:
            return _cast(curve(x), dtype)

    else:
        lut = _cast(curve(np.arange(int(dtype_max(dtype)) + 1, dtype=np.float64)), dtype)

        def mapped(x: np.ndarray) -> np.ndarray:
            return lut[x]

    if image.ndim == 3 and image.shape[2] == 4:
        out = image.copy()
        out[..., :3] = mapped(image[..., :3])
        return out
    return mapped(image)


def _as_float(image: np.ndarray) -> np.ndarray:
    """``image`` as float64 in [0, 1]."""
    return image.astype(np.float64) / dtype_max(image.dtype)


def _require_rgb(image: np.ndarray) -> np.ndarray:
    """The RGB channels of an RGB(A) image; ``ValueError`` naming ``image`` for grey."""
    if image.ndim != 3:
        raise ValueError(f"image must be RGB or RGBA (H, W, 3|4); got grey shape {image.shape}")
    return image[..., :3]


def _cv_interp(name: str) -> int:
    import cv2

    return {
        "nearest": cv2.INTER_NEAREST,
        "linear": cv2.INTER_LINEAR,
        "cubic": cv2.INTER_CUBIC,
        "area": cv2.INTER_AREA,
        "lanczos": cv2.INTER_LANCZOS4,
    }[name]


def _finish_warp(warped: np.ndarray, image: np.ndarray) -> np.ndarray:
    """Restore the channel axis OpenCV drops and clip float results to [0, 1]."""
    if image.ndim == 3 and warped.ndim == 2:
        warped = warped[..., None]
    if image.dtype.kind == "f":
        warped = np.clip(warped, 0.0, 1.0)
    return warped.astype(image.dtype, copy=False)
