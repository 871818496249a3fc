"""A live plot of an optimiser's metric, drawn from a job's progress messages.

Operations that optimise (intensity-based registration) report ``progress(fraction, message)`` once per
iteration with a message such as ``"level 2/3, iteration 40, metric -0.53"``.
:func:`parse_metric` reads the metric (and the resolution level) back from such a message;
:class:`MetricPlot` listens to one job's ``progress`` signal and plots the metric against the
iteration count, one colour per level. :func:`install` adds a plot to the Jobs-dock row of every
job whose messages carry a metric; the plot stays hidden, and pyqtgraph unimported, until the
first one arrives.

The plot lives on the UI thread and connects a bound method, so the worker's signal is queued
to it; redraws are coalesced by a short timer so a fast optimiser cannot flood the event loop.
"""

from __future__ import annotations

import math
import re
from typing import NamedTuple

from PySide6.QtWidgets import QVBoxLayout, QWidget

from imgstudio.gui.debounce import debounce_timer
from imgstudio.gui.workers import Job

#: Redraws are at most this often (ms).
REDRAW_MS = 50
#: Pen colours of successive resolution levels (coarse to fine).
LEVEL_COLOURS = ((255, 170, 0), (80, 170, 255), (90, 220, 120), (230, 90, 200))

_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf)"
_METRIC = re.compile(rf"\bmetric[ =:]\s*({_NUMBER})", re.IGNORECASE)
_LEVEL = re.compile(r"\blevel (\d+)(?:/(\d+))?", re.IGNORECASE)


class MetricPoint(NamedTuple):
    """One metric value read from a progress message; ``level`` counts from 1, ``levels`` is
    the number of levels when the message says it (else 0)."""

    value: float
    level: int = 1
    levels: int = 0


def parse_metric(message: str) -> MetricPoint | None:
    """The metric a progress message reports, or None when it reports none.

    >>> parse_metric("level 2/3, iteration 40, metric -0.53")
    MetricPoint(value=-0.53, level=2, levels=3)
    >>> parse_metric("registering") is None
    True
    """
    found = _METRIC.search(message or "")
    if found is None:
        return None
    value = float(found.group(1))
    level = _LEVEL.search(message)
    if level is None:
        return MetricPoint(value)
    return MetricPoint(value, int(level.group(1)), int(level.group(2) or 0))


class MetricPlot(QWidget):
    """The metric of one job per iteration. Hidden until the first metric message.

    ``values`` and ``levels`` hold every point received (in order, as the op's
    ``metric_values``); ``plot`` is the pyqtgraph ``PlotWidget`` once created, titled with
    :attr:`caption` (the latest value and the number of iterations).
    """

    def __init__(self, job: Job | None = None, parent: QWidget | None = None,
                 height: int = 110) -> None:
        super().__init__(parent)
        self.values: list[float] = []
        self.levels: list[int] = []
        self.plot = None  # pyqtgraph.PlotWidget, built on the first point
        self._curves: dict[int, object] = {}
        self._height = height
        self.caption = ""
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 2, 0, 0)
        self._layout.setSpacing(0)
        self._timer = debounce_timer(self, REDRAW_MS, self.redraw)
        self.hide()
        if job is not None:
            self.attach(job)

    def attach(self, job: Job) -> None:
        """Follow ``job``'s progress messages (queued onto this widget's thread)."""
        job.signals.progress.connect(self.on_progress)
        job.signals.finished.connect(self.redraw)

    def on_progress(self, _fraction: float, message: str) -> None:
        point = parse_metric(message)
        if point is None:
            return
        self.add_point(point)

    def add_point(self, point: MetricPoint) -> None:
        self.values.append(point.value)
        self.levels.append(point.level)
        if self.plot is None:
            self._build()
        if not self._timer.isActive():
            self._timer.start()

    def _build(self) -> None:
        import pyqtgraph as pg  # half a second to import: only once a metric arrives

        self.plot = pg.PlotWidget(self)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.setFixedHeight(self._height)
        self.plot.setToolTip("The optimiser's metric after each iteration (lower is better); "
                             "one colour per resolution level, coarse to fine")
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self._layout.addWidget(self.plot)
        self.show()

    def redraw(self) -> None:
        """Draw every point received so far (the timer's slot; also on job end)."""
        self._timer.stop()
        if self.plot is None or not self.values:
            return
        import pyqtgraph as pg

        for level in sorted(set(self.levels)):
            xs = [i for i, lev in enumerate(self.levels) if lev == level]
            ys = [self.values[i] for i in xs]
            curve = self._curves.get(level)
            if curve is None:
                colour = LEVEL_COLOURS[(level - 1) % len(LEVEL_COLOURS)]
                curve = self.plot.plot(pen=pg.mkPen(colour, width=1.5))
                self._curves[level] = curve
            finite = [(x, y) for x, y in zip(xs, ys, strict=True) if math.isfinite(y)]
            curve.setData([x for x, _ in finite], [y for _, y in finite])
        last = self.values[-1]
        n_levels = len(set(self.levels))
        self.caption = (f"metric {last:.6g} after {len(self.values)} iterations"
                        + (f" ({n_levels} resolution levels)" if n_levels > 1 else ""))
        self.plot.setTitle(self.caption, size="8pt")


def install(panel) -> None:
    """Give every row of ``panel`` (a :class:`~imgstudio.gui.panels.jobs.JobsPanel`) a
    :class:`MetricPlot` that appears when its job reports a metric."""
    panel.row_added.connect(_add_plot)
    for row in panel.rows():
        _add_plot(row)


def _add_plot(row) -> None:
    row.add_extra(MetricPlot(row.job))
