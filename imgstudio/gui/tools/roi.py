"""Region-of-interest tools: rectangle (drag) and polygon (click vertices, double-click or Enter
closes, Escape cancels). The result is the canvas's
:class:`~imgstudio.core.selection.Selection`: view state, not an undo step. Rectangle corners
snap to the pixel grid.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QKeyEvent, QMouseEvent, QPainter

from imgstudio.core.selection import Selection
from imgstudio.gui.canvas.overlays import draw_selection
from imgstudio.gui.tools.base import Tool

CLOSE_DISTANCE = 3.0  # screen px: a vertex this close to the previous one is a duplicate


class RectTool(Tool, name="rect", title="Rectangle selection", shortcut="R"):
    def __init__(self, view) -> None:
        super().__init__(view)
        self._start: tuple[float, float] | None = None
        self._end: tuple[float, float] | None = None

    def _corner(self, event: QMouseEvent) -> tuple[float, float]:
        x, y = self.image_pos(event)
        h, w = self.view.image_shape()
        return float(min(max(round(x), 0), w)), float(min(max(round(y), 0), h))

    def press(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.view.image_shape() != (0, 0):
            self._start = self._end = self._corner(event)

    def move(self, event: QMouseEvent) -> None:
        if self._start is not None:
            self._end = self._corner(event)
            self.view.update()

    def release(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self._start is None:
            return
        start, end = self._start, self._corner(event)
        self._start = self._end = None
        if start[0] == end[0] or start[1] == end[1]:
            self.view.set_selection(None)  # a click without a drag clears
            return
        self.view.set_selection(Selection("rect", np.array([start, end]),
                                          self.view.image_shape()))

    def key_press(self, event: QKeyEvent) -> bool:
        if event.key() == Qt.Key.Key_Escape and self._start is not None:
            self._start = self._end = None
            self.view.update()
            return True
        return False

    def deactivate(self) -> None:
        self._start = self._end = None

    def paint(self, painter: QPainter) -> None:
        if self._start is not None and self._end is not None:
            draw_selection(painter, "rect", np.array([self._start, self._end]),
                           self.view.map_from_image)


class PolygonTool(Tool, name="polygon", title="Polygon selection", shortcut="G"):
    def __init__(self, view) -> None:
        super().__init__(view)
        self.vertices: list[tuple[float, float]] = []

    def _add(self, pos: QPointF) -> None:
        if self.vertices:
            last = self.view.map_from_image(*self.vertices[-1])
            if (last - pos).manhattanLength() < CLOSE_DISTANCE:
                return
        self.vertices.append(self.view.map_to_image(pos))

    def press(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.view.image_shape() != (0, 0):
            self._add(event.position())
            self.view.update()

    def move(self, event: QMouseEvent) -> None:
        self.hover = event.position()
        if self.vertices:
            self.view.update()

    def double_click(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._add(event.position())
            self.close_polygon()

    def key_press(self, event: QKeyEvent) -> bool:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.vertices:
            self.close_polygon()
            return True
        if event.key() == Qt.Key.Key_Escape and self.vertices:
            self.vertices = []
            self.view.update()
            return True
        if event.key() == Qt.Key.Key_Backspace and self.vertices:
            self.vertices.pop()
            self.view.update()
            return True
        return False

    def close_polygon(self) -> None:
        """Finish the polygon as the selection (fewer than 3 vertices: just cancel)."""
        vertices, self.vertices = self.vertices, []
        if len(vertices) >= 3:
            self.view.set_selection(Selection("polygon", np.array(vertices),
                                              self.view.image_shape()))
        self.view.update()

    def deactivate(self) -> None:
        self.vertices = []

    def paint(self, painter: QPainter) -> None:
        if self.vertices:
            draw_selection(painter, "polygon", np.array(self.vertices), self.view.map_from_image,
                           closed=False, rubber=self.hover)
