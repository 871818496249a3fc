"""The Training dock: train a model in the editor, watch it learn, stop, resume, use it.

The dock offers every registered operation whose spec declares
:class:`~imgstudio.core.editor.Training` (the GUI knows none by id). The chosen op's
generated form (:class:`~imgstudio.gui.forms.ParamForm`) shows all its parameters — the
dataset, epochs, seed, the model's name... Start runs the op in a worker
(:class:`~imgstudio.gui.workers.JobManager`); what it reports each epoch
(``progress.report("epoch", {"epoch": e, "epochs": n, <measures>, "preview": image})``) feeds

- a live plot (pyqtgraph, built lazily: one curve per measure, x = epoch; the measures are the
  spec's ``Training.plot``, or every number reported but ``epoch``/``epochs``),
- the latest preview image (a grid of samples or predictions) and an epoch line.

Stop cancels cooperatively: the training framework writes the checkpoint
(``<output>.ckpt``) after every finished epoch, so the last finished epoch is kept and the dock
says where. Resume runs the op again with its ``Training.resume`` parameter on and the same
name and output; the epoch counter and the plot continue. After a successful run "Use this
model" asks the window to open the first installed op of ``Training.uses`` with its model
parameter set to the new model's store name (its weights file, for a parameter that takes a
path): ``use_requested(op_id, parameter, value)``.

Signals: ``use_requested(str, str, str)``, ``result_ready(str, object)`` (the op's title and
its :class:`~imgstudio.core.types.Trained` result, for the Results dock), ``failed(str)``.
"""

from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from imgstudio.core import registry
from imgstudio.core.document import Document
from imgstudio.core.editor import Training
from imgstudio.core.invoke import Invocation
from imgstudio.core.progress import Progress
from imgstudio.core.spec import OperationSpec
from imgstudio.core.types import Trained
from imgstudio.gui.debounce import debounce_timer
from imgstudio.gui.forms import ParamForm, remember_values
from imgstudio.gui.panels.jobs import array_pixmap
from imgstudio.gui.workers import Job, JobManager

#: Plot and preview redraws are at most this often (ms).
REDRAW_MS = 50
#: The longer side of the preview image (px).
PREVIEW_SIDE = 320
#: Curve colours, one per measure in the order they first appear.
CURVE_COLOURS = ((255, 170, 0), (80, 170, 255), (90, 220, 120), (230, 90, 200),
                 (240, 240, 240), (200, 80, 80))
#: The report keys that are not measures.
NOT_MEASURES = ("epoch", "epochs", "preview")
#: The parameter a training op writes its weights to (the framework's ``output``).
OUTPUT_PARAM = "output"
#: Parameters naming a dataset folder (or a built-in dataset): the "Dataset folder…" button
#: fills the first the op has.
DATASET_PARAMS = ("dataset", "folder")


def training_specs() -> list[OperationSpec]:
    """Every registered op that declares ``editor.training``, by title."""
    specs = [s for s in registry.all_specs().values() if s.editor.training is not None]
    return sorted(specs, key=lambda s: (s.title.lower(), s.id))


def checkpoint_of(spec: OperationSpec, values: dict[str, Any]) -> Path | None:
    """Where a training of ``spec`` with ``values`` keeps its checkpoint: beside the model
    file, as its name plus ``.ckpt`` (the training framework's rule). With an ``output`` file
    that is known; for the default output (``<name>.<ext>`` in the user's model folder, the
    extension the op's own) it is the newest ``<name>.*.ckpt`` there. None when unknown (no
    checkpoint yet, or neither an output nor a name parameter)."""
    import glob

    import imgstudio.api as api

    training = spec.editor.training
    assert training is not None
    names = {p.name for p in spec.params}
    output = values.get(OUTPUT_PARAM) if OUTPUT_PARAM in names else None
    if output not in (None, ""):
        return Path(str(Path(str(output)).expanduser()) + ".ckpt")
    name = values.get(training.name) if training.name in names else None
    if not name:
        return None
    folder = Path(api.model_folder())
    found = [p for p in folder.glob(f"{glob.escape(str(name))}.*.ckpt") if p.is_file()]
    return max(found, key=lambda p: p.stat().st_mtime) if found else None


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def epoch_step(epochs: float) -> int:
    """Whole-epoch spacing of the plot's ticks: 1, 2, 5, 10, 20, 50... at most 8 ticks."""
    scale = 1
    while True:
        for step in (scale, 2 * scale, 5 * scale):
            if epochs / step <= 8:
                return step
        scale *= 10


