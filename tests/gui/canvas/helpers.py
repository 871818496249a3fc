"""Random test images shared by the rendering and pyramid tests (imported by name)."""

from __future__ import annotations

import numpy as np

RNG = np.random.default_rng(7)


def rgb(h=30, w=40, channels=3):
    return RNG.integers(0, 256, (h, w, channels), dtype=np.uint8)
