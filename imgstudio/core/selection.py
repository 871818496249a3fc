"""Marks drawn over an image, as pixels: the selection, and markers from points.

:class:`Selection` is a rectangle or polygon of image pixels that ops are restricted to. It is
part of the document model, not of a widget: the canvas holds one, the ROI tools make it, the
Results dock sets it from a table row, and Apply passes its :meth:`Selection.bbox` and
:meth:`Selection.mask` to :func:`~imgstudio.core.apply.prepare_operation`. Points are image
coordinates with pixel ``j`` spanning ``[j, j+1)``; a polygon covers the pixels whose centres
are inside it. :func:`markers_from_points` draws watershed markers around clicked points (the
editor's Layer → Points to Markers). Numpy only: the ops import this module too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from imgstudio.core.types import Region, check_points


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


#: Radius in pixels of the marker disc drawn around each point by :meth:`~imgstudio.core.workspace.Workspace.points_to_markers`.
MARKER_RADIUS = 3


def markers_from_points(points: np.ndarray, shape: tuple[int, int], radius: int = MARKER_RADIUS
                        ) -> np.ndarray:
    """Markers from click-placed points: a disc of ``radius`` around each, labelled 1..N.

    Parameters
    ----------
    points : (N, 2) array
        Centres in (x, y) pixel coordinates, rounded to the nearest pixel.
    shape : (H, W)
        Size of the image the markers are for.
    radius : int
        Disc radius in pixels (0 = the centre pixel only); discs are clipped to the image and a
        later point overwrites an earlier one where discs overlap.

    Returns
    -------
    (H, W) int32 ndarray
    """
    points = check_points(points, "points")
    if len(shape) != 2 or min(int(s) for s in shape) < 1:
        raise ValueError(f"shape must be (H, W) with positive sizes; got {shape!r}")
    if radius < 0:
        raise ValueError(f"radius must be >= 0; got {radius}")
    h, w = (int(s) for s in shape)
    markers = np.zeros((h, w), np.int32)
    r = int(radius)
    dy, dx = np.mgrid[-r : r + 1, -r : r + 1]
    disc = dx**2 + dy**2 <= r * r
    dy, dx = dy[disc], dx[disc]
    for i, (x, y) in enumerate(points):
        cx, cy = int(np.rint(x)), int(np.rint(y))
        if not (0 <= cx < w and 0 <= cy < h):
            raise ValueError(f"points[{i}] = ({x}, {y}) is outside the {w}x{h} image")
        yy, xx = cy + dy, cx + dx
        keep = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
        markers[yy[keep], xx[keep]] = i + 1
    return markers
