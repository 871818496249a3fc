"""The Colour picker in the real window: a click reads the pixel, makes it the foreground
colour (the status-bar swatch), reports it, and fills the open form's colour parameter."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

import imgstudio.core.spec as spec_module
from imgstudio.core import registry
from imgstudio.core.spec import operation
from imgstudio.core.types import Color, Image
from imgstudio.gui.color_pick import color_of
from tests.gui.canvas_events import at, click


@pytest.fixture
def tint_op() -> Iterator[str]:
    @operation("test.tint", title="Tint", menu="Test")
    def tint(image: Image, *, color: Color = Color(0, 0, 0)) -> Image:
        """Fill with a colour (a stand-in for an op with a colour parameter)."""
        out = np.empty_like(image)
        out[...] = (color.r, color.g, color.b)
        return out

    registry.refresh()
    yield "test.tint"
    spec_module._PENDING.pop("test.tint", None)
    spec_module._DECLARED.pop("test.tint", None)
    registry.refresh()


def test_picking_sets_the_foreground_and_the_forms_colour(window, png, astronaut_small,
                                                         qtbot, tint_op):
    assert window.files.open_files([str(png)]) == []
    window.operation_panel.set_operation(tint_op)
    window.set_tool("picker")
    qtbot.wait(50)
    x, y = 30, 20
    click(window.canvas, at(window.canvas, x + 0.5, y + 0.5))
    want = Color(*(int(v) for v in astronaut_small[y, x]))
    picker = window.color_picker
    assert picker.foreground == want
    assert want.hex() in picker.swatch.toolTip() and want.hex() in picker.swatch.styleSheet()
    assert want.hex() in window.message_bar.current_text()
    assert window.operation_panel.form.values()["color"] == want


def test_a_labels_value_is_reported_not_made_a_colour(window, png, qtbot):
    window.files.open_files([str(png)])
    labels = np.zeros((64, 96), np.int32)
    labels[10:20, 10:20] = 3
    from imgstudio.core.document import LabelsLayer

    layer = LabelsLayer(labels, "Seeds")
    window.workspace.document.append(layer)
    window.workspace.document.active = layer
    window.set_tool("picker")
    qtbot.wait(50)
    before = window.color_picker.foreground
    click(window.canvas, at(window.canvas, 15.5, 15.5))
    assert window.color_picker.foreground == before
    assert "Picked value (3)" in window.message_bar.current_text()


@pytest.mark.parametrize(("value", "dtype", "want"), [
    ((10, 20, 30), np.dtype(np.uint8), Color(10, 20, 30)),
    ((10, 20, 30, 0), np.dtype(np.uint8), Color(10, 20, 30)),
    ((65535,), np.dtype(np.uint16), Color(255, 255, 255)),
    ((0.5, 0.0, 1.0), np.dtype(np.float32), Color(128, 0, 255)),
    ((7, 9), np.dtype(np.uint8), None),
])
def test_color_of(value, dtype, want):
    assert color_of(value, dtype) == want