class PreviewLabel(QLabel):
    """The latest preview image, fitted to the label (sharp pixels when enlarged)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.array: Any = None
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.setMinimumSize(64, 64)

    def set_array(self, array: Any) -> None:
        """Show ``array`` (None: the placeholder text)."""
        self.array = array
        self._draw()

    def _draw(self) -> None:
        if self.array is None:
            self.clear()
            self.setText("The preview appears after the first epoch")
            return
        side = min(self.width(), self.height(), PREVIEW_SIDE)
        try:
            self.setPixmap(array_pixmap(self.array, max(side, 32)))
        except ValueError:
            self.setText("(no preview)")

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        if self.array is not None:
            self._draw()


class TrainingPanel(QWidget):
    """The Training dock's widget (see the module docstring).

    ``history`` maps ``"epoch"`` and each measure to its values so far (what the plot draws);
    ``preview`` is the latest preview array; ``trained`` the last run's result; ``plot`` the
    pyqtgraph ``PlotWidget`` once built and ``curves`` its curves by measure.
    """

    use_requested = Signal(str, str, str)
    result_ready = Signal(str, object)
    failed = Signal(str)

    def __init__(self, jobs: JobManager, settings: QSettings | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.jobs = jobs
        self.settings = settings if settings is not None else QSettings("imgstudio", "imgstudio")
        self._document = Document()  # training ops take no layers: their forms need none
        self._spec: OperationSpec | None = None
        self.form: ParamForm | None = None
        self.job: Job | None = None
        self._stopping = False
        self._run_values: dict[str, Any] | None = None  # the values of the last run started
        self._reported_checkpoint: str | None = None  # a "checkpoint" an epoch report names
        self.history: dict[str, list[float]] = {}
        self.preview: Any = None
        self.trained: Trained | None = None
        self.plot: Any = None
        self.curves: dict[str, Any] = {}

        self.op_combo = QComboBox(self)
        self.op_combo.setToolTip("The training operations the editor knows")
        self.summary_label = QLabel("", self)
        self.summary_label.setWordWrap(True)
        self.scroll = QScrollArea(self)
        self.scroll.setWidgetResizable(True)
        self.folder_button = QPushButton("Dataset folder…", self)
        self.folder_button.setToolTip("Train on your own images: pick a folder of images "
                                      "(for classes, one sub-folder per class)")
        self.start_button = QPushButton("Start", self)
        self.start_button.setToolTip("Train from scratch with these settings (an earlier "
                                     "checkpoint of the same model is replaced)")
        self.stop_button = QPushButton("Stop", self)
        self.stop_button.setToolTip("Stop after the current batch; the checkpoint of the last "
                                    "finished epoch is kept, and Resume continues from it")
        self.resume_button = QPushButton("Resume", self)
        self.resume_button.setToolTip("Continue from the checkpoint of the last finished epoch "
                                      "(same name and output) up to the epochs set")
        self.use_button = QPushButton("Use this model", self)
        self.progress_bar = QProgressBar(self)
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setTextVisible(False)
        self.progress_bar.setMaximumHeight(12)
        self.epoch_label = QLabel("Not started", self)
        self.epoch_label.setWordWrap(True)
        self.status_label = QLabel("", self)
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.checkpoint_label = QLabel("", self)
        self.checkpoint_label.setWordWrap(True)
        self.checkpoint_label.setEnabled(False)  # a quieter note
        self.checkpoint_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse)
        self.preview_label = PreviewLabel(self)
        self.preview_label.set_array(None)
        self.preview_label.setToolTip("What the model makes after the latest epoch")

        self.controls = QWidget(self)
        controls = QVBoxLayout(self.controls)
        controls.setContentsMargins(0, 0, 0, 0)
        controls.addWidget(self.op_combo)
        controls.addWidget(self.summary_label)
        controls.addWidget(self.scroll, 1)
        controls.addWidget(self.folder_button, 0, Qt.AlignmentFlag.AlignRight)
        self.live = QWidget(self)
        live = QVBoxLayout(self.live)
        live.setContentsMargins(0, 0, 0, 0)
        buttons = QHBoxLayout()
        for b in (self.start_button, self.stop_button, self.resume_button, self.use_button):
            buttons.addWidget(b)
        live.addLayout(buttons)
        live.addWidget(self.progress_bar)
        live.addWidget(self.epoch_label)
        live.addWidget(self.status_label)
        live.addWidget(self.checkpoint_label)
        #: The plot (once built) and the preview: side by side in a wide dock.
        self.views = QSplitter(Qt.Orientation.Horizontal, self.live)
        self.views.setChildrenCollapsible(False)
        self.views.addWidget(self.preview_label)
        live.addWidget(self.views, 1)
        #: Controls and live view: side by side in a wide dock, stacked in a tall one.
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.addWidget(self.controls)
        self.splitter.addWidget(self.live)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.splitter)

        self._redraw_timer = debounce_timer(self, REDRAW_MS, self.redraw)
        self._pending_progress: tuple[float, str] | None = None  # shown every REDRAW_MS
        self._progress_timer = debounce_timer(self, REDRAW_MS, self._show_progress)
        self.op_combo.currentIndexChanged.connect(self._on_op_chosen)
        self.folder_button.clicked.connect(self._choose_folder)
        self.start_button.clicked.connect(lambda: self.start(resume=False))
        self.stop_button.clicked.connect(self.stop)
        self.resume_button.clicked.connect(lambda: self.start(resume=True))
        self.use_button.clicked.connect(self.use_model)
        self.refresh()

    # -- ops and forms ------------------------------------------------------------------------
    @property
    def spec(self) -> OperationSpec | None:
        return self._spec

    @property
    def training(self) -> Training | None:
        return self._spec.editor.training if self._spec is not None else None

    @property
    def running(self) -> bool:
        return self.job is not None

    def refresh(self) -> None:
        """Refill the op list from the registry (keeping the chosen op when it is still
        there)."""
        current = self._spec.id if self._spec is not None else None
        specs = training_specs()
        self.op_combo.blockSignals(True)
        self.op_combo.clear()
        for spec in specs:
            self.op_combo.addItem(spec.title, spec.id)
            self.op_combo.setItemData(self.op_combo.count() - 1, spec.summary,
                                      Qt.ItemDataRole.ToolTipRole)
        index = self.op_combo.findData(current) if current is not None else -1
        self.op_combo.blockSignals(False)
        if not specs:
            self._spec = None
            self._set_form(None)
            self.summary_label.setText("No training operation is installed.")
        elif index >= 0:
            self.op_combo.setCurrentIndex(index)
        else:
            self.op_combo.setCurrentIndex(0)
            self._on_op_chosen(0)
        self._update_buttons()

    def set_operation(self, op_id: str) -> None:
        """Choose the training op ``op_id`` (``KeyError`` when it is not a training op)."""
        index = self.op_combo.findData(op_id)
        if index < 0:
            self.refresh()
            index = self.op_combo.findData(op_id)
        if index < 0:
            raise KeyError(f"{op_id!r} is not a training operation")
        self.op_combo.setCurrentIndex(index)

    def _on_op_chosen(self, index: int) -> None:
        op_id = self.op_combo.itemData(index)
        if op_id is None or (self._spec is not None and self._spec.id == op_id):
            return
        self._spec = registry.get(op_id)
        self.summary_label.setText(self._spec.summary)
        self.summary_label.setToolTip(self._spec.doc)
        self._set_form(self._spec)
        self._run_values = None
        self.trained = None
        self._clear_live()
        self.epoch_label.setText("Not started")
        self._status("")
        self._update_buttons()

    def _set_form(self, spec: OperationSpec | None) -> None:
        if self.form is not None:
            self.form.detach()
            self.form.deleteLater()
            self.form = None
        holder = QWidget()
        column = QVBoxLayout(holder)
        column.setContentsMargins(0, 0, 0, 0)
        if spec is not None:
            self.form = ParamForm(spec, self._document, self.settings)
            self.form.changed.connect(self._update_buttons)
            training = spec.editor.training
            if training is not None and training.resume in self.form.fields:
                field = self.form.fields[training.resume]
                field.widget.setEnabled(False)  # Start runs afresh, Resume continues
                field.widget.setToolTip("Set by the buttons: Start trains afresh, Resume "
                                        "continues from the checkpoint")
            column.addWidget(self.form)
        column.addStretch(1)
        self.scroll.setWidget(holder)
        self.folder_button.setVisible(self._dataset_param() is not None)

    def _dataset_param(self) -> str | None:
        fields = self.form.fields if self.form is not None else {}
        return next((name for name in DATASET_PARAMS if name in fields), None)

    def _choose_folder(self) -> None:
        name = self._dataset_param()
        folder = QFileDialog.getExistingDirectory(self, "Dataset folder")
        if folder and name is not None and self.form is not None:
            self.form.set_values({name: folder})
            self._update_buttons()

    # -- running ------------------------------------------------------------------------------
    def checkpoint(self) -> Path | None:
        """The checkpoint the form's settings (or the run in progress) write or resume from."""
        if self._spec is None or self.form is None:
            return None
        if self.running and self._reported_checkpoint is not None:
            return Path(self._reported_checkpoint)
        values = self._run_values if self.running and self._run_values else self.form.values()
        try:
            return checkpoint_of(self._spec, values)
        except (OSError, ValueError):
            return None

    def start(self, resume: bool = False) -> Job | None:
        """Run the chosen training in a worker (``resume``: from its checkpoint, with the name
        and output of the run it continues). Returns the job, or None when the settings are
        refused (the status line says why)."""
        spec, form, training = self._spec, self.form, self.training
        if spec is None or form is None or training is None or self.running:
            return None
        if resume and self._run_values is not None:  # continue that run: same name and output
            same = {k: self._run_values[k] for k in (training.name, OUTPUT_PARAM)
                    if k in self._run_values}
            form.set_values(same)
        values = form.values()
        if training.resume in form.fields:
            values[training.resume] = resume
            form.set_values({training.resume: resume})
        try:
            invocation = Invocation.from_layers(spec, {}, values)
        except ValueError as exc:
            self._show_failure(exc)
            return None
        remember_values(self.settings, spec,
                        {k: v for k, v in values.items() if k != training.resume})
        self._run_values = dict(values)
        self._reported_checkpoint = None
        self.trained = None
        if not resume:
            self._clear_live()
        self._stopping = False
        self.status_label.setStyleSheet("")
        self._status("Resuming…" if resume else "Starting…")
        self.progress_bar.setValue(0)
        self.ensure_plot()  # pyqtgraph is imported now, not while the training runs

        listening = threading.Event()  # JobManager.start runs the job before we connect

        def work(progress: Progress) -> Any:
            listening.wait(5.0)
            return invocation.run(progress)

        title = f"{spec.title} (resumed)" if resume else spec.title
        self.job = self.jobs.start(work, title, on_result=self._on_result,
                                   on_error=self._on_error, on_cancel=self._on_cancelled,
                                   on_progress=self._on_progress)
        self.job.signals.reported.connect(self._on_report)
        listening.set()
        self._show_checkpoint()
        self._update_buttons()
        return self.job

    def stop(self) -> None:
        """Cancel the running training at its next safe point (the checkpoint stays)."""
        if self.job is None:
            return
        self._stopping = True
        self.job.cancel()
        self._status("Stopping after the current batch…")
        self._update_buttons()

    def use_model(self) -> tuple[str, str, str] | None:
        """Ask the window to open the first op that uses the trained model, with the model
        filled in (emits ``use_requested``): its store name, or its weights file where the
        parameter takes a file path. Returns what was asked, or None."""
        target = self._use_target()
        if target is None or self.trained is None:
            return None
        op_id, param = target
        kind = registry.get(op_id).param(param).kind
        value = self.trained.path if kind == "path" else self.trained.name
        self.use_requested.emit(op_id, param, value)
        return op_id, param, value

    def _use_target(self) -> tuple[str, str] | None:
        training = self.training
        if training is None:
            return None
        specs = registry.all_specs()
        for op_id, param in training.uses.items():
            if op_id in specs and any(p.name == param for p in specs[op_id].params):
                return op_id, param
        return None

    # -- job signals --------------------------------------------------------------------------
    def _on_progress(self, fraction: float, message: str) -> None:
        # per batch: a fast training reports hundreds a second; show the latest at most
        # every REDRAW_MS (a word-wrapped label relayouts the dock each time it changes)
        self._pending_progress = (fraction, message)
        if not self._progress_timer.isActive():
            self._progress_timer.start()

    def _show_progress(self) -> None:
        pending, self._pending_progress = self._pending_progress, None
        if pending is None or not self.running:
            return
        fraction, message = pending
        self.progress_bar.setValue(round(fraction * 1000))
        if message and not self._stopping:
            self._status(message)

    def _on_report(self, name: str, data: object) -> None:
        if name != "epoch" or not isinstance(data, dict) or not _number(data.get("epoch")):
            return
        epoch = int(data["epoch"])
        wanted = self.training.plot if self.training is not None else ()
        measures = {k: float(v) for k, v in data.items()
                    if k not in NOT_MEASURES and _number(v) and (not wanted or k in wanted)}
        epochs = self.history.get("epoch", [])
        keep = sum(1 for e in epochs if e < epoch)  # a rerun of epochs drops the old points
        self.history = {k: v[:keep] for k, v in self.history.items()}
        self.history.setdefault("epoch", []).append(float(epoch))
        for k, v in measures.items():
            column = self.history.setdefault(k, [])
            column.extend([math.nan] * (keep - len(column)))  # a measure new this epoch
            column.append(v)
        for column in self.history.values():  # a measure missing this epoch
            column.extend([math.nan] * (keep + 1 - len(column)))
        total = f" of {int(data['epochs'])}" if _number(data.get("epochs")) else ""
        shown = ", ".join(f"{k} {v:.4g}" for k, v in measures.items())
        self.epoch_label.setText(f"Epoch {epoch}{total}" + (f" — {shown}" if shown else ""))
        if data.get("preview") is not None:
            self.preview = data["preview"]
        if isinstance(data.get("checkpoint"), str):
            self._reported_checkpoint = data["checkpoint"]
        self._show_checkpoint()  # written by now
        if not self._redraw_timer.isActive():
            self._redraw_timer.start()

    def _on_result(self, result: Any) -> None:
        spec = self._spec
        self._finish()
        if isinstance(result, Trained):
            self.trained = result
            losses = result.losses.columns if result.losses is not None else {}
            plot = self.training.plot if self.training is not None else ()
            wanted = set(self.history) or {  # nothing reported: the table's measures
                k for k in losses if k != "seconds" and (not plot or k in plot)}
            if "epoch" in losses and wanted <= set(losses):
                # the whole history, epochs of runs before this one (another session) included
                self.history = {k: [float(x) if _number(x) else math.nan for x in v]
                                for k, v in losses.items() if k == "epoch" or k in wanted}
            self._status(f"Trained model {result.name!r} ({result.epochs} epochs), saved as "
                         f"{Path(result.path).name}.")
            self.status_label.setToolTip(result.path)
        else:
            self._status("Finished.")
        self.redraw()
        self._update_buttons()
        self.result_ready.emit(spec.title if spec is not None else "Training", result)

    def _on_error(self, exc: BaseException) -> None:
        self._finish()
        self._show_failure(exc)
        self._update_buttons()

    def _on_cancelled(self) -> None:
        self._finish()
        done = int(self.history["epoch"][-1]) if self.history.get("epoch") else 0
        ckpt = self.checkpoint()
        if done and ckpt is not None and ckpt.is_file():
            self._status(f"Stopped. The checkpoint of epoch {done} is kept: "
                                      "Resume continues from it.")
        else:
            self._status("Stopped before the first epoch finished: there is no "
                                      "checkpoint of this run.")
        self.redraw()
        self._update_buttons()

    def _finish(self) -> None:
        self._pending_progress = None
        self._progress_timer.stop()
        self.job = None
        self._stopping = False
        self.progress_bar.setValue(0)
        self._show_checkpoint()

    def _status(self, text: str) -> None:
        self.status_label.setText(text)
        self.status_label.setToolTip(text)  # a long path may not fit

    def _show_failure(self, exc: BaseException) -> None:
        spec = self._spec
        text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        if spec is not None and text.startswith(spec.id + ": "):
            text = text[len(spec.id) + 2:]
        if not isinstance(exc, ValueError):
            text = f"{type(exc).__name__}: {text}"
        message = f"{spec.title if spec is not None else 'Training'}: {text}"
        self._status(message)
        self.status_label.setStyleSheet("color: #c0392b;")
        self.failed.emit(message)

    # -- plot and preview ---------------------------------------------------------------------
    def ensure_plot(self) -> Any:
        """Build the loss plot (imports pyqtgraph: about half a second, so the dock does it
        when first shown or at Start, never while a training reports)."""
        if self.plot is not None:
            return self.plot
        import pyqtgraph as pg

        self.plot = pg.PlotWidget(self.live)
        self.plot.setMenuEnabled(False)
        self.plot.setMinimumSize(160, 120)
        # no grid: pyqtgraph draws it across the whole view, two thirds of a redraw's time
        self.plot.setLabel("bottom", "epoch")
        self.plot.addLegend(offset=(-5, 5))
        self.plot.setToolTip("The measures the training reports after each epoch")
        self.views.insertWidget(0, self.plot)
        self.views.setStretchFactor(0, 3)
        self.views.setStretchFactor(1, 1)
        self.views.setSizes([300, PREVIEW_SIDE])
        self.redraw()
        return self.plot

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        wide = self.width() >= 1.4 * self.height()
        orientation = Qt.Orientation.Horizontal if wide else Qt.Orientation.Vertical
        if self.splitter.orientation() != orientation:
            self.splitter.setOrientation(orientation)
            self.views.setOrientation(orientation)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        if self.plot is None:  # after this paint, so the dock appears at once
            QTimer.singleShot(0, self, self.ensure_plot)

    def plot_data(self) -> dict[str, tuple[list[float], list[float]]]:
        """What each curve draws now: measure → (epochs, values)."""
        out = {}
        for name, curve in self.curves.items():
            xs, ys = curve.getData()
            out[name] = ([] if xs is None else [float(x) for x in xs],
                         [] if ys is None else [float(y) for y in ys])
        return out

    def redraw(self) -> None:
        """Draw the history and the latest preview (the redraw timer's slot)."""
        self._redraw_timer.stop()
        if self.preview is not self.preview_label.array:
            self.preview_label.set_array(self.preview)
        if self.plot is None:
            return
        import pyqtgraph as pg

        epochs = self.history.get("epoch", [])
        for name in [k for k in self.history if k != "epoch"]:
            curve = self.curves.get(name)
            if curve is None:
                colour = CURVE_COLOURS[len(self.curves) % len(CURVE_COLOURS)]
                curve = self.plot.plot(pen=pg.mkPen(colour, width=1.5), symbol="o",
                                       symbolSize=5, symbolBrush=colour, symbolPen=None,
                                       name=name)
                self.curves[name] = curve
            points = [(x, y) for x, y in zip(epochs, self.history[name], strict=False)
                      if math.isfinite(y)]
            curve.setData([x for x, _ in points], [y for _, y in points])
        for name in [k for k in self.curves if k not in self.history]:
            self.curves[name].setData([], [])
        step = epoch_step(max(epochs, default=1))
        self.plot.getAxis("bottom").setTickSpacing(step, step)

    def _clear_live(self) -> None:
        self.history = {}
        self.preview = None
        self.redraw()

    # -- state --------------------------------------------------------------------------------
    def _show_checkpoint(self) -> None:
        import imgstudio.api as api

        if self._spec is None:
            self.checkpoint_label.setText("")
            return
        ckpt = self.checkpoint()
        folder = Path(api.model_folder())
        if ckpt is None:
            where, path = "beside the model file", str(folder)
        elif ckpt.parent == folder:
            where, path = f"{ckpt.name} in your model folder", str(ckpt)
        else:
            where, path = str(ckpt), str(ckpt)
        self.checkpoint_label.setText(f"Checkpoint after every epoch ({where}): Stop keeps "
                                      "the last finished one, Resume continues from it.")
        self.checkpoint_label.setToolTip(path)

    def _update_buttons(self) -> None:
        has_op = self._spec is not None and self.form is not None
        running = self.running
        ckpt = self.checkpoint() if has_op else None
        self.op_combo.setEnabled(not running)
        if self.form is not None:
            self.form.setEnabled(not running)
        self.folder_button.setEnabled(not running)
        self.start_button.setEnabled(has_op and not running)
        self.stop_button.setEnabled(running and not self._stopping)
        self.resume_button.setEnabled(has_op and not running and ckpt is not None
                                      and ckpt.is_file())
        target = self._use_target()
        self.use_button.setEnabled(not running and self.trained is not None
                                   and target is not None)
        self.use_button.setToolTip(
            f"Open {registry.get(target[0]).title} with this model" if target is not None
            else "No installed operation uses this kind of model")
        if not running:
            self._show_checkpoint()
