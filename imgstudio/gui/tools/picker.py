"""Picker: click to read the active layer's pixel value (``CanvasView.color_picked``).

On a labels layer a non-zero label also becomes the brush label, so seeds are easy to extend.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QMouseEvent

from imgstudio.core.document import LabelsLayer
from imgstudio.gui.tools.base import Tool


def pixel_value(data: np.ndarray, x: int, y: int) -> tuple:
    """The value of ``data`` at column ``x``, row ``y`` as a tuple of Python numbers."""
    value = np.atleast_1d(data[y, x])
    return tuple(v.item() for v in value)


class PickerTool(Tool, name="picker", title="Colour picker", shortcut="I"):
    def press(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        layer = self.view.workspace.document.active
        if layer is None or layer.shape is None:
            self.view.message.emit("Select an image or labels layer to pick from")
            return
        x, y = self.image_pos(event)
        col, row = math.floor(x), math.floor(y)
        h, w = layer.shape
        if not (0 <= col < w and 0 <= row < h):
            return
        value = pixel_value(layer.data, col, row)
        if isinstance(layer, LabelsLayer) and value[0] > 0:
            self.view.brush_label = int(value[0])
        self.view.color_picked.emit(value)
