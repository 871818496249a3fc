"""GUI test fixtures: a workspace on a small real image, a folder for screenshots."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from imgstudio.core.document import Document, ImageLayer
from imgstudio.core.workspace import Workspace

SCREENSHOTS = Path(os.environ.get("IMGSTUDIO_TEST_OUTPUT", "test-output")) / "screenshots"


@pytest.fixture
def workspace(astronaut_small) -> Workspace:
    ws = Workspace(Document([ImageLayer(astronaut_small.copy(), "astronaut")]))
    yield ws
    ws.close()


@pytest.fixture
def screenshot_dir() -> Path:
    """Where GUI tests save window grabs (look at them: test-output/screenshots)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
def rgb_image() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (120, 160, 3), dtype=np.uint8)
