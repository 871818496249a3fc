"""Image pyramids for zoomed-out display: levels /2, /4, ... built lazily, updated by region.

Level ``L`` pixel ``(i, j)`` is the mean of the ``2**L``-square block of level-0 pixels starting
at ``(i * 2**L, j * 2**L)``; each level is the exact 2x2 area average of the previous one
(``cv2.resize`` with ``INTER_AREA``), with an odd last row or column dropped, so a changed
region can be recomputed on its own and gives the same pixels as a full rebuild. Qt-free.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from imgstudio.core.types import Region

#: Stop halving when a level would be smaller than this in either dimension.
MIN_LEVEL_SIZE = 8


def _halve(block: np.ndarray) -> np.ndarray:
    h, w = block.shape[0] // 2, block.shape[1] // 2
    src = block[: 2 * h, : 2 * w]
    if src.ndim == 3 and src.shape[2] == 1:
        src = src[:, :, 0]
    return cv2.resize(src, (w, h), interpolation=cv2.INTER_AREA)


class Pyramid:
    """The levels of one array; level 0 is the array itself (never copied)."""

    def __init__(self, data: np.ndarray) -> None:
        self.data = data
        self._levels: list[np.ndarray] = [data]

    @property
    def max_level(self) -> int:
        h, w = self.data.shape[:2]
        smallest = min(h, w)
        if smallest < 2 * MIN_LEVEL_SIZE:
            return 0
        return int(math.floor(math.log2(smallest / MIN_LEVEL_SIZE)))

    @property
    def built(self) -> int:
        """How many levels exist now (level 0 included)."""
        return len(self._levels)

    def level(self, index: int) -> np.ndarray:
        """Level ``index`` (clamped to :attr:`max_level`), building missing levels."""
        index = max(0, min(index, self.max_level))
        while len(self._levels) <= index:
            self._levels.append(_halve(self._levels[-1]))
        return self._levels[index]

    def update(self, region: Region) -> None:
        """Recompute the built levels inside ``region`` (level-0 pixels, end-exclusive)."""
        y0, y1, x0, x1 = region
        for index in range(1, len(self._levels)):
            prev, cur = self._levels[index - 1], self._levels[index]
            y0, x0 = y0 // 2, x0 // 2
            y1 = min(cur.shape[0], -(-y1 // 2))
            x1 = min(cur.shape[1], -(-x1 // 2))
            if y1 <= y0 or x1 <= x0:
                return
            cur[y0:y1, x0:x1] = _halve(prev[2 * y0 : 2 * y1, 2 * x0 : 2 * x1]).reshape(
                cur[y0:y1, x0:x1].shape
            )

    @property
    def nbytes(self) -> int:
        return sum(int(lv.nbytes) for lv in self._levels[1:])


def level_for_zoom(zoom: float) -> int:
    """The coarsest level whose resolution is still at least ``zoom`` screen px per pixel."""
    if zoom >= 1.0:
        return 0
    return max(0, int(math.floor(math.log2(1.0 / zoom) + 1e-9)))
