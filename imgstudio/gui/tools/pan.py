"""Pan tool: drag with the left button to move the view."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QMouseEvent

from imgstudio.gui.tools.base import Tool


class PanTool(Tool, name="pan", title="Pan", shortcut="H", cursor=Qt.CursorShape.OpenHandCursor):
    def press(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.view.begin_pan(event.position())

    def move(self, event: QMouseEvent) -> None:
        self.view.drag_pan(event.position())

    def release(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.view.end_pan()

    def deactivate(self) -> None:
        self.view.end_pan()
