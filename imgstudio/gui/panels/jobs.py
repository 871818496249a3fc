"""The Jobs dock: one row per background job — title, progress, message, Cancel.

Rows listen to their job's own signals (queued onto the UI thread because the row is a
``QObject`` living there), so the worker never touches a widget. Finished rows say
"done in 1.2 s", "cancelled" or "failed: …" and can be cleared one by one or all together.

A job that reports ``"sample"`` (``progress.report("sample", {"index": i, "count": n,
"image": grid})``: a sampler filling a grid of generated images) shows the grid made so far
in its row as it grows; redraws are coalesced (at most one per :data:`SAMPLE_REDRAW_MS`), so
a fast sampler cannot flood the event loop. :func:`array_pixmap` turns such an array into a
pixmap (also used by the Training dock).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from imgstudio.gui.debounce import debounce_timer
from imgstudio.gui.workers import Job, JobManager

_STEPS = 1000  # progress bar resolution
#: Sample grids are redrawn, and progress shown, at most this often (ms).
SAMPLE_REDRAW_MS = 50
PROGRESS_MS = 50
#: The longer side of a sample grid shown in a row (px).
SAMPLE_SIDE = 144


def array_pixmap(array: Any, side: int) -> QPixmap:
    """A pixmap of an ``(h, w)`` or ``(h, w, 3|4)`` image array (uint8; other dtypes are
    stretched to 0..255), fitted into ``side`` × ``side``: small images (an 8×8 digits grid)
    are enlarged by a whole factor with sharp pixels, large ones reduced smoothly. UI thread
    only."""
    values = np.asarray(array)
    if values.ndim == 3 and values.shape[2] == 1:
        values = values[..., 0]
    if values.ndim not in (2, 3) or values.size == 0 or (values.ndim == 3
                                                         and values.shape[2] not in (3, 4)):
        raise ValueError(f"not an image array: shape {values.shape}")
    if values.dtype != np.uint8:
        v = values.astype(np.float64)
        lo, hi = float(np.nanmin(v)), float(np.nanmax(v))
        scale = 255.0 / (hi - lo) if hi > lo else 0.0
        values = np.clip(np.rint(np.nan_to_num(v - lo) * scale), 0, 255).astype(np.uint8)
    values = np.ascontiguousarray(values[..., :3] if values.ndim == 3 else values)
    h, w = values.shape[:2]
    fmt = QImage.Format.Format_Grayscale8 if values.ndim == 2 else QImage.Format.Format_RGB888
    pixmap = QPixmap.fromImage(QImage(values.data, w, h, values.strides[0], fmt).copy())
    longest = max(h, w)
    if longest <= side // 2:  # enlarge by a whole factor, pixels stay sharp
        factor = side // longest
        return pixmap.scaled(w * factor, h * factor, Qt.AspectRatioMode.KeepAspectRatio,
                             Qt.TransformationMode.FastTransformation)
    if longest > side:
        return pixmap.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio,
                             Qt.TransformationMode.SmoothTransformation)
    return pixmap


class JobRow(QFrame):
    """The row of one job. ``state`` is waiting, running, cancelling, done, cancelled, failed.

    ``sample_label`` shows the latest ``"sample"`` grid the job reported (hidden until one
    arrives); ``samples`` is ``(index, count)`` of the one shown. Signals:
    ``clear_requested(row)``, ``sample_shown(row)`` (a sample grid was drawn).
    """

    clear_requested = Signal(object)
    sample_shown = Signal(object)

    def __init__(self, job: Job, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.job = job
        self.state = "waiting"
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.title_label = QLabel(job.title, self)
        font = self.title_label.font()
        font.setBold(True)
        self.title_label.setFont(font)
        self.status_label = QLabel("waiting…", self)
        self.status_label.setEnabled(False)
        self.progress_bar = QProgressBar(self)
        self.progress_bar.setRange(0, 0)  # busy until the first progress report
        self.progress_bar.setTextVisible(True)
        self.progress_bar.setMaximumHeight(14)
        self.message_label = QLabel("", self)
        self.message_label.setWordWrap(True)
        self.message_label.hide()
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setToolTip(f"Stop {job.title!r} at its next safe point")
        self.clear_button = QToolButton(self)
        self.clear_button.setAutoRaise(True)
        self.clear_button.setIcon(
            self.style().standardIcon(QStyle.StandardPixmap.SP_TitleBarCloseButton))
        self.clear_button.setToolTip("Remove this finished job from the list")
        self.clear_button.hide()
        self.sample_label = QLabel(self)
        self.sample_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.sample_label.hide()
        self.samples: tuple[int, int] | None = None
        self._pending_sample: dict[str, Any] | None = None
        self._sample_timer = debounce_timer(self, SAMPLE_REDRAW_MS, self._draw_sample)
        # a job reporting every few milliseconds (a training's batches) must not relayout
        # the dock as often: the latest progress is shown at most every PROGRESS_MS
        self._pending_progress: tuple[float, str] | None = None
        self._progress_timer = debounce_timer(self, PROGRESS_MS, self._show_progress)

        top = QHBoxLayout()
        top.addWidget(self.title_label, 1)
        top.addWidget(self.status_label)
        top.addWidget(self.clear_button)
        bottom = QHBoxLayout()
        bottom.addWidget(self.progress_bar, 1)
        bottom.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(2)
        layout.addLayout(top)
        layout.addLayout(bottom)
        layout.addWidget(self.message_label)
        layout.addWidget(self.sample_label)

        self.cancel_button.clicked.connect(self.cancel)
        self.clear_button.clicked.connect(self._on_clear_clicked)
        signals = job.signals
        signals.started.connect(self._on_started)
        signals.progress.connect(self._on_progress)
        signals.reported.connect(self._on_reported)
        signals.returned.connect(self._on_returned)
        signals.errored.connect(self._on_errored)
        signals.cancelled.connect(self._on_cancelled)
        signals.finished.connect(self._on_finished)
        if job.done:  # finished before we were shown (should not happen, but be safe)
            self._on_finished()

    @property
    def finished(self) -> bool:
        return self.state in ("done", "cancelled", "failed")

    def add_extra(self, widget: QWidget) -> None:
        """Show ``widget`` under the row's message (e.g. a live plot of the job's metric)."""
        self.layout().addWidget(widget)

    def status_text(self) -> str:
        return self.status_label.text()

    def cancel(self) -> None:
        if self.finished:
            return
        self.job.cancel()
        self.state = "cancelling"
        self.status_label.setText("cancelling…")
        self.cancel_button.setEnabled(False)

    def _on_started(self) -> None:
        if self.state == "waiting":
            self.state = "running"
            self.status_label.setText("running")

    def _on_progress(self, fraction: float, message: str) -> None:
        if self.finished:
            return
        first = self._pending_progress is None and self.progress_bar.maximum() == 0
        self._pending_progress = (fraction, message or (self._pending_progress or (0, ""))[1])
        if first:
            self._show_progress()  # the first report at once
        elif not self._progress_timer.isActive():
            self._progress_timer.start()

    def _show_progress(self) -> None:
        pending, self._pending_progress = self._pending_progress, None
        if pending is None or self.finished:
            return
        fraction, message = pending
        if self.progress_bar.maximum() == 0:
            self.progress_bar.setRange(0, _STEPS)
        self.progress_bar.setValue(round(fraction * _STEPS))
        if message:
            self.message_label.setText(message)
            self.message_label.show()

    def _on_reported(self, name: str, data: object) -> None:
        if name != "sample" or not isinstance(data, dict) or data.get("image") is None:
            return
        self._pending_sample = data  # only the latest is drawn
        if not self._sample_timer.isActive():
            self._sample_timer.start()

    def _draw_sample(self) -> None:
        data, self._pending_sample = self._pending_sample, None
        if data is None:
            return
        try:
            pixmap = array_pixmap(data["image"], SAMPLE_SIDE)
        except ValueError:
            return
        count = int(data.get("count") or 0)
        index = min(int(data.get("index") or 0) + 1, count) if count else 0
        self.samples = (index, count)
        self.sample_label.setPixmap(pixmap)
        self.sample_label.setToolTip(f"Made so far: {index} of {count}" if count
                                     else "Made so far")
        self.sample_label.show()
        self.sample_shown.emit(self)

    def _on_returned(self, _result: object) -> None:
        self.state = "done"

    def _on_errored(self, exc: BaseException) -> None:
        self.state = "failed"
        text = str(exc) or type(exc).__name__
        self.status_label.setText(f"failed: {text}")
        self.status_label.setToolTip(self.job.error_text)

    def _on_cancelled(self) -> None:
        self.state = "cancelled"
        self.status_label.setText("cancelled")

    def _on_finished(self) -> None:
        self._draw_sample()  # the last grid reported, if its redraw was still pending
        self._progress_timer.stop()
        if self._pending_progress is not None and self._pending_progress[1]:
            self.message_label.setText(self._pending_progress[1])  # the last word said
            self.message_label.show()
        self._pending_progress = None
        if not self.finished:  # finished without a result signal seen: treat as done
            self.state = "done"
        if self.state == "done":
            elapsed = self.job.elapsed or 0.0
            self.status_label.setText(f"done in {elapsed:.1f} s")
            self.progress_bar.setRange(0, _STEPS)
            self.progress_bar.setValue(_STEPS)
        elif self.progress_bar.maximum() == 0:
            self.progress_bar.setRange(0, _STEPS)
            self.progress_bar.setValue(0)
        self.status_label.setEnabled(self.state != "failed")
        if self.state == "failed":
            self.status_label.setStyleSheet("color: #c0392b;")
        self.cancel_button.hide()
        self.progress_bar.hide()  # the status says it all now
        self.clear_button.show()

    def _on_clear_clicked(self) -> None:
        self.clear_requested.emit(self)


class JobsPanel(QWidget):
    """The jobs of ``job_manager``, newest on top. Signals ``row_added(JobRow)``,
    ``sample_shown(JobRow)`` (a row drew a sample grid: the window brings the dock forward)."""

    row_added = Signal(object)
    sample_shown = Signal(object)

    def __init__(self, job_manager: JobManager, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.job_manager = job_manager
        self._rows: dict[int, JobRow] = {}

        self._container = QWidget()
        self._rows_layout = QVBoxLayout(self._container)
        self._rows_layout.setContentsMargins(2, 2, 2, 2)
        self._rows_layout.setSpacing(4)
        self._rows_layout.addStretch(1)
        self.scroll = QScrollArea(self)
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(self._container)
        self.empty_label = QLabel("No jobs", self)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setEnabled(False)
        self.clear_button = QPushButton("Clear finished", self)
        self.clear_button.clicked.connect(self.clear_finished)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.empty_label)
        layout.addWidget(self.scroll, 1)
        layout.addWidget(self.clear_button, 0, Qt.AlignmentFlag.AlignRight)

        job_manager.job_added.connect(self.add_job)
        job_manager.job_finished.connect(self._update_state)
        for job in job_manager.live:
            self.add_job(job)
        self._update_state()

    def add_job(self, job: Job) -> JobRow:
        """Show ``job`` (called for every ``job_manager.job_added``)."""
        if job.id in self._rows:
            return self._rows[job.id]
        row = JobRow(job, self._container)
        row.clear_requested.connect(self._clear_row)
        row.sample_shown.connect(self.sample_shown)
        job.signals.finished.connect(self._update_state)
        self._rows[job.id] = row
        self._rows_layout.insertWidget(0, row)
        self._update_state()
        # the newest card is on top: bring it into view whole once the layout has placed it
        QTimer.singleShot(0, lambda: self._show_row(row))
        self.row_added.emit(row)
        return row

    def _show_row(self, row: JobRow) -> None:
        if row.job.id in self._rows:
            self.scroll.ensureWidgetVisible(row, 0, 0)

    def row_for(self, job: Job) -> JobRow | None:
        return self._rows.get(job.id)

    def rows(self) -> list[JobRow]:
        """The rows, newest first."""
        return sorted(self._rows.values(), key=lambda r: -r.job.id)

    def clear_finished(self) -> None:
        for row in [r for r in self._rows.values() if r.finished]:
            self._clear_row(row)

    def _clear_row(self, row: JobRow) -> None:
        if not row.finished:
            return
        self._rows.pop(row.job.id, None)
        self._rows_layout.removeWidget(row)
        row.hide()
        row.deleteLater()
        self._update_state()

    def _update_state(self, *_: object) -> None:
        self.empty_label.setVisible(not self._rows)
        self.scroll.setVisible(bool(self._rows))
        self.clear_button.setEnabled(any(r.finished for r in self._rows.values()))
