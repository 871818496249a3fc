"""The Histogram dock: per-channel histograms of the active image layer (pyqtgraph).

256 bins over the dtype's range (uint8: one per value; uint16: 256 values per bin; float:
[0, 1]). Huge images are strided to at most ``max_pixels`` before counting, and recomputing
is debounced, so painting with a brush or dragging a preview stays fluid.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from imgstudio.core.document import Layer
from imgstudio.core.types import LayerKind, Region
from imgstudio.core.workspace import Workspace
from imgstudio.gui.debounce import debounce_timer
from imgstudio.gui.panels import LayerDataLink, ModelLink

BINS = 256
MAX_PIXELS = 1_000_000
DEBOUNCE_MS = 100

Histograms = dict[str, tuple[np.ndarray, np.ndarray]]

_COLOURS = {"R": (230, 60, 60), "G": (60, 200, 80), "B": (70, 120, 255), "gray": (210, 210, 210)}
_EXTRA_COLOURS = [(255, 200, 0), (0, 220, 220), (255, 110, 220), (170, 255, 110)]


def value_range(dtype: np.dtype) -> tuple[float, float]:
    """The histogram range of a dtype: integers over all their values, floats over [0, 1]."""
    dtype = np.dtype(dtype)
    if dtype.kind in "ui":
        info = np.iinfo(dtype)
        return float(info.min), float(info.max) + 1.0
    return 0.0, 1.0


def channel_histogram(values: np.ndarray, bins: int = BINS) -> tuple[np.ndarray, np.ndarray]:
    """``(edges, counts)`` of one channel, as ``np.histogram(values, bins, value_range)``."""
    lo, hi = value_range(values.dtype)
    edges = np.linspace(lo, hi, bins + 1)
    if values.dtype == np.uint8 and bins == 256:
        counts = np.bincount(values.ravel(), minlength=256)
    elif values.dtype == np.uint16 and bins == 256:
        counts = np.bincount((values >> 8).ravel(), minlength=256)
    else:
        counts, edges = np.histogram(values, bins=bins, range=(lo, hi))
    return edges, counts.astype(np.int64)


def image_histograms(image: np.ndarray, region: Region | None = None,
                     max_pixels: int = MAX_PIXELS) -> Histograms:
    """Histograms by channel (``R, G, B`` or ``gray``; alpha ignored) of ``image``.

    ``region`` is ``(y0, y1, x0, x1)``, clipped to the image; images with more than
    ``max_pixels`` pixels are strided evenly in both directions first.
    """
    if region is not None:
        h, w = image.shape[:2]
        y0, y1, x0, x1 = (int(v) for v in region)
        y0, y1 = max(0, min(y0, h)), max(0, min(y1, h))
        x0, x1 = max(0, min(x0, w)), max(0, min(x1, w))
        image = image[min(y0, y1):max(y0, y1), min(x0, x1):max(x0, x1)]
    pixels = image.shape[0] * image.shape[1]
    if pixels > max_pixels:
        stride = math.ceil(math.sqrt(pixels / max_pixels))
        image = image[::stride, ::stride]
    if image.ndim == 2:
        return {"gray": channel_histogram(image)}
    if image.shape[2] == 1:
        return {"gray": channel_histogram(image[..., 0])}
    return {name: channel_histogram(image[..., c]) for c, name in enumerate("RGB")}


class HistogramPanel(QWidget):
    """Histogram of ``workspace.document.active`` (image layers; labels/points get a count)."""

    def __init__(self, workspace: Workspace, parent: QWidget | None = None, *,
                 debounce_ms: int = DEBOUNCE_MS, max_pixels: int = MAX_PIXELS) -> None:
        super().__init__(parent)
        self.document = workspace.document
        self.max_pixels = max_pixels
        self._region: Region | None = None
        self._hists: Histograms = {}
        self._extra: dict[str, Histograms] = {}
        self._markers: list[float] = []
        self._marker_items: list[pg.InfiniteLine] = []
        self._curves: dict[tuple, pg.PlotDataItem] = {}  # (label, colour, filled) -> item

        self.plot = pg.PlotWidget(self)
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.getPlotItem().getAxis("left").setStyle(showValues=False)
        self.plot.setMinimumHeight(120)
        #: names the overlays only; the channel colours speak for themselves
        self.legend = self.plot.addLegend(offset=(6, 4), labelTextSize="7pt",
                                          verSpacing=-6, brush=(0, 0, 0, 150))
        self.info_label = QLabel(self)
        self.log_checkbox = QCheckBox("Log", self)
        self.log_checkbox.setToolTip("Logarithmic counts")
        self.log_checkbox.toggled.connect(self._redraw)
        row = QHBoxLayout()
        row.addWidget(self.info_label, 1)
        row.addWidget(self.log_checkbox)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.plot, 1)
        layout.addLayout(row)

        self._timer = debounce_timer(self, debounce_ms, self.refresh)

        self._link = ModelLink(self, [(self.document.active_changed, self._on_active_changed)])
        self._data_link = LayerDataLink(self, self._on_data_changed)
        self._link.connect_all()
        self._data_link.watch(self.document.active)
        self.refresh()

    # -- public -----------------------------------------------------------------------------
    def histograms(self) -> Histograms:
        """The shown histograms of the active layer: channel -> ``(edges, counts)``."""
        return dict(self._hists)

    def extra_histograms(self) -> dict[str, Histograms]:
        return dict(self._extra)

    def set_region(self, region: Region | None) -> None:
        """Restrict the histogram to ``(y0, y1, x0, x1)`` (None: the whole layer)."""
        self._region = None if region is None else tuple(int(v) for v in region)
        self.refresh()

    def region(self) -> Region | None:
        return self._region

    def set_markers(self, values: Sequence[float]) -> None:
        """Draw vertical lines at ``values`` (e.g. a threshold); ``[]`` removes them."""
        self._markers = [float(v) for v in values]
        for item in self._marker_items:
            self.plot.removeItem(item)
        self._marker_items = []
        for v in self._markers:
            line = pg.InfiniteLine(v, angle=90, movable=False,
                                   pen=pg.mkPen((255, 170, 0), width=1.5,
                                                style=pg.QtCore.Qt.PenStyle.DashLine))
            self.plot.addItem(line)
            self._marker_items.append(line)

    def markers(self) -> list[float]:
        return list(self._markers)

    def add_extra_histograms(self, arrays: Mapping[str, np.ndarray]) -> None:
        """Overlay the histograms of other images (e.g. a reference and a result), by name."""
        for name, array in arrays.items():
            self._extra[name] = image_histograms(np.asarray(array), None, self.max_pixels)
        self._redraw()

    def clear_extra(self) -> None:
        self._extra.clear()
        self._redraw()

    def schedule_refresh(self) -> None:
        """Recompute after the debounce interval (restarted by every call)."""
        self._timer.start()

    def refresh(self) -> None:
        """Recompute now from the active layer."""
        self._timer.stop()
        layer = self._data_link.layer
        self._hists = {}
        if layer is None:
            self.info_label.setText("No layer")
        elif layer.kind == LayerKind.IMAGE:
            data = layer.data
            self._hists = image_histograms(data, self._region, self.max_pixels)
            h, w = data.shape[:2]
            text = f"{layer.name}: {w}×{h} {data.dtype}"
            if self._region is not None:
                y0, y1, x0, x1 = self._region
                text += f", region {x1 - x0}×{y1 - y0} at ({x0}, {y0})"
            self.info_label.setText(text)
        elif layer.kind == LayerKind.LABELS:
            labels = np.unique(layer.data)
            count = int(np.count_nonzero(labels))
            self.info_label.setText(f"{layer.name}: {count} label{'s' if count != 1 else ''}")
        else:
            n = len(layer.data)
            noun = "point" if layer.kind == LayerKind.POINTS else "shape"
            self.info_label.setText(f"{layer.name}: {n} {noun}{'s' if n != 1 else ''}")
        self._redraw()

    # -- internals --------------------------------------------------------------------------
    def _on_active_changed(self, layer: Layer | None) -> None:
        self._data_link.watch(layer)
        self.schedule_refresh()

    def _on_data_changed(self, _layer: Layer, _region: object) -> None:
        self.schedule_refresh()

    def _redraw(self) -> None:
        """Update the curves in place (new items only for new channels or overlays)."""
        log = self.log_checkbox.isChecked()
        wanted: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
        for name, (edges, counts) in self._hists.items():
            wanted[(name, _COLOURS[name], True)] = (edges, counts)
        for i, (name, hists) in enumerate(self._extra.items()):
            for channel, (edges, counts) in hists.items():
                label = name if channel == "gray" else f"{name} {channel}"
                colour = (_COLOURS[channel] if len(hists) > 1
                          else _EXTRA_COLOURS[i % len(_EXTRA_COLOURS)])
                wanted[(label, colour, False)] = (edges, counts)
        for key in [k for k in self._curves if k not in wanted]:
            self.plot.removeItem(self._curves.pop(key))  # also drops its legend entry
        for key, (edges, counts) in wanted.items():
            y = np.log10(counts + 1.0) if log else counts.astype(float)
            item = self._curves.get(key)
            if item is not None:
                item.setData(edges, y)
                continue
            label, colour, fill = key
            style = (pg.QtCore.Qt.PenStyle.SolidLine if fill
                     else pg.QtCore.Qt.PenStyle.DashLine)
            extra = {"fillLevel": 0, "brush": (*colour, 50)} if fill else {}
            self._curves[key] = self.plot.plot(
                edges, y, stepMode="center", name=None if fill else label,
                pen=pg.mkPen(colour, width=1.2, style=style), **extra)
        if wanted:
            edges = [e for e, _ in wanted.values()]
            self.plot.setXRange(min(e[0] for e in edges), max(e[-1] for e in edges), padding=0)

    # -- lifetime ---------------------------------------------------------------------------
    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        self._timer.stop()
        self._link.disconnect()
        self._data_link.clear()
        super().closeEvent(event)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        if not self._link.connected:
            self._link.connect_all()
            self._data_link.watch(self.document.active)
            self.refresh()
        super().showEvent(event)
