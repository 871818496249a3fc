"""Helpers shared by the segmentation operations: pixel rows, layer and seed checks, chunks.

Conventions used by every segmentation op:

- the alpha channel of RGBA is ignored (colour features are the RGB channels);
- "grey" is the ITU-R BT.601 luma (0.299 R + 0.587 G + 0.114 B) computed as
  ``basic.grayscale`` does: rounded back to the image's dtype for integer images;
- colour features are floats in [0, 1] (the dtype's full intensity maps to 1), so parameters do
  not depend on the dtype;
- Labels outputs are int32 (H, W) with 0 = unlabelled.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from imgstudio.core.progress import Progress
from imgstudio.core.types import check_labels
from imgstudio.ops._pixels import colour_part, to_unit

#: Most pixels handed to a clustering fit; the fitted model then labels every pixel.
FIT_SAMPLE = 20_000
#: Rows processed at once when labelling every pixel (bounds temporary memory).
CHUNK = 1 << 19


def pixels(image: np.ndarray) -> np.ndarray:
    """The colour channels as an (N, C) array in the image's dtype (C = 1 or 3)."""
    part = colour_part(image)
    return part.reshape(-1, 1 if part.ndim == 2 else 3)


def layer(labels: np.ndarray, image: np.ndarray, name: str) -> np.ndarray:
    """Check a Labels input against ``image``; return it as int32. ``ValueError`` names it."""
    labels = check_labels(labels, name)
    if labels.shape != image.shape[:2]:
        raise ValueError(
            f"{name} must have the image's size {image.shape[:2]}; got {labels.shape}"
        )
    if labels.dtype != bool and labels.size and labels.min() < 0:
        raise ValueError(f"{name} must be >= 0 (0 = unlabelled); got {labels.min()}")
    if labels.size and labels.max() > np.iinfo(np.int32).max:
        raise ValueError(f"{name} values must fit in int32; got {labels.max()}")
    return labels.astype(np.int32)


def seed_classes(seeds: np.ndarray, what: str = "labels") -> np.ndarray:
    """The positive values of a seeds layer, sorted; ``ValueError`` naming ``seeds`` unless there
    are at least two (``what`` names them in the message: "labels" or "classes")."""
    values = np.unique(seeds)
    values = values[values > 0]
    if len(values) == 0:
        raise ValueError(f"seeds is empty: paint at least two seed {what} (non-zero values)")
    if len(values) < 2:
        raise ValueError(f"seeds must contain at least two labels; got only {values[0]}")
    return values


def sample_rows(n: int, limit: int, rng: np.random.Generator) -> np.ndarray | None:
    """Indices of at most ``limit`` of ``n`` rows drawn without replacement; None = all rows."""
    if n <= limit:
        return None
    return np.sort(rng.choice(n, limit, replace=False))


def chunks(n: int, size: int = CHUNK) -> Iterator[slice]:
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


def map_chunks(
    n: int,
    func: Callable[[slice], np.ndarray],
    progress: Progress,
    message: str,
    size: int = CHUNK,
) -> np.ndarray:
    """Concatenate ``func(rows)`` over row chunks, reporting progress and honouring cancel."""
    parts = []
    for rows in chunks(n, size):
        parts.append(func(rows))
        progress(rows.stop / max(n, 1), message)
    return np.concatenate(parts) if parts else np.empty(0)


def nearest(rows: np.ndarray, centres: np.ndarray, progress: Progress, message: str) -> np.ndarray:
    """Index of the nearest centre (Euclidean, in [0, 1] units) for every raw pixel row."""
    centres = np.asarray(centres, dtype=np.float64)
    norms = (centres**2).sum(axis=1)
    size = max(1024, (1 << 22) // max(len(centres), 1))

    def assign(part: slice) -> np.ndarray:
        x = to_unit(rows[part])
        # |x - c|^2 = |x|^2 - 2 x.c + |c|^2; |x|^2 is the same for every centre
        return np.argmin(norms - 2.0 * (x @ centres.T), axis=1)

    return map_chunks(len(rows), assign, progress, message, size).astype(np.intp)


def distinct_count(rows: np.ndarray) -> int:
    """Number of distinct rows (call it on a fit sample, not on every pixel)."""
    return len(np.unique(rows, axis=0))
