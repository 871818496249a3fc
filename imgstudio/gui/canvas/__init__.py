"""The canvas: Qt-free rendering (:mod:`.render`, :mod:`.pyramid`) and the Qt view.

``CanvasView`` is imported lazily so ``imgstudio.gui.canvas.render`` can be used (tested,
benchmarked) without importing Qt.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CanvasView"]


def __getattr__(name: str) -> Any:
    if name == "CanvasView":
        from imgstudio.gui.canvas.view import CanvasView

        return CanvasView
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
