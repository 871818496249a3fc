"""Helpers shared by the enhancement operations: alpha, dtype scaling, strips with progress."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from imgstudio.core.progress import Progress
from imgstudio.core.types import dtype_max

#: Estimated run time (ns) above which a local filter runs in horizontal strips, so that it
#: reports progress and can be cancelled; below it the library is called once on the whole image.
STRIP_WORK = 5e8
#: Rows per strip are chosen so that a strip holds about this many pixels.
STRIP_PIXELS = 1 << 22  # large strips: few halo rows and OpenCV threads stay busy


def token(progress: Progress | None) -> Progress:
    """``progress`` or a fresh token when the op is called directly without one."""
    return progress if progress is not None else Progress()


def split_alpha(image: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """The grey/RGB part of ``image`` (contiguous) and its alpha plane, or None without alpha."""
    if image.ndim == 3 and image.shape[2] == 4:
        return np.ascontiguousarray(image[..., :3]), image[..., 3]
    return image, None


def with_alpha(colour: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    """``colour`` with ``alpha`` put back as a fourth channel (unchanged when None)."""
    if alpha is None:
        return colour
    out = np.empty(colour.shape[:2] + (4,), colour.dtype)
    out[..., :3] = colour
    out[..., 3] = alpha
    return out


def to_unit(image: np.ndarray, dtype: type = np.float32) -> np.ndarray:
    """``image`` as floats in [0, 1]; a float32 input is returned as is (do not write to it)."""
    if image.dtype == dtype:
        return image
    out = image.astype(dtype)
    if image.dtype.kind != "f":
        out *= dtype(1.0 / dtype_max(image.dtype))
    return out


def from_unit(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Floats in [0, 1] → ``dtype``: clipped, and rounded for integer dtypes."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return np.clip(values, 0.0, 1.0).astype(dtype, copy=False)
    scaled = values * dtype_max(dtype)
    np.clip(scaled, 0.0, dtype_max(dtype), out=scaled)
    return np.rint(scaled, out=scaled).astype(dtype)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """``image`` scaled and rounded to uint8 (returned as is when already uint8)."""
    if image.dtype == np.uint8:
        return image
    return from_unit(to_unit(image), np.uint8)


def luma(image: np.ndarray) -> np.ndarray:
    """Float32 luma in [0, 1] (BT.601 weights) of a grey, RGB or RGBA image."""
    unit = to_unit(image)
    if unit.ndim == 2:
        return unit
    r, g, b = (unit[..., i] for i in range(3))
    return (0.299 * r + 0.587 * g + 0.114 * b).astype(np.float32, copy=False)


def in_strips(
    image: np.ndarray,
    fn: Callable[[np.ndarray], np.ndarray],
    *,
    halo: int,
    cost: float,
    progress: Progress,
    message: str,
    start: float = 0.0,
    stop: float = 1.0,
) -> np.ndarray:
    """Apply the local filter ``fn`` to ``image``, in horizontal strips when the work is large.

    ``fn`` must only look ``halo`` rows above and below each output row; each strip is then
    taken with ``halo`` extra rows on both sides, so the stitched result equals ``fn(image)``
    exactly. ``cost``, the estimated time in ns per value (pixel × channel, measured on one
    core), decides whether strips are worth it: cheap calls run once on the whole image, with
    no extra copy. Reports progress between strips.
    """
    h, w = image.shape[:2]
    rows = max(16, 4 * halo, STRIP_PIXELS // max(w, 1))
    progress(start, message)
    if image.size * cost < STRIP_WORK or h <= rows:
        out = fn(image)
        progress(stop, message)
        return out
    out: np.ndarray | None = None
    for r0 in range(0, h, rows):
        r1 = min(h, r0 + rows)
        a, b = max(0, r0 - halo), min(h, r1 + halo)
        part = fn(image[a:b])
        if out is None:
            out = np.empty((h,) + part.shape[1:], part.dtype)
        out[r0:r1] = part[r0 - a : r1 - a]
        progress(start + (stop - start) * r1 / h, message)
    assert out is not None
    return out


def check_same_size(name: str, other: np.ndarray, image: np.ndarray) -> None:
    """``ValueError`` naming ``name`` when ``other`` is not the size of ``image``."""
    if other.shape[:2] != image.shape[:2]:
        raise ValueError(
            f"{name} must have the size of image {image.shape[:2]}; got {other.shape[:2]}"
        )
