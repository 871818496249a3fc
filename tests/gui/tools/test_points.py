"""Points tool (imgstudio.gui.tools.points): add, drag and delete points with real mouse and
key events, with undo."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from tests.gui.canvas_events import RIGHT, at, click, drag, move
from tests.gui.tools.helpers import ZOOM

# -- points -------------------------------------------------------------------------------------


def test_points_add_drag_delete_with_undo(view, workspace):
    layer = workspace.new_points_layer()
    view.set_tool("points")
    p1, p2 = at(view, 20.4, 30.4), at(view, 60.2, 15.2)
    click(view, p1)
    click(view, p2)
    expected = [np.subtract(view.map_to_image(p.toPointF()), 0.5) for p in (p1, p2)]
    np.testing.assert_allclose(layer.data, expected)
    # drag point 1 (grab it 3 screen px off centre) to a new place
    grab = p1 + QPoint(2, 2)
    shift = QPoint(90, 45)
    drag(view, [grab, grab + QPoint(5, 5), grab + shift])
    np.testing.assert_allclose(layer.data[0], expected[0] + np.array([90, 45]) / ZOOM)
    assert len(layer.data) == 2
    assert [s.label for s in workspace.history.steps[-3:]] == [
        f"Add point on {layer.name}", f"Add point on {layer.name}", f"Move point on {layer.name}"]
    workspace.history.undo()
    np.testing.assert_allclose(layer.data[0], expected[0])
    workspace.history.redo()
    # right-click deletes
    click(view, p2, RIGHT)
    assert len(layer.data) == 1
    assert workspace.history.steps[-1].label == f"Delete point on {layer.name}"
    workspace.history.undo()
    assert len(layer.data) == 2


def test_delete_key_removes_the_hovered_point(view, workspace):
    layer = workspace.new_points_layer()
    layer.data = np.array([[10.0, 10.0], [40.0, 20.0]])
    view.set_tool("points")
    move(view, at(view, 40.5, 20.5))
    QTest.keyClick(view, Qt.Key.Key_Delete)
    np.testing.assert_allclose(layer.data, [[10.0, 10.0]], atol=1 / ZOOM)


def test_points_without_a_points_layer_offer_to_create_one(view, workspace, qtbot):
    view.set_tool("points")
    steps = len(workspace.history.steps)
    click(view, at(view, 10, 10))
    assert view.hint.isVisible() and "points layer" in view.hint.text
    assert len(workspace.history.steps) == steps  # nothing added by the refused click
    qtbot.mouseClick(view.hint.button, Qt.MouseButton.LeftButton)
    layer = workspace.document.active
    assert layer.kind.value == "points" and not view.hint.isVisible()
    assert workspace.history.steps[-1].label == "New points layer"
    click(view, at(view, 10.5, 10.5))
    np.testing.assert_allclose(layer.data, [[10.0, 10.0]], atol=1 / ZOOM)
