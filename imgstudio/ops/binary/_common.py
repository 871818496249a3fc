"""Helpers shared by the binary operations: mask inputs and row strips."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from imgstudio.core.progress import Progress
from imgstudio.core.types import IMAGE_DTYPES, check_image
from imgstudio.ops._pixels import colour_part


def check_mask_input(image: np.ndarray, name: str = "image") -> np.ndarray:
    """``image`` checked as an Image, or as a 2-D bool/integer mask on direct calls."""
    if isinstance(image, np.ndarray) and image.ndim == 2 and image.dtype not in IMAGE_DTYPES and (
        image.dtype == bool or np.issubdtype(image.dtype, np.integer)
    ):
        return image
    return check_image(image, name)


def foreground(image: np.ndarray, name: str = "image") -> np.ndarray:
    """Boolean (H, W): pixels where any colour channel is > 0 (alpha is ignored)."""
    image = check_mask_input(image, name)
    fg = colour_part(image) > 0
    return fg.any(axis=2) if fg.ndim == 3 else fg


def binary_mask(image: np.ndarray, name: str = "image", op: str = "") -> np.ndarray:
    """Boolean (H, W) foreground of a binary image; ``ValueError`` naming ``name`` otherwise.

    Binary means every colour value is 0 or one single other value (0/1, 0/255, 0/65535,
    0.0/1.0...); foreground is where any colour channel is non-zero. Alpha is ignored.
    """
    image = check_mask_input(image, name)
    colour = colour_part(image)
    top = colour.max()
    if not np.all((colour == 0) | (colour == top)):
        values = np.unique(colour)
        shown = ", ".join(f"{v:g}" for v in values[:4]) + (", ..." if len(values) > 4 else "")
        what = f" for {op}" if op else ""
        raise ValueError(
            f"{name} must be binary{what} (0 and one other value); got {len(values)} distinct "
            f"values ({shown}) — threshold it first with binary.threshold"
        )
    fg = colour != 0
    return fg.any(axis=2) if fg.ndim == 3 else fg


def by_row_strips(
    height: int,
    margin: int,
    func: Callable[[int, int], np.ndarray],
    out: np.ndarray,
    progress: Progress,
    message: str,
    strips: int = 8,
) -> np.ndarray:
    """Fill ``out`` strip by strip: ``func(a, b)`` computes rows ``[a, b)`` of the image.

    Each strip is computed with ``margin`` extra rows on both sides (clipped to the image) and
    only its own rows are kept, so a local operation whose output depends on inputs at most
    ``margin`` rows away gives exactly the whole-image result. Strips are at least
    ``4 * margin`` rows high so that the overlap costs at most half again; ``progress`` is
    called after each strip (and may raise ``Cancelled``).
    """
    rows = max(-(-height // strips), 4 * margin, 64)
    progress(0.0, message)
    for start in range(0, height, rows):
        stop = min(height, start + rows)
        a, b = max(0, start - margin), min(height, stop + margin)
        block = func(a, b)
        out[start:stop] = block[start - a: start - a + (stop - start)]
        progress(stop / height, message)
    return out
