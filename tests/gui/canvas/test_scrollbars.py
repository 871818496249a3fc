"""Canvas scrollbars: they show only when there is more to see, dragging them pans the view,
panning the view moves them."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

from imgstudio.core.history import RemoveLayer
from imgstudio.gui.canvas.scrollbars import bar_range
from tests.gui.canvas_events import at, drag, make_view

ZOOM_IN = 10.0  # the 96x64 test image becomes 960x640 screen px in a 400x300 view


@pytest.fixture
def view(qtbot, workspace):
    return make_view(qtbot, workspace)


def _drag_handle(bar, along: int) -> None:
    """Drag ``bar``'s handle by ``along`` px with real mouse events (the handle sits at the
    bar's value; start on the middle of the groove part it covers)."""
    horizontal = bar.orientation() == Qt.Orientation.Horizontal
    span = bar.width() if horizontal else bar.height()
    pages = bar.maximum() - bar.minimum() + bar.pageStep()
    handle = span * bar.pageStep() / pages
    start_px = (bar.value() - bar.minimum()) / pages * span + handle / 2
    start = QPoint(int(start_px), bar.height() // 2) if horizontal else QPoint(
        bar.width() // 2, int(start_px))
    end = start + (QPoint(along, 0) if horizontal else QPoint(0, along))
    QTest.mousePress(bar, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    for i in range(1, 6):
        QTest.mouseMove(bar, start + (end - start) * (i / 5))
    QTest.mouseRelease(bar, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)


def test_bar_range_spans_image_and_view():
    assert bar_range(1000, 400, 0) == (0, 600)        # image wider than the view
    assert bar_range(1000, 400, 100) == (-100, 600)   # panned right past the left edge
    assert bar_range(300, 400, 50) == (-50, -50)      # fits, centred: nothing to scroll


def test_no_scrollbars_while_the_whole_image_fits(view):
    assert not view.scrollbars.horizontal.isVisible()
    assert not view.scrollbars.vertical.isVisible()


def test_zooming_in_shows_bars_at_the_edges(view, qtbot, screenshot_dir):
    view.set_zoom(ZOOM_IN)
    hbar, vbar = view.scrollbars.horizontal, view.scrollbars.vertical
    assert hbar.isVisible() and vbar.isVisible()
    h, w = view.image_shape()
    assert hbar.maximum() - hbar.minimum() == pytest.approx(w * ZOOM_IN - view.width(), abs=2)
    assert hbar.value() == -view.offset.x() and vbar.value() == -view.offset.y()
    assert hbar.geometry().bottom() == view.height() - 1
    assert vbar.geometry().right() == view.width() - 1
    assert view.scrollbars.corner.isVisible()
    view.grab().save(str(screenshot_dir / "canvas_scrollbars.png"))


def test_dragging_a_scrollbar_pans_the_view(view, qtbot):
    view.set_zoom(ZOOM_IN)
    hbar, vbar = view.scrollbars.horizontal, view.scrollbars.vertical
    region = view.visible_region()
    value = hbar.value()
    _drag_handle(hbar, 60)
    assert hbar.value() > value
    assert view.offset.x() == -hbar.value()
    y0, y1, x0, x1 = view.visible_region()
    assert x0 > region[2] and (y0, y1) == region[:2]
    # vertical too
    region = view.visible_region()
    _drag_handle(vbar, -40)
    assert view.visible_region()[0] < region[0]
    assert view.offset.y() == -vbar.value()


def test_pan_tool_moves_the_scrollbars(view):
    view.set_zoom(ZOOM_IN)
    view.set_tool("pan")
    hbar, vbar = view.scrollbars.horizontal, view.scrollbars.vertical
    h0, v0 = hbar.value(), vbar.value()
    p = at(view, 30, 30)
    drag(view, [p, p + QPointF(-50, -30).toPoint()])
    assert hbar.value() == h0 + 50 and vbar.value() == v0 + 30


def test_wheel_zoom_and_fit_update_the_bars(view):
    view.set_zoom(ZOOM_IN)
    assert view.scrollbars.horizontal.isVisible()
    view.fit()
    assert not view.scrollbars.horizontal.isVisible()


def test_bars_hide_when_the_image_goes(view, workspace):
    view.set_zoom(ZOOM_IN)
    workspace.history.execute(RemoveLayer(workspace.document, workspace.document[0]))
    assert not view.scrollbars.horizontal.isVisible()
    assert not view.scrollbars.vertical.isVisible()
    assert not view.scrollbars.corner.isVisible()
