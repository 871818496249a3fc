"""Helpers shared by the enhancement operations: strips with progress, size checks."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from imgstudio.core.progress import Progress

#: Estimated run time (ns) above which a local filter runs in horizontal strips, so that it
#: reports progress and can be cancelled; below it the library is called once on the whole image.
STRIP_WORK = 5e8
#: Rows per strip are chosen so that a strip holds about this many pixels.
STRIP_PIXELS = 1 << 22  # large strips: few halo rows and OpenCV threads stay busy


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
