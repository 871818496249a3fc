"""The observer signal (imgstudio.core.events)."""

from __future__ import annotations

import gc

from imgstudio.core.events import Signal


def test_signal_calls_slots_in_order_and_disconnects():
    sig = Signal()
    calls = []
    first = sig.connect(lambda x: calls.append(("a", x)))
    sig.connect(lambda x: calls.append(("b", x)))
    sig.emit(1)
    sig.disconnect(first)
    sig.emit(2)
    assert calls == [("a", 1), ("b", 1), ("b", 2)]


def test_signal_holds_bound_methods_weakly():
    class Listener:
        def __init__(self):
            self.hits = 0

        def on(self):
            self.hits += 1

    sig = Signal()
    listener = Listener()
    sig.connect(listener.on)
    sig.emit()
    assert listener.hits == 1
    del listener
    gc.collect()
    sig.emit()
    assert len(sig) == 0
