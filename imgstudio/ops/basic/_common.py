"""Helpers shared by the basic operations: tone curves, RGB checks, OpenCV interpolation."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from imgstudio.core.types import dtype_max
from imgstudio.ops._pixels import clip_to_dtype


def _tone(image: np.ndarray, curve: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Apply a tone ``curve`` (intensity units in, intensity units out) to the colour channels.

    Integer images go through an exact lookup table computed in float64; float images are
    mapped directly. An alpha channel is carried through untouched.
    """
    dtype = image.dtype
    if dtype.kind == "f":

        def mapped(x: np.ndarray) -> np.ndarray:
            return clip_to_dtype(curve(x), dtype)

    else:
        lut = clip_to_dtype(curve(np.arange(int(dtype_max(dtype)) + 1, dtype=np.float64)), dtype)

        def mapped(x: np.ndarray) -> np.ndarray:
            return lut[x]

    if image.ndim == 3 and image.shape[2] == 4:
        out = image.copy()
        out[..., :3] = mapped(image[..., :3])
        return out
    return mapped(image)


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
