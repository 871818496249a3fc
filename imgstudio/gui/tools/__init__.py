"""Canvas tools, one module each. ``TOOL_CLASSES`` maps the names ``CanvasView.set_tool``
takes to the classes; each class carries ``title`` and ``shortcut``, from which the main window
builds its tool actions, in this dict's order (Tools menu and toolbar)."""

from __future__ import annotations

from imgstudio.core.selection import Selection
from imgstudio.gui.tools.base import Tool
from imgstudio.gui.tools.brush import BrushTool, EraserTool
from imgstudio.gui.tools.pan import PanTool
from imgstudio.gui.tools.picker import PickerTool
from imgstudio.gui.tools.place import PlaceTool
from imgstudio.gui.tools.points import PointsTool
from imgstudio.gui.tools.roi import PolygonTool, RectTool

TOOL_CLASSES: dict[str, type[Tool]] = {
    cls.name: cls
    for cls in (PanTool, BrushTool, EraserTool, PointsTool, RectTool, PolygonTool, PickerTool,
                PlaceTool)
}

__all__ = [
    "TOOL_CLASSES",
    "BrushTool",
    "EraserTool",
    "PanTool",
    "PickerTool",
    "PlaceTool",
    "PointsTool",
    "PolygonTool",
    "RectTool",
    "Selection",
    "Tool",
]
