"""Fixtures shared by the face-operation tests: the astronaut (Eileen Collins) and her detected
landmarks."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import skimage.data

import imgstudio.api as api


@pytest.fixture(scope="module")
def astro() -> np.ndarray:
    return skimage.data.astronaut()


@pytest.fixture(scope="module")
def astro_small(astro) -> np.ndarray:
    """Half size (256²) so that the slow CNN detector runs in about a second."""
    return cv2.resize(astro, (256, 256), interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="module")
def p68(astro) -> np.ndarray:
    return api.run("faces.landmarks", astro)


@pytest.fixture(scope="module")
def p5(astro) -> np.ndarray:
    return api.run("faces.landmarks", astro, model=5)
