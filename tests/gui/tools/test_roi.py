"""Region-of-interest tools (imgstudio.gui.tools.roi): rectangle and polygon selections from
real mouse and key events."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from skimage.measure import points_in_poly

from imgstudio.core.types import Region
from tests.gui.canvas_events import at, click, drag, move

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
