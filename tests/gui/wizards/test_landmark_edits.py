"""The face morph wizard's landmarks page: undo and redo of point edits with the keyboard, the
selected point shown on both faces, numbers that never overlap. Real mouse and key events."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

from imgstudio.core.document import Document, ImageLayer
from imgstudio.core.workspace import Workspace
from imgstudio.gui.canvas.overlays import POINT_RADIUS
from imgstudio.gui.wizards.face_morph import PAGE_LANDMARKS
from imgstudio.gui.wizards.landmark_view import SELECTED_RING
from tests.gui.canvas_events import click, drag, wheel
from tests.gui.wizards.test_face_morph import make_wizard, next_page, rect_points, square_image

CTRL, SHIFT = Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.ShiftModifier
A_RECT, B_RECT = (30, 20, 90, 80), (70, 40, 140, 110)


@pytest.fixture
def landmarks(qtbot, jobs, tmp_path):
    """The wizard on its landmarks page with five hand-placed points on each face."""
    a, b = square_image(*A_RECT), square_image(*B_RECT)
    ws = Workspace(Document([ImageLayer(a, "a"), ImageLayer(b, "b")]))
    wizard = make_wizard(qtbot, jobs, ws)
    wizard.faces_page.detect_check.setChecked(False)
    next_page(qtbot, wizard, PAGE_LANDMARKS)
    for name, rect in (("a", A_RECT), ("b", B_RECT)):
        path = tmp_path / f"{name}.txt"
        path.write_text("\n".join(f"{x} {y}" for x, y in rect_points(*rect)))
        wizard.load_points(path, name)
    page = wizard.landmarks_page
    qtbot.mouseClick(page.drag_radio, Qt.MouseButton.LeftButton)
    wizard.activateWindow()
    qtbot.waitActive(wizard)
    yield wizard, ws
    wizard.shutdown()
    ws.close()


def at(view, x: float, y: float) -> QPoint:
    p = view.map_from_image(x, y)
    return QPoint(round(p.x()), round(p.y()))


def keys(view, key: Qt.Key, modifiers) -> None:
    QTest.keyClick(view, key, modifiers)


def test_ctrl_z_undoes_a_landmark_drag_and_redo_does_it_again(qtbot, landmarks):
    wizard, ws = landmarks
    page = wizard.landmarks_page
    view = page.views[0]
    loaded = wizard.points_a.copy()
    steps = len(ws.history.steps)
    drag(view, [at(view, 89, 20), at(view, 94, 24), at(view, 99, 30)])
    moved = wizard.points_a.copy()
    np.testing.assert_allclose(moved[1], [99, 30], atol=1.0)
    assert np.array_equal(moved[[0, 2, 3, 4]], loaded[[0, 2, 3, 4]])

    keys(view, Qt.Key.Key_Z, CTRL)
    assert np.array_equal(wizard.points_a, loaded)
    assert np.array_equal(view.points(), loaded)  # the view shows it too
    assert page.redo_button.isEnabled()
    keys(view, Qt.Key.Key_Z, CTRL | SHIFT)
    assert np.array_equal(wizard.points_a, moved)
    keys(view, Qt.Key.Key_Z, CTRL)
    keys(view, Qt.Key.Key_Y, CTRL)
    assert np.array_equal(wizard.points_a, moved)
    # a removed point comes back; the load before it is undone next, then nothing is left
    click(view, at(view, 30, 79), button=Qt.MouseButton.RightButton)
    assert len(wizard.points_a) == 4 and not page.isComplete()
    keys(view, Qt.Key.Key_Z, CTRL)
    assert np.array_equal(wizard.points_a, moved) and page.isComplete()
    keys(view, Qt.Key.Key_Z, CTRL)  # the drag
    keys(view, Qt.Key.Key_Z, CTRL)  # B's file
    keys(view, Qt.Key.Key_Z, CTRL)  # A's file
    assert len(wizard.points_a) == 0 and len(wizard.points_b) == 0
    assert not page.undo_button.isEnabled()
    keys(view, Qt.Key.Key_Z, CTRL)  # nothing more: no change, no error
    assert len(wizard.points_a) == 0
    assert len(ws.history.steps) == steps  # the document's history is not the wizard's


def ring_pixel(view, index: int) -> tuple[int, int, int]:
    """RGB of the grabbed view just right of point ``index``, on the selection ring."""
    x, y = view.points()[index]
    c = view.map_from_image(x, y)
    image = view.grab().toImage()
    color = image.pixelColor(round(c.x() + POINT_RADIUS + SELECTED_RING), round(c.y()))
    return color.red(), color.green(), color.blue()


def is_red(rgb: tuple[int, int, int]) -> bool:
    r, g, b = rgb
    return r > 200 and r - g > 90 and r - b > 90  # antialiased against the white ring


def test_the_selected_point_is_ringed_on_both_faces(qtbot, landmarks, screenshot_dir):
    wizard, _ws = landmarks
    view_a, view_b = wizard.landmarks_page.views
    assert view_a.selected() is None and not is_red(ring_pixel(view_b, 2))
    click(view_a, at(view_a, 89, 79))  # point 3 of A
    assert view_a.selected() == 2 and view_b.selected() == 2
    qtbot.wait(20)
    assert is_red(ring_pixel(view_a, 2)) and is_red(ring_pixel(view_b, 2))
    assert not is_red(ring_pixel(view_b, 1))
    assert 2 in view_a.number_rects() and 2 in view_b.number_rects()
    assert wizard.grab().save(str(screenshot_dir / "face_morph_selected_point.png"))
    # selecting on B selects on A; a press beside the points deselects both
    click(view_b, at(view_b, 70, 40))
    assert view_b.selected() == 0 and view_a.selected() == 0
    click(view_b, at(view_b, 5, 100))
    assert view_a.selected() is None and view_b.selected() is None
    qtbot.wait(20)
    assert not is_red(ring_pixel(view_a, 0))


def overlaps(rects: list) -> list[tuple[int, int]]:
    return [(i, j) for i, r in enumerate(rects) for j in range(i + 1, len(rects))
            if r.intersects(rects[j])]


def test_numbers_never_overlap_and_show_all_when_zoomed_in(qtbot, landmarks, screenshot_dir):
    wizard, _ws = landmarks
    view = wizard.landmarks_page.views[0]
    wizard.landmarks_page.zoom_check.setChecked(False)  # the whole 160×120 image
    dense = np.array([[40 + 3 * (k % 17), 40 + 4 * (k // 17)] for k in range(68)], float)
    view.set_points(dense)
    view.set_selected(30)
    qtbot.wait(20)
    rects = view.number_rects()
    assert 30 in rects  # the selected point's number always shows
    assert 0 < len(rects) < 68 and not overlaps(list(rects.values()))
    discs = {k: QPointF(view.map_from_image(*dense[k])) for k in range(68)}
    for k, rect in rects.items():  # no number covers another point (the selected one may)
        if k != 30:
            assert not any(rect.contains(c) for j, c in discs.items() if j != k)
    assert view.grab().save(str(screenshot_dir / "face_morph_dense_numbers.png"))
    for _ in range(6):  # zoom in around the points with the wheel
        wheel(view, QPointF(view.map_from_image(64, 46)), 120)
    qtbot.wait(20)
    zoomed = view.number_rects()
    shown = {k for k in range(68)
             if QPointF(view.rect().bottomRight()).x() > view.map_from_image(*dense[k]).x() > 0
             and view.height() > view.map_from_image(*dense[k]).y() > 0}
    assert len(shown) > 40 and set(zoomed) == shown  # every point in sight has its number
    assert not overlaps(list(zoomed.values()))
    assert view.grab().save(str(screenshot_dir / "face_morph_zoomed_numbers.png"))


def test_ctrl_z_only_acts_on_the_landmarks_page(qtbot, landmarks):
    wizard, _ws = landmarks
    view = wizard.landmarks_page.views[0]
    drag(view, [at(view, 30, 20), at(view, 36, 26)])
    moved = wizard.points_a.copy()
    qtbot.mouseClick(wizard.button(wizard.WizardButton.BackButton), Qt.MouseButton.LeftButton)
    assert wizard.currentId() != PAGE_LANDMARKS
    keys(wizard.currentPage(), Qt.Key.Key_Z, CTRL)
    assert np.array_equal(wizard.points_a, moved)  # hidden page: its shortcut sleeps
