"""Dock panels: one module per panel, each a ``QWidget`` built on the narrowest model it needs.

- :mod:`.layers` — ``LayersPanel(workspace)``: the layer stack, visibility, opacity, blend mode
  (its list view and drag-and-drop live in :mod:`.layer_list`).
- :mod:`.history` — ``HistoryPanel(workspace)``: undo steps, jump, save recipe / export script.
- :mod:`.histogram` — ``HistogramPanel(workspace)``: per-channel histogram of the active layer.
- :mod:`.jobs` — ``JobsPanel(job_manager)``: progress and Cancel for background jobs.
- :mod:`.metric_plot` — ``MetricPlot(job)``: live plot of an optimiser's metric read from the
  job's progress messages; ``install(jobs_panel)`` gives every Jobs row one (pyqtgraph lazily).

Import the panel modules directly; this package imports nothing heavy (no pyqtgraph).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from imgstudio.core.document import Layer


class ModelLink:
    """Connections from core-model :class:`~imgstudio.core.events.Signal`\\ s to a widget.

    Core signals hold bound methods weakly, so a garbage-collected widget drops out by itself;
    but a widget whose C++ side was deleted (``deleteLater``) or that was closed may still have
    a live Python wrapper. A panel therefore connects through a ``ModelLink``, calls
    :meth:`disconnect` from ``closeEvent`` and :meth:`connect_all` again from ``showEvent``;
    the link also disconnects itself when the widget's C++ object is destroyed. Slots are held
    weakly here too, so the link never keeps its widget alive.
    """

    def __init__(self, widget: Any, pairs: list[tuple[Any, Callable[..., Any]]] | None = None):
        self._pairs: list[tuple[Any, weakref.WeakMethod]] = []
        self.connected = False
        for signal, slot in pairs or []:
            self.add(signal, slot)
        state = self._pairs  # the destroyed hook must not reference the widget or the link
        widget.destroyed.connect(lambda *_: ModelLink._drop(state))

    def add(self, signal: Any, slot: Callable[..., Any]) -> None:
        """Remember ``signal -> slot`` (a bound method); connect it now if the link is live."""
        self._pairs.append((signal, weakref.WeakMethod(slot)))
        if self.connected:
            signal.connect(slot)

    def remove(self, signal: Any, slot: Callable[..., Any]) -> None:
        """Forget ``signal -> slot`` and disconnect it."""
        self._pairs[:] = [(s, r) for s, r in self._pairs if not (s is signal and r() == slot)]
        signal.disconnect(slot)

    def connect_all(self) -> None:
        if self.connected:
            return
        for signal, ref in self._pairs:
            slot = ref()
            if slot is not None:
                signal.connect(slot)
        self.connected = True

    def disconnect(self) -> None:
        self._drop(self._pairs)
        self.connected = False

    def clear(self) -> None:
        """Disconnect and forget every pair."""
        self.disconnect()
        self._pairs.clear()

    @staticmethod
    def _drop(pairs: list[tuple[Any, weakref.WeakMethod]]) -> None:
        for signal, ref in pairs:
            slot = ref()
            if slot is not None:
                signal.disconnect(slot)


class LayerDataLink(ModelLink):
    """A :class:`ModelLink` to the ``data_changed`` of one layer at a time (the active one, as
    a rule): :meth:`watch` drops the old layer and connects ``slot`` to the new one."""

    def __init__(self, widget: Any, slot: Callable[..., Any]) -> None:
        super().__init__(widget)
        self._slot = weakref.WeakMethod(slot)
        #: The layer watched now, or None.
        self.layer: Layer | None = None

    def watch(self, layer: Layer | None) -> None:
        """Follow ``layer``'s pixels from now on (None: no layer's)."""
        self.clear()
        self.layer = layer
        slot = self._slot()
        if layer is not None and slot is not None:
            self.add(layer.data_changed, slot)
            self.connect_all()


__all__ = ["LayerDataLink", "ModelLink"]
