"""Shared fixtures for the operation tests."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.color
from skimage.util import img_as_float32, img_as_ubyte, img_as_uint


@pytest.fixture
def make(astronaut_small):
    """``make(dtype, kind)``: the 64×96 astronaut crop as gray/rgb/rgba in ``dtype``."""

    def build(dtype=np.uint8, kind="rgb"):
        rgb = astronaut_small
        if kind == "gray":
            base = img_as_ubyte(skimage.color.rgb2gray(rgb))
        elif kind == "rgba":
            alpha = np.linspace(0, 255, rgb.shape[1]).astype(np.uint8)
            base = np.dstack([rgb, np.broadcast_to(alpha, rgb.shape[:2])])
        else:
            base = rgb
        convert = {np.uint8: np.array, np.uint16: img_as_uint, np.float32: img_as_float32}[dtype]
        return np.ascontiguousarray(convert(base))

    return build
