"""Guards against Qt binding bugs that would crash a long editing session."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    fired = Signal()
    valued = Signal(float, str)


def test_signal_emits_do_not_leak_references_to_true(qtbot):
    # PySide6 6.12.0 decremented True's refcount on every emit until CPython aborted.
    emitter = _Emitter()
    received = []
    emitter.valued.connect(lambda f, m: received.append(f))
    before = sys.getrefcount(True)
    for i in range(500):
        emitter.fired.emit()
        emitter.valued.emit(i / 500, "x")
    assert len(received) == 500
    assert abs(sys.getrefcount(True) - before) < 50
