"""Fixtures shared by the restoration-operation tests: small crops and ``make_small``."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data
from scipy import ndimage

from tests.ops.helpers import convert


@pytest.fixture(scope="module")
def small_rgb() -> np.ndarray:
    """A 40×48 RGB uint8 crop of the astronaut."""
    return np.ascontiguousarray(skimage.data.astronaut()[100:260:4, 150:342:4])


@pytest.fixture
def make_small(small_rgb):
    """``make_small(dtype, kind)``: for the restoration ops, ``small_rgb`` as rgb, or its red
    channel as gray, in ``dtype`` (the operation tests' ``make`` on this smaller crop)."""

    def build(dtype=np.uint8, kind="rgb"):
        base = small_rgb if kind == "rgb" else small_rgb[..., 0]
        return convert(base, dtype)

    return build


@pytest.fixture(scope="module")
def rgb() -> np.ndarray:
    image = skimage.data.astronaut()[::8, ::8][8:56, 8:56].astype(float)
    return np.clip(np.rint(ndimage.gaussian_filter(image, (1, 1, 0))), 0, 255).astype(np.uint8)
