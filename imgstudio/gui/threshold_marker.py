"""Marks a value on the Histogram dock while the Operation panel shows an op that declares a
:class:`~imgstudio.core.editor.HistogramMarker` (the global thresholds do: the value they would
cut the active image at, with the form's parameters).

The value is in the grey image's intensity units, which are the histogram's (0..255 for uint8,
0..65535 for uint16, 0..1 for float). It follows the op, the form, the active layer and its
pixels (debounced); layers other than images get no marker. Images over :data:`MAX_PIXELS` are
strided evenly first (as the histogram is), so on those the mark may differ from the op's exact
value by a grey level or so.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from PySide6.QtCore import QObject

from imgstudio.core.document import Layer
from imgstudio.core.editor import HistogramMarker
from imgstudio.core.spec import OperationSpec
from imgstudio.core.types import LayerKind
from imgstudio.gui.debounce import debounce_timer
from imgstudio.gui.panels import LayerDataLink, ModelLink

MAX_PIXELS = 1_000_000
DEBOUNCE_MS = 80


def marker_of(spec: OperationSpec | None) -> HistogramMarker | None:
    return spec.editor.view(HistogramMarker) if spec is not None else None


def marker_value(spec: OperationSpec | None, values: dict[str, Any], image: np.ndarray,
                 max_pixels: int = MAX_PIXELS) -> float | None:
    """The value ``spec``'s histogram marker puts on ``image`` with form ``values``, or None
    (no marker declared, or none found: too few grey levels, a value still being typed)."""
    marker = marker_of(spec)
    if marker is None:
        return None
    pixels = image.shape[0] * image.shape[1]
    if pixels > max_pixels:
        stride = math.ceil(math.sqrt(pixels / max_pixels))
        image = image[::stride, ::stride]
    try:
        value = marker.value(image, values)
    except (TypeError, ValueError):
        return None
    return None if value is None else float(value)


class ThresholdMarker(QObject):
    """Drives ``histogram.set_markers`` from ``panel`` (an
    :class:`~imgstudio.gui.panels.operation.OperationPanel`); a child of the histogram panel,
    so it goes away with it. Create it once the histogram exists: it reads the current op."""

    def __init__(self, panel: Any, histogram: Any, debounce_ms: int = DEBOUNCE_MS) -> None:
        super().__init__(histogram)
        self.panel = panel
        self.histogram = histogram
        self.document = panel.workspace.document
        self._shown = False  # whether our marker is on the histogram (others may set theirs)
        self._timer = debounce_timer(self, debounce_ms, self.refresh)
        self._link = ModelLink(self, [(self.document.active_changed, self._on_active_changed)])
        self._data_link = LayerDataLink(self, self._on_data_changed)
        self._link.connect_all()
        panel.operation_changed.connect(self._on_operation)
        self._data_link.watch(self.document.active)
        self._on_operation(panel.spec)

    def value(self) -> float | None:
        """The threshold to mark now, or None."""
        spec, form, layer = self.panel.spec, self.panel.form, self.document.active
        if spec is None or form is None or layer is None or layer.kind != LayerKind.IMAGE:
            return None
        return marker_value(spec, form.values(), layer.data)

    def refresh(self) -> None:
        """Recompute and draw the marker now (normally debounced)."""
        self._timer.stop()
        value = self.value()
        if value is not None:
            self.histogram.set_markers([value])
            self._shown = True
        elif self._shown:
            self.histogram.set_markers([])
            self._shown = False

    def schedule(self) -> None:
        self._timer.start()

    def _on_operation(self, spec: OperationSpec | None) -> None:
        form = self.panel.form
        if form is not None and marker_of(spec) is not None:
            form.changed.connect(self.schedule)
        self.refresh()

    def _on_active_changed(self, layer: Layer | None) -> None:
        self._data_link.watch(layer)
        self.schedule()

    def _on_data_changed(self, _layer: Layer, _region: object) -> None:
        if marker_of(self.panel.spec) is not None:
            self.schedule()
