"""Helpers for canvas tests: a shown CanvasView and real mouse/wheel events at image points."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

LEFT, RIGHT, MIDDLE = Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton, Qt.MouseButton.MiddleButton
NOMOD = Qt.KeyboardModifier.NoModifier


def make_view(qtbot, workspace, size=(400, 300)):
    from imgstudio.gui.canvas.view import CanvasView

    view = CanvasView(workspace)
    qtbot.addWidget(view)
    view.resize(*size)
    view.show()
    qtbot.waitExposed(view)
    return view


def at(view, x: float, y: float) -> QPoint:
    """The widget pixel showing image point (x, y)."""
    p = view.map_from_image(x, y)
    return QPoint(int(p.x()), int(p.y()))


def press(view, pos: QPoint, button=LEFT) -> None:
    QTest.mousePress(view, button, NOMOD, pos)


def move(view, pos: QPoint) -> None:
    QTest.mouseMove(view, pos)


def release(view, pos: QPoint, button=LEFT) -> None:
    QTest.mouseRelease(view, button, NOMOD, pos)


def drag(view, points: list[QPoint], button=LEFT) -> None:
    press(view, points[0], button)
    for p in points[1:]:
        move(view, p)
    release(view, points[-1], button)


def click(view, pos: QPoint, button=LEFT) -> None:
    QTest.mouseClick(view, button, NOMOD, pos)


def wheel(view, pos: QPointF, delta: int) -> None:
    event = QWheelEvent(pos, QPointF(view.mapToGlobal(pos.toPoint())), QPoint(0, 0),
                        QPoint(0, delta), Qt.MouseButton.NoButton, NOMOD,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(view, event)


def grab_color(view, x: float, y: float) -> tuple[int, int, int]:
    """RGB of the grabbed widget at the pixel showing image point (x, y)."""
    image = view.grab().toImage()
    c = image.pixelColor(at(view, x, y))
    return c.red(), c.green(), c.blue()
