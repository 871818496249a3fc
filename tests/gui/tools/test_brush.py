"""Brush and eraser (imgstudio.gui.tools.brush) driven by real mouse events: exact discs along
the path, one undo step per stroke, the outline under the cursor."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from skimage.draw import disk

from imgstudio.core.history import RemoveLayer
from tests.gui.canvas_events import at, drag, move, press, release


def capsules(centres, radius, shape):
    """Reference: pixels whose centres are closer than radius to any segment of the path."""
    yy, xx = np.mgrid[: shape[0], : shape[1]] + 0.5
    out = np.zeros(shape, bool)
    pairs = [(centres[0], centres[0])] + list(zip(centres[:-1], centres[1:], strict=True))
    for (ax, ay), (bx, by) in pairs:
        dx, dy = bx - ax, by - ay
        n = dx * dx + dy * dy
        t = np.clip(((xx - ax) * dx + (yy - ay) * dy) / n, 0, 1) if n else 0.0
        out |= (xx - ax - t * dx) ** 2 + (yy - ay - t * dy) ** 2 < radius**2
    return out


def brush_centre(view, pos: QPoint, size: int):
    x, y = view.map_to_image(pos.toPointF())
    if size % 2:
        return math.floor(x) + 0.5, math.floor(y) + 0.5
    return float(round(x)), float(round(y))


# -- brush and eraser ---------------------------------------------------------------------------
@pytest.mark.parametrize("size", [5, 4])
def test_brush_stroke_paints_exactly_the_discs_along_the_path(view, workspace, size):
    labels = workspace.new_labels_layer()
    steps_before = len(workspace.history.steps)
    view.set_tool("brush")
    view.brush_label, view.brush_size = 4, size
    path = [at(view, 10.2, 10.2), at(view, 40.7, 12.1), at(view, 42.3, 50.6), at(view, 43, 51)]
    drag(view, path)
    centres = [brush_centre(view, p, size) for p in path]
    expected = capsules(centres, size / 2, labels.shape)
    np.testing.assert_array_equal(labels.data == 4, expected)
    assert set(np.unique(labels.data)) == {0, 4}
    # the stroke's first dab is the skimage disk around the first centre
    cx, cy = centres[0]
    rr, cc = disk((cy - 0.5, cx - 0.5), size / 2, shape=labels.shape)
    assert (labels.data[rr, cc] == 4).all()
    # one history step for the whole stroke; undo restores zeros, redo repaints
    assert len(workspace.history.steps) == steps_before + 1
    assert workspace.history.steps[-1].label == f"Brush stroke on {labels.name}"
    workspace.history.undo()
    assert not labels.data.any()
    workspace.history.redo()
    np.testing.assert_array_equal(labels.data == 4, expected)


def test_eraser_clears_to_zero_in_one_step(view, workspace):
    labels = workspace.new_labels_layer()
    labels.data[:] = 2
    view.set_tool("eraser")
    view.brush_size = 3
    drag(view, [at(view, 5.5, 30.5), at(view, 60.5, 30.5)])
    erased = labels.data == 0
    assert erased[30, 5:61].all() and erased[29:32, 10].all()
    assert not erased[27, 10] and not erased[30, 70]
    assert workspace.history.steps[-1].label == f"Erase on {labels.name}"
    workspace.history.undo()
    assert (labels.data == 2).all()


def test_brush_on_an_image_layer_offers_a_labels_layer(view, workspace, qtbot, screenshot_dir):
    image = workspace.document[0]
    before = image.data.copy()
    steps = len(workspace.history.steps)
    view.set_tool("brush")
    drag(view, [at(view, 10, 10), at(view, 30, 30)])
    # nothing painted, nothing recorded; the hint says why and has a button
    np.testing.assert_array_equal(image.data, before)
    assert len(workspace.history.steps) == steps
    assert view.hint.isVisible() and "labels" in view.hint.text and image.name in view.hint.text
    assert view.hint.button.isVisible() and view.hint.button.text() == "Create a labels layer"
    view.hint.grab().save(str(screenshot_dir / "brush_hint_create_labels.png"))
    view.grab().save(str(screenshot_dir / "brush_hint_on_canvas.png"))
    qtbot.mouseClick(view.hint.button, Qt.MouseButton.LeftButton)
    labels = workspace.document.active
    assert labels.kind.value == "labels" and labels.shape == image.shape
    assert labels.opacity == 0.5
    assert not view.hint.isVisible()
    assert len(workspace.history.steps) == steps + 1
    # the next stroke goes to the new layer
    view.brush_size = 3
    drag(view, [at(view, 20.5, 20.5), at(view, 40.5, 20.5)])
    assert (labels.data[20, 20:41] == view.brush_label).all()
    np.testing.assert_array_equal(image.data, before)
    assert workspace.history.steps[-1].label == f"Brush stroke on {labels.name}"
    workspace.history.undo()
    workspace.history.undo()
    assert labels not in workspace.document


def test_eraser_hint_and_its_close_button(view, workspace, qtbot):
    view.set_tool("eraser")
    press(view, at(view, 10, 10))
    release(view, at(view, 10, 10))
    assert view.hint.isVisible() and "eraser" in view.hint.text
    qtbot.mouseClick(view.hint.close_button, Qt.MouseButton.LeftButton)
    assert not view.hint.isVisible()
    assert len(workspace.document) == 1


def test_brush_hint_goes_away_when_the_tool_or_layer_changes(view, workspace):
    view.set_tool("brush")
    press(view, at(view, 10, 10))
    release(view, at(view, 10, 10))
    assert view.hint.isVisible()
    view.set_tool("pan")
    assert not view.hint.isVisible()
    view.set_tool("brush")
    press(view, at(view, 10, 10))
    release(view, at(view, 10, 10))
    workspace.new_labels_layer()  # made active elsewhere (Layers panel)
    assert not view.hint.isVisible()


def test_brush_without_an_image_says_so(qtbot, view, workspace):
    workspace.history.execute(RemoveLayer(workspace.document, workspace.document[0]))
    view.set_tool("brush")
    with qtbot.waitSignal(view.message) as sig:
        press(view, QPoint(20, 20))
    release(view, QPoint(20, 20))
    assert "Open an image" in sig.args[0]
    assert not view.hint.isVisible()


def test_brush_settings_validate(view, qtbot):
    with qtbot.waitSignal(view.brush_size_changed):
        view.brush_size = 21
    with pytest.raises(ValueError, match="brush_label"):
        view.brush_label = 0
    with pytest.raises(ValueError, match="brush_size"):
        view.brush_size = 0


def test_brush_outline_follows_the_cursor(view, workspace, qtbot):
    workspace.new_labels_layer()
    view.set_tool("brush")
    with qtbot.waitSignal(view.painted):
        move(view, at(view, 30, 30))
    assert view.tools["brush"].hover is not None
    press(view, at(view, 30, 30))
    release(view, at(view, 30, 30))
