"""Canvas tools driven by real mouse and key events: brush, eraser, points, ROI, picker."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from skimage.draw import disk
from skimage.measure import points_in_poly

from imgstudio.core.types import Region
from imgstudio.gui.canvas.view import CanvasView
from imgstudio.gui.tools import TOOL_CLASSES, Selection
from tests.gui.canvas_events import RIGHT, at, click, drag, make_view, move, press, release

ZOOM = 3.0


@pytest.fixture
def view(qtbot, workspace) -> CanvasView:
    v = make_view(qtbot, workspace)
    v.set_zoom(ZOOM)
    v.fit()  # centre the 96x64 image...
    v.set_zoom(ZOOM)  # ...then a whole-number zoom, offset stays whole pixels
    return v


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
    assert workspace.history.steps[-1].label == "Brush stroke"
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
    assert workspace.history.steps[-1].label == "Erase"
    workspace.history.undo()
    assert (labels.data == 2).all()


def test_brush_on_an_image_layer_does_nothing_but_say_why(view, workspace, qtbot):
    image = workspace.document[0]
    before = image.data.copy()
    steps = len(workspace.history.steps)
    view.set_tool("brush")
    with qtbot.waitSignal(view.message) as sig:
        drag(view, [at(view, 10, 10), at(view, 30, 30)])
    assert "labels layer" in sig.args[0]
    np.testing.assert_array_equal(image.data, before)
    assert len(workspace.history.steps) == steps


def test_brush_settings_validate(view, qtbot):
    with qtbot.waitSignal(view.brush_size_changed):
        view.brush_size = 21
    with pytest.raises(ValueError, match="brush_label"):
        view.brush_label = 0
    with pytest.raises(ValueError, match="brush_size"):
        view.brush_size = 0


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
    assert [s.label for s in workspace.history.steps[-3:]] == ["Add point", "Add point",
                                                               "Move point"]
    workspace.history.undo()
    np.testing.assert_allclose(layer.data[0], expected[0])
    workspace.history.redo()
    # right-click deletes
    click(view, p2, RIGHT)
    assert len(layer.data) == 1
    assert workspace.history.steps[-1].label == "Delete point"
    workspace.history.undo()
    assert len(layer.data) == 2


def test_delete_key_removes_the_hovered_point(view, workspace):
    layer = workspace.new_points_layer()
    layer.data = np.array([[10.0, 10.0], [40.0, 20.0]])
    view.set_tool("points")
    move(view, at(view, 40.5, 20.5))
    QTest.keyClick(view, Qt.Key.Key_Delete)
    np.testing.assert_allclose(layer.data, [[10.0, 10.0]])


def test_points_need_an_active_points_layer(view, workspace, qtbot):
    view.set_tool("points")
    with qtbot.waitSignal(view.message) as sig:
        click(view, at(view, 10, 10))
    assert "points layer" in sig.args[0]


# -- ROI ----------------------------------------------------------------------------------------
def test_rect_drag_selects_the_pixel_box(view, qtbot):
    view.set_tool("rect")
    with qtbot.waitSignal(view.selection_changed) as sig:
        drag(view, [at(view, 10, 5), at(view, 20, 15), at(view, 30, 25)])
    sel = sig.args[0]
    assert sel is view.selection and sel.kind == "rect"
    assert sel.bbox() == Region.from_xywh(10, 5, 20, 20)
    mask = sel.mask((64, 96))
    expected = np.zeros((64, 96), bool)
    expected[5:25, 10:30] = True
    np.testing.assert_array_equal(mask, expected)
    QTest.keyClick(view, Qt.Key.Key_Escape)
    assert view.selection is None


def test_rect_is_clipped_to_the_image(view):
    view.set_tool("rect")
    drag(view, [at(view, 80, 50), at(view, 120, 90)])
    assert view.selection.bbox() == Region.from_xywh(80, 50, 16, 14)


def test_polygon_clicks_then_double_click_close_it(view, qtbot):
    view.set_tool("polygon")
    corners = [(10.2, 10.2), (50.2, 12.2), (40.2, 50.2)]
    for x, y in corners[:-1]:
        click(view, at(view, x, y))
    move(view, at(view, *corners[-1]))
    with qtbot.waitSignal(view.selection_changed):
        click(view, at(view, *corners[-1]))
        QTest.mouseDClick(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                          at(view, *corners[-1]))
    sel = view.selection
    assert sel.kind == "polygon" and len(sel.points) == 3
    pts = np.array([view.map_to_image(at(view, x, y).toPointF()) for x, y in corners])
    np.testing.assert_allclose(sel.points, pts)
    yy, xx = np.mgrid[:64, :96] + 0.5
    inside = points_in_poly(np.c_[xx.ravel(), yy.ravel()], pts).reshape(64, 96)
    differ = sel.mask() != inside
    assert differ.sum() <= 2  # at most pixel centres lying on an edge
    assert sel.bbox() == Region(int(pts[:, 1].min()), math.ceil(pts[:, 1].max()),
                                int(pts[:, 0].min()), math.ceil(pts[:, 0].max()))


def test_polygon_enter_closes_and_escape_cancels(view):
    view.set_tool("polygon")
    for x, y in [(5, 5), (30, 5), (30, 30)]:
        click(view, at(view, x, y))
    QTest.keyClick(view, Qt.Key.Key_Return)
    assert view.selection is not None and view.selection.kind == "polygon"
    click(view, at(view, 50, 50))
    QTest.keyClick(view, Qt.Key.Key_Escape)  # cancels the polygon being drawn...
    assert view.selection is not None
    QTest.keyClick(view, Qt.Key.Key_Escape)  # ...then clears the selection
    assert view.selection is None


def test_selection_rejects_unknown_kinds():
    with pytest.raises(ValueError, match="kind"):
        Selection("ellipse", np.zeros((2, 2)), (10, 10))


# -- picker and tool switching ------------------------------------------------------------------
def test_picker_emits_the_active_layer_value(view, workspace, qtbot):
    image = workspace.document[0].data
    view.set_tool("picker")
    with qtbot.waitSignal(view.color_picked) as sig:
        click(view, at(view, 12.5, 7.5))
    assert sig.args == [tuple(int(v) for v in image[7, 12])]


def test_picker_on_labels_picks_the_brush_label(view, workspace, qtbot):
    labels = workspace.new_labels_layer()
    labels.data[7, 12] = 6
    view.set_tool("picker")
    with qtbot.waitSignal(view.color_picked) as sig:
        click(view, at(view, 12.5, 7.5))
    assert sig.args == [(6,)] and view.brush_label == 6


def test_set_tool_emits_and_rejects_unknown_names(view, qtbot):
    with qtbot.waitSignal(view.tool_changed) as sig:
        view.set_tool("brush")
    assert sig.args == ["brush"] and view.tool == "brush"
    with pytest.raises(ValueError, match="tool"):
        view.set_tool("lasso")


def test_every_tool_has_a_distinct_shortcut():
    names = {"pan", "brush", "eraser", "points", "rect", "polygon", "picker", "place"}
    assert set(TOOL_CLASSES) == names
    shortcuts = [cls.shortcut for cls in TOOL_CLASSES.values()]
    assert len(set(shortcuts)) == len(shortcuts) and all(shortcuts)
    assert TOOL_CLASSES["pan"].shortcut == "H" and TOOL_CLASSES["brush"].shortcut == "B"


def test_brush_outline_follows_the_cursor(view, workspace, qtbot):
    workspace.new_labels_layer()
    view.set_tool("brush")
    with qtbot.waitSignal(view.painted):
        move(view, at(view, 30, 30))
    assert view.tools["brush"].hover is not None
    press(view, at(view, 30, 30))
    release(view, at(view, 30, 30))


def test_place_tool_reports_the_dragged_pixel(view, qtbot):
    view.set_tool("place")
    seen = []
    view.position_picked.connect(lambda x, y: seen.append((x, y)))
    drag(view, [at(view, 10.5, 12.5), at(view, 20.5, 15.5), at(view, 30.5, 18.5)])
    assert seen[0] == (10, 12) and seen[-1] == (30, 18)
