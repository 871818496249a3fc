"""The debounce timer the widgets share: work requested many times in a burst (a brush stroke,
a slider drag, typing) runs once, after the requests have paused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer


def debounce_timer(parent: QObject, interval_ms: int, slot: Callable[[], Any]) -> QTimer:
    """A single-shot timer, child of ``parent``, that calls ``slot`` ``interval_ms`` after
    its last ``start()`` (each ``start()`` restarts the wait)."""
    timer = QTimer(parent)
    timer.setSingleShot(True)
    timer.setInterval(interval_ms)
    timer.timeout.connect(slot)
    return timer


__all__ = ["debounce_timer"]
