"""Fixtures for the canvas-tool tests: a shown canvas at a whole-number zoom."""

from __future__ import annotations

import pytest

from imgstudio.gui.canvas.view import CanvasView
from tests.gui.canvas_events import make_view
from tests.gui.tools.helpers import ZOOM


@pytest.fixture
def view(qtbot, workspace) -> CanvasView:
    v = make_view(qtbot, workspace)
    v.set_zoom(ZOOM)
    v.fit()  # centre the 96x64 image...
    v.set_zoom(ZOOM)  # ...then a whole-number zoom, offset stays whole pixels
    return v
