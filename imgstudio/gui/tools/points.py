"""Points tool: place, drag and delete points of the active points layer (landmarks).

Click on empty space adds a point, drag an existing point (within ``HIT_RADIUS`` screen pixels)
moves it, right-click or Delete on the hovered point removes it. Each add, move or delete is
one history step (``SetLayerData``); during a drag the layer is left alone and the canvas shows
the moving point from :meth:`PointsTool.points_for`. Points are (x, y) with pixel centres at
whole numbers (OpenCV/dlib), so a click at image point (x, y) stores (x - 0.5, y - 0.5).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QKeyEvent, QMouseEvent

from imgstudio.core.document import Layer, PointsLayer
from imgstudio.core.history import SetLayerData
from imgstudio.gui.tools.base import Tool

HIT_RADIUS = 6.0  # screen pixels
NO_LAYER = "Points go on a points layer (landmarks); none is selected."
CREATE_POINTS = "Create a points layer"


class PointsTool(Tool, name="points", title="Points", shortcut="P"):
    def __init__(self, view) -> None:
        super().__init__(view)
        self.hovered: int | None = None
        self._drag: int | None = None
        self._drag_layer: PointsLayer | None = None
        self._moved: np.ndarray | None = None
        self._press_pos: QPointF | None = None
        self._grab_offset = QPointF(0, 0)  # point centre minus cursor when the drag began

    def _layer(self) -> PointsLayer | None:
        layer = self.view.workspace.document.active
        return layer if isinstance(layer, PointsLayer) else None

    def hit(self, pos: QPointF) -> int | None:
        """Index of the active layer's point nearest to widget position ``pos`` within
        ``HIT_RADIUS`` screen pixels, or None."""
        layer = self._layer()
        if layer is None or len(layer.data) == 0:
            return None
        origin = self.view.map_from_image(0.5, 0.5)
        z = self.view.zoom
        sx = origin.x() + layer.data[:, 0] * z
        sy = origin.y() + layer.data[:, 1] * z
        d2 = (sx - pos.x()) ** 2 + (sy - pos.y()) ** 2
        i = int(np.argmin(d2))
        return i if d2[i] <= HIT_RADIUS * HIT_RADIUS else None

    def _commit(self, layer: PointsLayer, new: np.ndarray, label: str) -> None:
        self.view.workspace.history.execute(SetLayerData(layer, new, label=label))

    # -- events ---------------------------------------------------------------------------------
    def press(self, event: QMouseEvent) -> None:
        button = event.button()
        if button not in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            return
        layer = self._layer()
        if layer is None:
            self.view.show_hint(NO_LAYER, CREATE_POINTS, self.view.workspace.new_points_layer)
            return
        index = self.hit(event.position())
        if button == Qt.MouseButton.RightButton:
            if index is not None:
                self.delete(index)
            return
        if index is not None:
            self._drag, self._drag_layer = index, layer
            self._moved, self._press_pos = None, event.position()
            x, y = layer.data[index]
            self._grab_offset = self.view.map_from_image(x + 0.5, y + 0.5) - event.position()
            return
        x, y = self.image_pos(event)
        new = np.vstack([layer.data, [[x - 0.5, y - 0.5]]])
        self._commit(layer, new, f"Add point on {layer.name}")
        self.hovered = len(new) - 1
        self.view.update()

    def move(self, event: QMouseEvent) -> None:
        pos = event.position()
        self.hover = pos
        layer = self._drag_layer
        if self._drag is not None and layer is not None:
            if self._moved is None and self._press_pos is not None and (
                (pos - self._press_pos).manhattanLength() < 1
            ):
                return
            x, y = self.view.map_to_image(pos + self._grab_offset)
            moved = np.array(layer.data, dtype=float, copy=True)
            moved[self._drag] = (x - 0.5, y - 0.5)
            self._moved = moved
            self.view.update()
            return
        hovered = self.hit(pos)
        if hovered != self.hovered:
            self.hovered = hovered
            self.view.setCursor(Qt.CursorShape.PointingHandCursor if hovered is not None
                                else self.cursor)
            self.view.update()

    def release(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        layer, moved = self._drag_layer, self._moved
        self._drag = self._drag_layer = self._moved = self._press_pos = None
        if layer is not None and moved is not None:
            self._commit(layer, moved, f"Move point on {layer.name}")
        self.view.update()

    def key_press(self, event: QKeyEvent) -> bool:
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and self.hovered is not None:
            self.delete(self.hovered)
            return True
        if event.key() == Qt.Key.Key_Escape and self._drag is not None:
            self._drag = self._drag_layer = self._moved = None
            self.view.update()
            return True
        return False

    def deactivate(self) -> None:
        self._drag = self._drag_layer = self._moved = None
        self.hovered = None

    def leave(self) -> None:
        if self._drag is None and self.hovered is not None:
            self.hovered = None
            self.view.update()

    # -- actions --------------------------------------------------------------------------------
    def delete(self, index: int) -> None:
        """Remove point ``index`` of the active points layer (one history step)."""
        layer = self._layer()
        if layer is None or not 0 <= index < len(layer.data):
            return
        self._commit(layer, np.delete(layer.data, index, axis=0),
                     f"Delete point on {layer.name}")
        self.hovered = None
        self.view.update()

    def points_for(self, layer: Layer) -> np.ndarray | None:
        if layer is self._drag_layer and self._moved is not None:
            return self._moved
        return None

    @property
    def highlight(self) -> int | None:
        return self._drag if self._drag is not None else self.hovered
