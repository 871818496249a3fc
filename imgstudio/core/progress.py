"""Cooperative progress reporting and cancellation for long-running operations."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


class Cancelled(Exception):
    """Raised by :meth:`Progress.check` when the user cancelled the job."""


class Progress:
    """A token handed to long-running operations.

    The operation calls ``progress(fraction, message)`` as it goes and ``progress.check()``
    at safe points; ``check`` raises :class:`Cancelled` once :meth:`cancel` was called (from any
    thread). ``callback`` receives ``(fraction, message)`` and must be thread-safe.

    A long job may also :meth:`report` data as it goes (a training op reports each epoch's
    losses and a grid of samples, a sampler each image it made): ``on_report`` receives
    ``(name, data)`` on the job's thread and must be thread-safe; without one, reports are
    dropped.
    """

    def __init__(self, callback: Callable[[float, str], None] | None = None,
                 on_report: Callable[[str, Any], None] | None = None) -> None:
        self._callback = callback
        self._on_report = on_report
        self._cancel = threading.Event()
        self.fraction = 0.0
        self.message = ""

    def __call__(self, fraction: float, message: str = "") -> None:
        self.fraction = min(max(float(fraction), 0.0), 1.0)
        self.message = message
        if self._callback is not None:
            self._callback(self.fraction, message)
        self.check()

    def report(self, name: str, data: Any) -> None:
        """Hand ``data`` to whoever watches the job (see the class docstring)."""
        if self._on_report is not None:
            self._on_report(name, data)

    def check(self) -> None:
        if self._cancel.is_set():
            raise Cancelled("cancelled by the user")

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def sub(self, start: float, stop: float) -> Progress:
        """A child token mapping its [0, 1] onto [start, stop] of this one; shares cancellation."""
        parent = self

        def forward(fraction: float, message: str) -> None:
            parent(start + (stop - start) * fraction, message)

        child = Progress(forward, parent.report)
        child._cancel = self._cancel
        return child


