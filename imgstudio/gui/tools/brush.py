"""Brush and eraser on the active labels layer: one undo step per stroke.

A stroke paints, in place, every pixel whose centre lies closer than ``brush_size / 2`` to the
segment between consecutive mouse positions (so fast strokes have no gaps). The centre snaps to
a pixel centre for odd sizes and to a pixel corner for even sizes, so a dab is exactly
``brush_size`` pixels across. Before a tile of the layer is first touched its old contents are
kept; on release the stroke's bounding box and old values go to the history as
``SetPixels.from_region`` (pushed, not executed: the pixels are already painted).
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QMouseEvent, QPainter

from imgstudio.core.document import LabelsLayer
from imgstudio.core.history import SetPixels
from imgstudio.gui.canvas.overlays import draw_brush_cursor
from imgstudio.gui.tools.base import Tool

Region = tuple[int, int, int, int]
TILE = 64


def snap_center(x: float, y: float, size: int) -> tuple[float, float]:
    """Brush centre for a cursor at image point (x, y): a pixel centre for odd ``size``, the
    nearest pixel corner for even ``size``."""
    if size % 2:
        return math.floor(x) + 0.5, math.floor(y) + 0.5
    return float(round(x)), float(round(y))


def capsule_mask(
    p0: tuple[float, float], p1: tuple[float, float], radius: float, shape: tuple[int, int]
) -> tuple[Region, np.ndarray] | None:
    """Pixels whose centres are closer than ``radius`` to the segment p0-p1 (x, y image
    coordinates): their bounding box (y0, y1, x0, x1) within ``shape`` and the mask over it."""
    (ax, ay), (bx, by) = p0, p1
    h, w = shape
    x0 = max(0, math.floor(min(ax, bx) - radius))
    x1 = min(w, math.ceil(max(ax, bx) + radius))
    y0 = max(0, math.floor(min(ay, by) - radius))
    y1 = min(h, math.ceil(max(ay, by) + radius))
    if x1 <= x0 or y1 <= y0:
        return None
    px = np.arange(x0, x1, dtype=np.float64)[None, :] + 0.5
    py = np.arange(y0, y1, dtype=np.float64)[:, None] + 0.5
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    if length2 > 0:
        t = np.clip(((px - ax) * dx + (py - ay) * dy) / length2, 0.0, 1.0)
        ex, ey = px - (ax + t * dx), py - (ay + t * dy)
    else:
        ex, ey = px - ax, py - ay
    mask = ex * ex + ey * ey < radius * radius
    if not mask.any():
        return None
    return (y0, y1, x0, x1), mask


NO_IMAGE = "Open an image before painting"
CREATE_LABELS = "Create a labels layer"


def no_labels_text(layer_name: str | None, erase: bool) -> str:
    """The hint shown when the brush or eraser is used without a labels layer active."""
    what = "The eraser works" if erase else "The brush paints"
    which = f"“{layer_name}” is not one" if layer_name else "none is selected"
    return f"{what} on a labels layer; {which}."


class BrushTool(Tool, name="brush", title="Brush", shortcut="B"):
    erase = False
    step_label = "Brush stroke"

    def __init__(self, view) -> None:
        super().__init__(view)
        self._layer: LabelsLayer | None = None
        self._data: np.ndarray | None = None
        self._saved: dict[tuple[int, int], np.ndarray] = {}
        self._bbox: Region | None = None
        self._last: tuple[float, float] | None = None

    @property
    def stroking(self) -> bool:
        return self._layer is not None

    def _center(self, event: QMouseEvent) -> tuple[float, float]:
        x, y = self.image_pos(event)
        return snap_center(x, y, self.view.brush_size)

    # -- events ---------------------------------------------------------------------------------
    def press(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self.stroking:
            return
        layer = self.view.workspace.document.active
        if not isinstance(layer, LabelsLayer):
            self.offer_labels_layer()
            return
        self._layer, self._data = layer, layer.data
        self._saved, self._bbox = {}, None
        self._last = self._center(event)
        self._dab(self._last, self._last)

    def move(self, event: QMouseEvent) -> None:
        self.hover = event.position()
        if self.stroking and self._last is not None:
            center = self._center(event)
            if center != self._last:
                self._dab(self._last, center)
                self._last = center
        self.view.update()

    def release(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.finish()

    def deactivate(self) -> None:
        self.finish()
        self.hover = None

    def leave(self) -> None:
        self.hover = None
        self.view.update()

    # -- no labels layer ------------------------------------------------------------------------
    def offer_labels_layer(self) -> None:
        """Say why nothing is painted and offer a button that adds a labels layer of the
        image's size (one undo step); later strokes go to it."""
        doc = self.view.workspace.document
        if doc.size is None:
            self.view.message.emit(NO_IMAGE)
            return
        active = doc.active
        self.view.show_hint(no_labels_text(active.name if active else None, self.erase),
                            CREATE_LABELS, self.create_labels_layer)

    def create_labels_layer(self) -> LabelsLayer | None:
        """Add an empty labels layer above the active one and make it active."""
        try:
            layer = self.view.workspace.new_labels_layer()
        except ValueError as exc:  # the image went away meanwhile
            self.view.message.emit(str(exc))
            return None
        self.view.setFocus()
        return layer

    # -- painting -------------------------------------------------------------------------------
    def _dab(self, p0: tuple[float, float], p1: tuple[float, float]) -> None:
        layer, data = self._layer, self._data
        assert layer is not None and data is not None
        if layer.data is not data:  # replaced under us (undo during the stroke): stop
            self._drop()
            return
        found = capsule_mask(p0, p1, self.view.brush_size / 2.0, data.shape[:2])
        if found is None:
            return
        (y0, y1, x0, x1), mask = found
        for ty in range(y0 // TILE, (y1 - 1) // TILE + 1):
            for tx in range(x0 // TILE, (x1 - 1) // TILE + 1):
                if (ty, tx) not in self._saved:
                    tile = data[ty * TILE : (ty + 1) * TILE, tx * TILE : (tx + 1) * TILE]
                    self._saved[(ty, tx)] = tile.copy()
        value = 0 if self.erase else self.view.brush_label
        data[y0:y1, x0:x1][mask] = value
        if self._bbox is None:
            self._bbox = (y0, y1, x0, x1)
        else:
            b = self._bbox
            self._bbox = (min(b[0], y0), max(b[1], y1), min(b[2], x0), max(b[3], x1))
        layer.notify_changed((y0, y1, x0, x1))

    def _drop(self) -> None:
        self._layer = self._data = self._last = None
        self._saved, self._bbox = {}, None

    def finish(self) -> None:
        """End the stroke: record it as one history step (nothing when nothing changed)."""
        layer, data, bbox, saved = self._layer, self._data, self._bbox, self._saved
        self._drop()
        if layer is None or data is None or bbox is None or layer.data is not data:
            return
        if layer not in self.view.workspace.document:
            return
        y0, y1, x0, x1 = bbox
        current = data[y0:y1, x0:x1]
        old = current.copy()
        for (ty, tx), tile in saved.items():
            ty0, tx0 = ty * TILE, tx * TILE
            a0, a1 = max(y0, ty0), min(y1, ty0 + tile.shape[0])
            b0, b1 = max(x0, tx0), min(x1, tx0 + tile.shape[1])
            if a1 > a0 and b1 > b0:
                old[a0 - y0 : a1 - y0, b0 - x0 : b1 - x0] = tile[a0 - ty0 : a1 - ty0,
                                                                 b0 - tx0 : b1 - tx0]
        if np.array_equal(old, current):
            return
        label = f"{self.step_label} on {layer.name}"
        cmd = SetPixels.from_region(layer, bbox, old, label=label)
        self.view.workspace.history.push(cmd)

    def paint(self, painter: QPainter) -> None:
        if self.hover is None:
            return
        x, y = self.view.map_to_image(self.hover)
        cx, cy = snap_center(x, y, self.view.brush_size)
        draw_brush_cursor(painter, self.view.map_from_image(cx, cy),
                          self.view.brush_size * self.view.zoom)


class EraserTool(BrushTool, name="eraser", title="Eraser", shortcut="E"):
    erase = True
    step_label = "Erase"
