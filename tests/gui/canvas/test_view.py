"""CanvasView: zoom, pan, fit, coordinate mapping, pixel readout, previews, paint signals."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest
from shiboken6 import isValid

from imgstudio.core.document import Shape, ShapesLayer
from imgstudio.gui.canvas.view import MAX_ZOOM, MIN_ZOOM, CanvasView
from imgstudio.gui.palette_colors import LABEL_ALPHA, label_color
from tests.gui.canvas_events import MIDDLE, at, drag, grab_color, make_view, move, wheel


@pytest.fixture
def view(qtbot, workspace) -> CanvasView:
    return make_view(qtbot, workspace)


@pytest.fixture
def image(workspace) -> np.ndarray:
    return workspace.document[0].data


# -- zoom and fit -------------------------------------------------------------------------------
def test_starts_fitted_to_the_window(view, image):
    h, w = image.shape[:2]
    assert view.zoom == pytest.approx(min(400 / w, 300 / h))
    assert view.visible_region() == (0, h, 0, w)


def test_fit_shows_the_whole_image_centred(view, image):
    view.set_zoom(7.0)
    view.fit()
    h, w = image.shape[:2]
    top_left, bottom_right = view.map_from_image(0, 0), view.map_from_image(w, h)
    assert top_left.x() >= 0 and top_left.y() >= 0
    assert bottom_right.x() <= 400 and bottom_right.y() <= 300
    assert 400 - bottom_right.x() <= 1 or 300 - bottom_right.y() <= 1  # touches one side
    assert abs(top_left.x() - (400 - bottom_right.x())) <= 1  # centred
    assert view.visible_region() == (0, h, 0, w)


def test_fit_follows_resizes_until_the_user_zooms(view, qtbot):
    view.resize(200, 150)
    qtbot.waitUntil(lambda: view.zoom == pytest.approx(min(200 / 96, 150 / 64)))
    view.set_zoom(3.0)
    view.resize(400, 300)
    qtbot.wait(10)
    assert view.zoom == 3.0


def test_actual_size_is_zoom_1(view):
    view.actual_size()
    assert view.zoom == 1.0


def test_zoom_steps_are_1_25_and_clamped(view, qtbot):
    view.set_zoom(2.0)
    with qtbot.waitSignal(view.zoom_changed) as sig:
        view.zoom_in()
    assert sig.args == [2.5]
    view.zoom_out()
    assert view.zoom == pytest.approx(2.0)
    view.set_zoom(1000)
    assert view.zoom == MAX_ZOOM
    view.set_zoom(0)
    assert view.zoom == MIN_ZOOM


def test_set_zoom_keeps_the_anchor_point(view):
    anchor = QPointF(123, 77)
    before = view.map_to_image(anchor)
    view.set_zoom(9.0, anchor)
    after = view.map_from_image(*before)
    assert abs(after.x() - anchor.x()) <= 1 and abs(after.y() - anchor.y()) <= 1


@pytest.mark.parametrize("delta", [120, -120, 360])
def test_wheel_zooms_around_the_cursor(view, delta):
    view.set_zoom(2.0)
    pos = QPointF(151, 97)
    ix, iy = view.map_to_image(pos)
    wheel(view, pos, delta)
    assert view.zoom == pytest.approx(2.0 * 1.25 ** (delta / 120))
    after = view.map_from_image(ix, iy)
    assert abs(after.x() - pos.x()) <= 1 and abs(after.y() - pos.y()) <= 1


# -- panning ------------------------------------------------------------------------------------
def test_middle_drag_pans_by_the_drag_distance(view):
    view.set_zoom(4.0)
    start = view.offset
    drag(view, [at(view, 20, 20), at(view, 20, 20) + QPointF(30, -20).toPoint()], MIDDLE)
    assert view.offset - start == QPointF(30, -20)


def test_space_and_left_drag_pans_whatever_the_tool(view, qtbot):
    view.set_zoom(4.0)
    view.set_tool("rect")
    start = view.offset
    QTest.keyPress(view, Qt.Key.Key_Space)
    p = at(view, 20, 20)
    drag(view, [p, p + QPointF(-25, 15).toPoint()])
    QTest.keyRelease(view, Qt.Key.Key_Space)
    assert view.offset - start == QPointF(-25, 15)
    assert view.selection is None


def test_pan_tool_left_drag_pans(view):
    view.set_zoom(4.0)
    view.set_tool("pan")
    start = view.offset
    p = at(view, 30, 30)
    drag(view, [p, p + QPointF(10, 12).toPoint()])
    assert view.offset - start == QPointF(10, 12)


def test_panning_cannot_lose_the_image(view):
    view.pan_by(100000, 100000)
    assert view.offset.x() < view.width() and view.offset.y() < view.height()


# -- mapping and readout ------------------------------------------------------------------------
def test_map_to_and_from_image_round_trip(view):
    view.set_zoom(3.3, QPointF(17, 29))
    for x, y in [(0, 0), (12.25, 40.5), (95.9, 63.1)]:
        back = view.map_to_image(view.map_from_image(x, y))
        assert back == pytest.approx((x, y))


def test_visible_region_when_zoomed_in(view):
    view.set_zoom(8.0)
    y0, y1, x0, x1 = view.visible_region()
    assert (x1 - x0) == pytest.approx(400 / 8, abs=2) and (y1 - y0) == pytest.approx(300 / 8, abs=2)
    a, b = view.map_to_image(QPointF(0, 0)), view.map_to_image(QPointF(400, 300))
    assert x0 == int(a[0]) and y0 == int(a[1]) and x1 >= b[0] and y1 >= b[1]


def test_cursor_info_reports_rgb_under_the_cursor(view, image, qtbot):
    with qtbot.waitSignal(view.cursor_info) as sig:
        move(view, at(view, 12.5, 40.5))
    r, g, b = image[40, 12]
    assert sig.args == [f"x 12  y 40  RGB {r}, {g}, {b}"]


def test_cursor_info_for_labels_float_and_outside(view, workspace, qtbot):
    labels = workspace.new_labels_layer()
    labels.data[5, 7] = 3
    move(view, at(view, 7.5, 5.5))
    assert view.pixel_info(QPointF(at(view, 7.5, 5.5))) == "x 7  y 5  label 3"
    workspace.document.active = workspace.document[0]
    workspace.document[0].data = np.full((64, 96), 0.532, np.float32)
    assert view.pixel_info(QPointF(at(view, 1.5, 1.5))) == "x 1  y 1  value 0.532"
    with qtbot.waitSignal(view.cursor_info) as sig:
        move(view, at(view, -3, -3))
    assert sig.args == [""]


# -- preview ------------------------------------------------------------------------------------
def test_preview_of_a_region_shows_the_array_and_clear_restores(view, workspace, image):
    layer = workspace.document[0]
    before = image.copy()
    red = np.zeros((20, 40, 3), np.uint8)
    red[..., 0] = 255
    view.set_preview(layer, red, region=(10, 30, 20, 60))
    assert grab_color(view, 40.5, 20.5) == (255, 0, 0)
    assert grab_color(view, 5.5, 5.5) == tuple(int(v) for v in image[5, 5])
    view.clear_preview()
    assert grab_color(view, 40.5, 20.5) == tuple(int(v) for v in image[20, 40])
    np.testing.assert_array_equal(layer.data, before)
    assert layer.data is image


def test_reduced_whole_layer_preview_is_stretched_over_the_layer(view, workspace):
    layer = workspace.document[0]
    proxy = np.zeros((32, 48), np.uint8)
    proxy[:16] = 200  # top half light, bottom half dark
    view.set_preview(layer, proxy)
    assert grab_color(view, 50.5, 10.5) == (200, 200, 200)
    assert grab_color(view, 50.5, 50.5) == (0, 0, 0)


def test_labels_preview_on_an_image_is_an_overlay(view, workspace, image):
    layer = workspace.document[0]
    labels = np.zeros((64, 96), np.int32)
    labels[30:40, 50:70] = 2
    view.set_preview(layer, labels)
    assert view.previews[layer.id].kind == "labels"
    expected = image[35, 60] * (1 - LABEL_ALPHA) + np.array(label_color(2)) * LABEL_ALPHA
    got = np.array(grab_color(view, 60.5, 35.5))
    assert np.abs(got - expected).max() <= 2
    assert grab_color(view, 10.5, 10.5) == tuple(int(v) for v in image[10, 10])


def test_points_preview_and_explicit_scale(view, workspace, image):
    layer = workspace.document[0]
    view.set_preview(layer, np.array([[10.0, 10.0]]), kind="points")
    assert grab_color(view, 10.5, 10.5) != tuple(int(v) for v in image[10, 10])
    half = np.full((16, 24, 3), 255, np.uint8)  # covers the top-left 32x48 at scale 0.5
    view.set_preview(layer, half, scale=0.5)
    assert grab_color(view, 40.5, 25.5) == (255, 255, 255)
    assert grab_color(view, 60.5, 40.5) == tuple(int(v) for v in image[40, 60])


def test_deleted_canvas_ignores_model_events(qtbot, workspace):
    view = CanvasView(workspace)  # not registered with qtbot, which would close it at teardown
    view.show()
    qtbot.waitExposed(view)
    view.deleteLater()
    qtbot.waitUntil(lambda: not isValid(view))
    workspace.document[0].data = np.zeros((64, 96), np.uint8)
    workspace.new_labels_layer()


def test_preview_rejects_bad_input(view, workspace):
    layer = workspace.document[0]
    with pytest.raises(ValueError, match="region"):
        view.set_preview(layer, np.zeros((4, 4), np.uint8), region=(5, 5, 0, 4))
    with pytest.raises(ValueError, match="kind"):
        view.set_preview(layer, np.zeros((4, 4), np.uint8), kind="volume")


# -- painting -----------------------------------------------------------------------------------
def test_first_paint_done_is_emitted_once(qtbot, workspace):
    view = CanvasView(workspace)
    qtbot.addWidget(view)
    view.resize(300, 200)
    with qtbot.waitSignal(view.first_paint_done):
        view.show()
    with qtbot.assertNotEmitted(view.first_paint_done, wait=50):
        view.update()
        view.repaint()


def test_data_change_repaints_the_canvas(view, workspace, qtbot):
    layer = workspace.document[0]
    with qtbot.waitSignal(view.painted):
        layer.data = np.zeros_like(layer.data)
    assert grab_color(view, 10.5, 10.5) == (0, 0, 0)


def test_hidden_layer_is_not_drawn(view, workspace):
    workspace.document[0].visible = False
    assert grab_color(view, 10.5, 10.5) == (43, 43, 46)  # the background


def test_contrast_limits_of_a_uint16_layer(view, workspace):
    layer = workspace.document[0]
    layer.data = np.full((64, 96), 1000, np.uint16)
    view.set_contrast_limits(layer, (0, 2000))
    assert view.contrast_limits(layer) == (0.0, 2000.0)
    assert abs(grab_color(view, 3.5, 3.5)[0] - 128) <= 1


def test_screenshot_with_labels_points_and_shapes(qtbot, workspace, screenshot_dir):
    import skimage.data

    from imgstudio.core.document import Document, ImageLayer
    from imgstudio.core.workspace import Workspace

    ws = Workspace(Document([ImageLayer(skimage.data.astronaut(), "astronaut")]))
    view = make_view(qtbot, ws, size=(640, 480))
    seeds = ws.new_labels_layer()
    seeds.data[60:120, 180:320] = 1
    seeds.data[300:380, 150:260] = 2
    seeds.data[420:500, 300:480] = 3
    seeds.notify_changed()
    boxes = ShapesLayer([Shape("box", np.array([[160.0, 20.0], [340.0, 230.0]]), text="face",
                               score=0.97)], "Detections")
    ws.add_layer(boxes)
    points = ws.new_points_layer("Landmarks")
    points.data = np.array([[210.0, 110.0], [290.0, 110.0], [250.0, 150.0], [250.0, 190.0]])
    view.set_selection(None)
    view.grab().save(str(screenshot_dir / "canvas.png"))
    assert grab_color(view, 20.5, 20.5) != (43, 43, 46)
    ws.close()
