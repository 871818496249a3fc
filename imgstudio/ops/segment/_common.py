"""Helpers shared by the segmentation operations: grey/colour features, layer checks, chunks.

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
from typing import Any

import numpy as np

from imgstudio.core.progress import Cancelled, Progress
from imgstudio.core.types import check_labels, dtype_max

LUMA = np.array([0.299, 0.587, 0.114])
#: Most pixels handed to a clustering fit; the fitted model then labels every pixel.
FIT_SAMPLE = 20_000
#: Rows processed at once when labelling every pixel (bounds temporary memory).
CHUNK = 1 << 19


def colour(image: np.ndarray) -> np.ndarray:
    """The colour channels: ``image`` itself for grey, the RGB channels of RGB(A)."""
    return image if image.ndim == 2 else image[..., :3]


def luma(image: np.ndarray) -> np.ndarray:
    """BT.601 luma in the image's dtype (rounded for integer dtypes); grey is returned as is."""
    if image.ndim == 2:
        return image
    values = image[..., :3].astype(np.float64) @ LUMA
    if image.dtype.kind == "f":
        return np.clip(values, 0.0, 1.0).astype(image.dtype)
    return np.clip(np.rint(values), 0, dtype_max(image.dtype)).astype(image.dtype)


def grey_unit(image: np.ndarray) -> np.ndarray:
    """The luma as float64 in [0, 1]."""
    return luma(image).astype(np.float64) / dtype_max(image.dtype)


def grey_255(image: np.ndarray) -> np.ndarray:
    """The luma as float32 on the 8-bit scale [0, 255], whatever the dtype."""
    return (luma(image).astype(np.float64) * (255.0 / dtype_max(image.dtype))).astype(np.float32)


def pixels(image: np.ndarray) -> np.ndarray:
    """The colour channels as an (N, C) array in the image's dtype (C = 1 or 3)."""
    part = colour(image)
    return part.reshape(-1, 1 if part.ndim == 2 else 3)


def unit(rows: np.ndarray, dtype: np.dtype, float_type: type = np.float64) -> np.ndarray:
    """Raw pixel ``rows`` of ``dtype`` as floats in [0, 1]."""
    return rows.astype(float_type) / float_type(dtype_max(dtype))


def from_unit(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Floats in [0, 1] to ``dtype`` (clipped, rounded for integers)."""
    top = dtype_max(dtype)
    scaled = np.clip(np.asarray(values, dtype=np.float64), 0.0, 1.0) * top
    if np.dtype(dtype).kind == "f":
        return scaled.astype(dtype)
    return np.rint(scaled).astype(dtype)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """The image scaled to uint8 (rounded); a uint8 image is returned as is."""
    if image.dtype == np.uint8:
        return image
    return np.rint(image.astype(np.float64) * (255.0 / dtype_max(image.dtype))).astype(np.uint8)


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


def as_labels(values: np.ndarray) -> np.ndarray:
    """Labels output: C-contiguous int32."""
    return np.ascontiguousarray(values, dtype=np.int32)


def token(progress: Progress | None) -> Progress:
    """``progress`` or a silent token, so ops can be called directly without one."""
    return progress if progress is not None else Progress()


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


def nearest(
    rows: np.ndarray, dtype: np.dtype, centres: np.ndarray, progress: Progress, message: str
) -> np.ndarray:
    """Index of the nearest centre (Euclidean, in [0, 1] units) for every raw pixel row."""
    centres = np.asarray(centres, dtype=np.float64)
    norms = (centres**2).sum(axis=1)
    size = max(1024, (1 << 22) // max(len(centres), 1))

    def assign(part: slice) -> np.ndarray:
        x = unit(rows[part], dtype)
        # |x - c|^2 = |x|^2 - 2 x.c + |c|^2; |x|^2 is the same for every centre
        return np.argmin(norms - 2.0 * (x @ centres.T), axis=1)

    return map_chunks(len(rows), assign, progress, message, size).astype(np.intp)


def distinct_count(rows: np.ndarray) -> int:
    """Number of distinct rows (call it on a fit sample, not on every pixel)."""
    return len(np.unique(rows, axis=0))


def run_sitk(filt: Any, inputs: tuple, progress: Progress, message: str) -> Any:
    """Execute a SimpleITK filter object, forwarding its progress and aborting it on Cancel."""
    import SimpleITK as sitk

    done = [0.0]

    def report() -> None:
        done[0] = max(done[0], filt.GetProgress())  # nested filters may restart their count
        try:
            progress(done[0], message)
        except Cancelled:
            filt.Abort()

    filt.AddCommand(sitk.sitkProgressEvent, report)
    try:
        return filt.Execute(*inputs)
    except RuntimeError:
        progress.check()  # raises Cancelled when that is why the filter stopped
        raise
