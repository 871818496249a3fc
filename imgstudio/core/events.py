"""A minimal observer: models emit, views connect. No Qt here (napari's model/view split)."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any


class Signal:
    """A list of callbacks called in connection order with the emitted arguments.

    Bound methods are held weakly, so a closed widget does not keep its model's listeners alive.
    """

    def __init__(self) -> None:
        self._slots: list[Any] = []

    def connect(self, callback: Callable[..., Any]) -> Callable[..., Any]:
        ref: Any
        if hasattr(callback, "__self__") and hasattr(callback, "__func__"):
            ref = weakref.WeakMethod(callback)
        else:
            ref = lambda: callback  # noqa: E731 - a strong "reference" with the weakref API
            ref.target = callback
        self._slots.append(ref)
        return callback

    def disconnect(self, callback: Callable[..., Any] | None = None) -> None:
        if callback is None:
            self._slots.clear()
            return
        self._slots = [r for r in self._slots if r() is not None and r() != callback]

    def emit(self, *args: Any) -> None:
        alive = []
        for ref in list(self._slots):
            slot = ref()
            if slot is None:
                continue
            alive.append(ref)
            slot(*args)
        if len(alive) != len(self._slots):
            self._slots = [r for r in self._slots if r() is not None]

    def __len__(self) -> int:
        return sum(1 for r in self._slots if r() is not None)
