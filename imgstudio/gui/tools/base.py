"""The tool interface: the canvas forwards mouse and key events to the current tool.

A tool edits the model only through the workspace history (one step per gesture) and draws
its transient state (brush outline, rubber band) in :meth:`Tool.paint`. Positions come from
``view.map_to_image(event.position())``: image coordinates where pixel ``j`` spans
``[j, j+1)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QKeyEvent, QMouseEvent, QPainter

if TYPE_CHECKING:
    from imgstudio.core.document import Layer
    from imgstudio.gui.canvas.view import CanvasView


class Tool:
    """Base class: every hook does nothing.

    A tool declares itself in its class statement, ``class PanTool(Tool, name="pan",
    title="Pan", shortcut="H", cursor=Qt.CursorShape.OpenHandCursor)``: ``name`` is what
    ``CanvasView.set_tool`` takes, ``title`` the text of its menu and toolbar action,
    ``shortcut`` the key bound to it and ``cursor`` the canvas cursor while it is current (a
    crosshair unless given). A subclass inherits what it does not give.
    """

    name = ""
    title = ""
    shortcut = ""
    cursor = Qt.CursorShape.CrossCursor

    def __init_subclass__(cls, *, name: str | None = None, title: str | None = None,
                          shortcut: str | None = None, cursor: Qt.CursorShape | None = None,
                          **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        declared = {"name": name, "title": title, "shortcut": shortcut, "cursor": cursor}
        for attr, value in declared.items():
            if value is not None:
                setattr(cls, attr, value)

    def __init__(self, view: CanvasView) -> None:
        self.view = view
        self.hover: QPointF | None = None  # last cursor position in widget coordinates

    # -- lifecycle ------------------------------------------------------------------------------
    def activate(self) -> None:
        """Called when the tool becomes current."""

    def deactivate(self) -> None:
        """Called when another tool becomes current: finish or drop what is in progress."""

    # -- events ---------------------------------------------------------------------------------
    def press(self, event: QMouseEvent) -> None:
        pass

    def move(self, event: QMouseEvent) -> None:
        pass

    def release(self, event: QMouseEvent) -> None:
        pass

    def double_click(self, event: QMouseEvent) -> None:
        pass

    def key_press(self, event: QKeyEvent) -> bool:
        """Return True when the key was handled."""
        return False

    def leave(self) -> None:
        """The cursor left the widget."""

    # -- drawing --------------------------------------------------------------------------------
    def paint(self, painter: QPainter) -> None:
        """Draw transient state over the canvas (widget coordinates)."""

    def points_for(self, layer: Layer) -> np.ndarray | None:
        """Points to show for ``layer`` instead of its data (a drag in progress), or None."""
        return None

    # -- helpers --------------------------------------------------------------------------------
    def image_pos(self, event: QMouseEvent) -> tuple[float, float]:
        return self.view.map_to_image(event.position())
