"""Place: drag on the canvas to set an operation's position (e.g. where seamless cloning puts
its source). Emits ``CanvasView.position_picked(x, y)`` in image pixels as the mouse moves; the
window hands it to the Operation dock, whose live preview follows the drag."""

from __future__ import annotations

import math

from PySide6.QtCore import Qt
from PySide6.QtGui import QMouseEvent, QPainter, QPen

from imgstudio.gui.tools.base import Tool


class PlaceTool(Tool, name="place", title="Place", shortcut="M"):
    def __init__(self, view) -> None:
        super().__init__(view)
        self.position: tuple[int, int] | None = None
        self._dragging = False

    def press(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._dragging = True
            self._pick(event)

    def move(self, event: QMouseEvent) -> None:
        if self._dragging:
            self._pick(event)

    def release(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self._dragging:
            self._dragging = False
            self._pick(event)

    def deactivate(self) -> None:
        self._dragging = False

    def _pick(self, event: QMouseEvent) -> None:
        x, y = self.image_pos(event)
        position = (math.floor(x), math.floor(y))
        if position != self.position:
            self.position = position
            self.view.position_picked.emit(*position)
            self.view.update()

    def paint(self, painter: QPainter) -> None:
        if self.position is None:
            return
        centre = self.view.map_from_image(self.position[0] + 0.5, self.position[1] + 0.5)
        painter.setPen(QPen(Qt.GlobalColor.yellow, 1, Qt.PenStyle.DashLine))
        painter.drawLine(centre.x() - 10, centre.y(), centre.x() + 10, centre.y())
        painter.drawLine(centre.x(), centre.y() - 10, centre.x(), centre.y() + 10)
