"""The selection: a rectangle or polygon of image pixels that ops are restricted to.

Part of the document model, not of a widget: the canvas holds one, the ROI tools make it, the
Results dock sets it from a table row, and Apply passes its :meth:`Selection.bbox` and
:meth:`Selection.mask` to :func:`~imgstudio.core.apply.prepare_operation`. Points are image
coordinates with pixel ``j`` spanning ``[j, j+1)``; a polygon covers the pixels whose centres
are inside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from imgstudio.core.types import Region


@dataclass(frozen=True, eq=False)
class Selection:
    """A rectangle or polygon on an image of ``image_shape`` (H, W)."""

    kind: str  # "rect" or "polygon"
    points: np.ndarray = field(repr=False)  # (N, 2) x, y; a rect is its two corners
    image_shape: tuple[int, int]

    def __post_init__(self) -> None:
        if self.kind not in ("rect", "polygon"):
            raise ValueError(f"kind must be 'rect' or 'polygon'; got {self.kind!r}")
        pts = np.array(self.points, dtype=float).reshape(-1, 2)
        pts.flags.writeable = False
        object.__setattr__(self, "points", pts)

    def bbox(self) -> Region:
        """The :class:`~imgstudio.core.types.Region` of pixels the selection touches, clipped
        to the image (empty, ``y1 == y0``, when it lies outside)."""
        h, w = self.image_shape[:2]
        (x0, y0), (x1, y1) = self.points.min(axis=0), self.points.max(axis=0)
        x0, y0 = max(0, math.floor(x0)), max(0, math.floor(y0))
        x1, y1 = min(w, math.ceil(x1)), min(h, math.ceil(y1))
        return Region(y0, max(y0, y1), x0, max(x0, x1))

    def mask(self, shape: tuple[int, ...] | None = None) -> np.ndarray:
        """Bool (H, W) mask of the selected pixels (pixel centres inside the shape)."""
        h, w = (shape or self.image_shape)[:2]
        out = np.zeros((h, w), bool)
        if self.kind == "rect":
            (x0, y0), (x1, y1) = self.points.min(axis=0), self.points.max(axis=0)
            cols = slice(max(0, math.ceil(x0 - 0.5)), max(0, math.ceil(x1 - 0.5)))
            rows = slice(max(0, math.ceil(y0 - 0.5)), max(0, math.ceil(y1 - 0.5)))
            out[rows, cols] = True
            return out
        from skimage.draw import polygon  # lazy: only when a mask is asked for

        rr, cc = polygon(self.points[:, 1] - 0.5, self.points[:, 0] - 0.5, (h, w))
        out[rr, cc] = True
        return out

    def __repr__(self) -> str:
        return f"Selection({self.kind!r}, {len(self.points)} points, bbox={self.bbox()})"
