"""Parametrisations and conversions shared by the operation tests (imported by name)."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.util import img_as_float32, img_as_uint

DTYPES = [np.uint8, np.uint16, np.float32]
DTYPE_IDS = ["uint8", "uint16", "float32"]
TOP = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0, np.dtype(np.float32): 1.0}
CONVERT = {np.uint8: np.array, np.uint16: img_as_uint, np.float32: img_as_float32}

dtypes = pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
kinds = pytest.mark.parametrize("kind", ["gray", "rgb"])


def convert(image: np.ndarray, dtype) -> np.ndarray:
    """A uint8 image in ``dtype`` with skimage's exact conversions (uint16 = x * 257, float32 =
    x / 255; so 0/255 masks become 0/65535 and 0.0/1.0), C-contiguous."""
    return np.ascontiguousarray(CONVERT[dtype](image))
