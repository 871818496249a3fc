"""The views an operation declares beside the histogram, following the Operation panel's op.

- :class:`~imgstudio.core.editor.HistogramOverlay`: over the histogram of the active layer (the
  source), the histograms of the layers picked in the form for the declared inputs and, after a
  preview or Apply, of the ``result``; after Apply the active layer holds the result, so the
  source as it was before is overlaid too (``source``).
- :class:`~imgstudio.core.editor.Spectrum`: a view under the histogram of what the op's
  ``compute`` returns for the active layer (a spectrum, zero frequency at the centre), with the
  circles its ``rings`` gives for the form's parameters.

:class:`OpViews` is the controller: it listens to the Operation panel's signals and the
document, and drives the :class:`~imgstudio.gui.panels.histogram.HistogramPanel`. The maths is
the op's own, reached through its spec.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QRectF
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from imgstudio.core.document import Layer
from imgstudio.core.editor import HistogramOverlay, Spectrum
from imgstudio.core.spec import OperationSpec
from imgstudio.core.types import LayerKind
from imgstudio.gui.debounce import debounce_timer
from imgstudio.gui.panels import LayerDataLink, ModelLink
from imgstudio.gui.panels.histogram import HistogramPanel
from imgstudio.gui.panels.operation import OperationPanel
from imgstudio.gui.preview import PreviewResult

SPECTRUM_DEBOUNCE_MS = 100
_RING_COLOUR = (255, 170, 0)


class SpectrumView(QWidget):
    """A log-magnitude spectrum (grey, zero frequency at the centre, axes in cycles per image)
    with circles drawn over it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._spectrum: np.ndarray | None = None
        self._radii: tuple[list[float], list[float]] = ([], [])
        self._ring_items: list[pg.PlotDataItem] = []
        self.title_label = QLabel("Spectrum", self)
        self.plot = pg.PlotWidget(self)
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.setAspectLocked(True)
        self.plot.invertY(True)
        self.plot.setMinimumHeight(140)
        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image_item)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title_label)
        layout.addWidget(self.plot, 1)

    def spectrum(self) -> np.ndarray | None:
        """The shown ``log(1 + |FFT|)`` array, or None."""
        return self._spectrum

    def rings(self) -> tuple[list[float], list[float]]:
        """(solid, dashed) radii of the drawn circles, in spectrum pixels."""
        return list(self._radii[0]), list(self._radii[1])

    def set_spectrum(self, spectrum: np.ndarray | None, title: str = "Spectrum") -> None:
        self._spectrum = spectrum
        self.title_label.setText(title)
        if spectrum is None:
            self.image_item.clear()
            return
        h, w = spectrum.shape
        lo, hi = np.percentile(spectrum, [1.0, 99.9])
        self.image_item.setImage(spectrum, levels=(float(lo), float(max(hi, lo + 1e-6))))
        rect = QRectF(-(w // 2) - 0.5, -(h // 2) - 0.5, w, h)  # zero frequency centred at (0, 0)
        self.image_item.setRect(rect)
        self.plot.setRange(rect, padding=0)

    def set_rings(self, solid: Sequence[float], dashed: Sequence[float] = ()) -> None:
        self._radii = ([float(r) for r in solid], [float(r) for r in dashed])
        for item in self._ring_items:
            self.plot.removeItem(item)
        self._ring_items = []
        t = np.linspace(0.0, 2.0 * np.pi, 181)
        for radii, style in ((self._radii[0], pg.QtCore.Qt.PenStyle.SolidLine),
                             (self._radii[1], pg.QtCore.Qt.PenStyle.DashLine)):
            for r in radii:
                item = pg.PlotDataItem(r * np.cos(t), r * np.sin(t),
                                       pen=pg.mkPen(_RING_COLOUR, width=1.5, style=style))
                self.plot.addItem(item)
                self._ring_items.append(item)


class OpViews(QObject):
    """Shows what the Operation panel's op wants beside the histogram (see the module doc).

    Lives as long as ``histogram`` (its Qt parent); the spectrum view is added to the
    histogram panel's layout, hidden unless the op is the frequency filter.
    """

    def __init__(self, operation: OperationPanel, histogram: HistogramPanel) -> None:
        super().__init__(histogram)
        self.operation = operation
        self.histogram = histogram
        self.document = operation.workspace.document
        self.spectrum_view = SpectrumView(histogram)
        histogram.layout().insertWidget(1, self.spectrum_view, 1)
        self.spectrum_view.hide()
        self._overlay: HistogramOverlay | None = None
        self._spectrum: Spectrum | None = None
        self._overlays: dict[str, np.ndarray] = {}  # name -> array, in drawing order
        self._before: np.ndarray | None = None  # the layer (strided) when Apply started
        self._timer = debounce_timer(self, SPECTRUM_DEBOUNCE_MS, self.update_spectrum)
        operation.operation_changed.connect(self._on_operation)
        operation.preview_ready.connect(self._on_preview)
        operation.preview_button.toggled.connect(self._on_preview_toggled)
        operation.busy_changed.connect(self._on_busy)
        operation.applied.connect(self._on_applied)
        self._link = ModelLink(self, [(self.document.active_changed, self._on_active_changed)])
        self._data_link = LayerDataLink(self, self._on_data_changed)  # the spectrum's layer
        self._link.connect_all()
        self._on_operation(operation.spec)

    # -- op and form ------------------------------------------------------------------------
    def _on_operation(self, spec: OperationSpec | None) -> None:
        self._overlay = spec.editor.view(HistogramOverlay) if spec is not None else None
        self._spectrum = spec.editor.view(Spectrum) if spec is not None else None
        self._before = None
        self._set_overlays({})
        form = self.operation.form
        if form is not None and (self._overlay or self._spectrum):
            form.changed.connect(self._on_form_changed)
        if self._overlay is not None:
            self._set_overlays(self._picked())
        shown = self._spectrum is not None
        self.spectrum_view.setVisible(shown)
        self._data_link.watch(self.document.active if shown else None)
        if shown:
            self.update_spectrum()
        else:
            self.spectrum_view.set_spectrum(None)
            self.spectrum_view.set_rings([])

    def _on_form_changed(self) -> None:
        if self._overlay is not None:  # other layers picked: the result shown is stale
            self._before = None
            self._set_overlays(self._picked())
        if self._spectrum is not None:
            self._update_rings()

    # -- histogram overlays -----------------------------------------------------------------
    def _picked(self) -> dict[str, np.ndarray | None]:
        """The image layers picked in the form for the overlay's inputs, by input name."""
        form = self.operation.form
        inputs = form.inputs() if form is not None else {}
        out: dict[str, np.ndarray | None] = {}
        for name in self._overlay.inputs if self._overlay is not None else ():
            layer = inputs.get(name)
            out[name] = layer.data if isinstance(layer, Layer) and layer.kind == LayerKind.IMAGE \
                else None
        return out

    def _set_overlays(self, arrays: dict[str, np.ndarray | None]) -> None:
        self._overlays = {k: v for k, v in arrays.items() if isinstance(v, np.ndarray)}
        self.histogram.clear_extra()
        if self._overlays:
            self.histogram.add_extra_histograms(self._overlays)

    def _on_preview(self, preview: PreviewResult) -> None:
        if self._overlay is not None and isinstance(preview.result, np.ndarray):
            self._set_overlays({**self._picked(), "result": preview.result})

    def _on_preview_toggled(self, on: bool) -> None:
        if self._overlay is not None and not on:
            self._set_overlays(self._picked())

    def _on_busy(self, busy: bool) -> None:
        layer = self.document.active
        if busy and self._overlay is not None and layer is not None \
                and layer.kind == LayerKind.IMAGE:
            data = layer.data
            stride = max(1, math.ceil(math.sqrt(data.shape[0] * data.shape[1]
                                                / self.histogram.max_pixels)))
            self._before = np.array(data[::stride, ::stride])  # a copy: Apply replaces it

    def _on_applied(self, prepared: Any) -> None:
        if self._overlay is not None and isinstance(prepared.result, np.ndarray):
            self._set_overlays({**self._picked(), "result": prepared.result,
                                "source": self._before})

    # -- spectrum ---------------------------------------------------------------------------
    def _on_active_changed(self, layer: Layer | None) -> None:
        if self._overlay is not None:
            self._before = None
            self._set_overlays(self._picked())
        if self._spectrum is not None:
            self._data_link.watch(layer)
            self._timer.start()

    def _on_data_changed(self, _layer: Layer, _region: object) -> None:
        self._timer.start()

    def update_spectrum(self) -> None:
        """Recompute the spectrum of the active layer now (normally debounced)."""
        self._timer.stop()
        layer = self._data_link.layer
        if self._spectrum is None or layer is None or layer.kind != LayerKind.IMAGE:
            self.spectrum_view.set_spectrum(None, "Spectrum: choose an image layer")
        else:
            spectrum = self._spectrum.compute(layer.data)
            h, w = spectrum.shape
            self.spectrum_view.set_spectrum(
                spectrum, f"Spectrum of {layer.name}: log |FFT| ({w}×{h})")
        self._update_rings()

    def _update_rings(self) -> None:
        form = self.operation.form
        spectrum = self.spectrum_view.spectrum()
        if self._spectrum is None or form is None:
            self.spectrum_view.set_rings([])
            return
        shape = spectrum.shape if spectrum is not None else (0, 0)
        self.spectrum_view.set_rings(*self._spectrum.rings(form.values(), shape))
