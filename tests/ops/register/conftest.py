"""Fixtures shared by the registration-operation tests."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data


@pytest.fixture(scope="module")
def camera() -> np.ndarray:
    return skimage.data.camera()
