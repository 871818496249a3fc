"""The Operation dock: the form of the chosen operation, live preview, Apply and Cancel.

The form hides the parameters that do not apply to the inputs chosen and notes what an input
left at "(none)" leaves out (as the op declares, see :mod:`imgstudio.gui.forms`); the status
after Apply repeats that note. Apply validates on the UI thread (an :class:`~imgstudio.core.invoke.Invocation`), runs
:func:`~imgstudio.core.apply.prepare_invocation` (the op and the diff of its history command)
in a worker and, back on the UI thread, records it with
:func:`~imgstudio.core.apply.commit` (one history step). A failed or cancelled job, or one
whose target layer was edited meanwhile, leaves the document and the history untouched. The
op reads the active layer, or, while that layer is one of its other inputs (seeds being
painted), the image below it (:func:`input_layer`).

Live preview (when the Preview toggle is on): each form change restarts a
:data:`PREVIEW_DEBOUNCE_MS` single-shot timer; on timeout the op runs in a worker on a proxy
chosen by :func:`imgstudio.gui.preview.make_proxy` from what the op's spec declares (the
visible region, or the whole layer, downscaled when large; see that module). Stale results are dropped by a generation counter and
the previous preview job is cancelled. The result goes to
``preview_target.set_preview(layer, array, region)`` and to ``preview_ready``. Preview never
touches the history or layer data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from imgstudio.core import registry
from imgstudio.core.apply import Prepared, commit, input_layers, prepare_invocation
from imgstudio.core.document import Document, Layer
from imgstudio.core.invoke import Invocation
from imgstudio.core.progress import Cancelled, Progress
from imgstudio.core.spec import OperationSpec
from imgstudio.core.types import Region
from imgstudio.core.workspace import Workspace
from imgstudio.gui.debounce import debounce_timer
from imgstudio.gui.forms import ParamForm, remember_values
from imgstudio.gui.panels import ModelLink
from imgstudio.gui.preview import (
    PreviewResult,
    PreviewTarget,
    Proxy,
    make_proxy,
    region_scale,
    screen_zoom,
    trim,
)
from imgstudio.gui.workers import Job, JobManager

PREVIEW_DEBOUNCE_MS = 150


@dataclass
class _ApplyContext:
    spec: OperationSpec
    layer: Layer | None
    values: dict[str, Any]
    job: Job | None = None
    cancel_requested: bool = False
    layer_edited: bool = False
    left_out: tuple[str, ...] = ()


@dataclass
class _Call:
    """An op call checked on the UI thread: the layer it reads, the layers of its inputs and
    the invocation (inputs and parameters validated once)."""

    layer: Layer | None
    chosen: dict[str, Any]
    invocation: Invocation


def _previewable(spec: OperationSpec | None) -> bool:
    """Whether the op previews at all (its spec may say Apply only; ops without inputs or
    on a list of layers, such as focus stacking, only run with Apply)."""
    return spec is not None and spec.preview_mode() != "apply"


def input_layer(spec: OperationSpec, document: Document, picked: dict[str, Any]) -> Layer | None:
    """The layer the op's first input reads: the active layer, unless that layer is of another
    kind and picked in the form for another input (seeds, markers or a mask being painted on,
    seed points being placed): then the nearest layer below it of the first input's kind (else
    above it)."""
    active = document.active
    if active is None or not spec.inputs or spec.inputs[0].many:
        return active
    if active.kind == spec.inputs[0].kind:
        return active
    chosen = [x for v in picked.values() for x in (v if isinstance(v, list) else [v])]
    if not any(x is active for x in chosen):
        return active
    kind, index = spec.inputs[0].kind, document.index(active)
    below = [x for x in document.layers[:index] if x.kind == kind]
    above = [x for x in document.layers[index + 1:] if x.kind == kind]
    return below[-1] if below else (above[0] if above else active)


def _one_line(spec: OperationSpec, exc: BaseException) -> str:
    text = (str(exc).strip().splitlines() or [""])[0]
    if text.startswith(spec.id + ": "):
        text = text[len(spec.id) + 2:]
    if not isinstance(exc, ValueError):
        text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return f"{spec.title} ({spec.id}): {text}"


def applied_status(spec: OperationSpec, left_out: tuple[str, ...] = ()) -> str:
    """The status after Apply, naming what was left out for an input left at "(none)"."""
    text = f"Applied {spec.title}"
    return text + (". Left out: " + "; ".join(left_out) if left_out else "")


class OperationPanel(QWidget):
    """Form + preview toggle + Apply/Cancel for one operation at a time.

    Signals: ``applied(Prepared)``, ``failed(str)`` (one line naming the op), ``error(str,
    exception)`` (the same line and the exception, emitted just before ``failed``, so a missing
    model can be offered for import), ``result_ready(obj)``
    (non-layer results such as Table/Classes), ``busy_changed(bool)`` (an Apply job runs; emitted
    False last, after ``applied``/``failed``), ``preview_ready(PreviewResult)``,
    ``preview_failed(str)``, ``operation_changed(OperationSpec)`` (a new form is shown).
    """

    applied = Signal(object)
    failed = Signal(str)
    error = Signal(str, object)
    result_ready = Signal(object)
    busy_changed = Signal(bool)
    preview_ready = Signal(object)
    preview_failed = Signal(str)
    operation_changed = Signal(object)

    def __init__(self, workspace: Workspace, jobs: JobManager,
                 preview_target: PreviewTarget | None = None,
                 settings: QSettings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.jobs = jobs
        self.preview_target = preview_target
        self.settings = settings if settings is not None else QSettings("imgstudio", "imgstudio")
        self._spec: OperationSpec | None = None
        self._form: ParamForm | None = None
        self._apply: _ApplyContext | None = None
        self._preview_job: Job | None = None
        self._preview_gen = 0
        self._preview_meta: tuple[Layer, Proxy] | None = None
        self._shown: PreviewResult | None = None  # the preview on screen, for view_moved
        #: Returns the canvas selection (with ``bbox()`` and ``mask(shape)``) or None; when
        #: set, Apply runs the op on the selection only.
        self.selection_source: Callable[[], Any] | None = None

        self.title_label = QLabel("No operation")
        self.title_label.setStyleSheet("font-weight: bold; font-size: 13pt;")
        self.summary_label = QLabel("Choose an operation from the menus or the command palette "
                                    "(Ctrl+Shift+P).")
        self.summary_label.setWordWrap(True)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.reset_button = QPushButton("Reset")
        self.preview_button = QPushButton("Preview")
        self.preview_button.setCheckable(True)
        self.apply_button = QPushButton("Apply")
        self.apply_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel")
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setTextVisible(False)
        self.progress_bar.setVisible(False)
        self.status_label = QLabel("")
        self.status_label.setWordWrap(True)

        buttons = QHBoxLayout()
        for b in (self.reset_button, self.preview_button, self.apply_button, self.cancel_button):
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title_label)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.scroll, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.status_label)

        self.preview_timer = debounce_timer(self, PREVIEW_DEBOUNCE_MS, self.run_preview)
        self.reset_button.clicked.connect(self._on_reset)
        self.preview_button.toggled.connect(self._on_preview_toggled)
        self.apply_button.clicked.connect(self.apply)
        self.cancel_button.clicked.connect(self.cancel)
        self._link = ModelLink(self, [
            (workspace.document.active_changed, self._on_model_changed),
            (workspace.history.changed, self._on_model_changed),
        ])
        self._link.connect_all()
        self._update_buttons()

    # -- public -------------------------------------------------------------------------------
    @property
    def spec(self) -> OperationSpec | None:
        return self._spec

    @property
    def form(self) -> ParamForm | None:
        return self._form

    @property
    def busy(self) -> bool:
        return self._apply is not None

    def set_operation(self, op_id: str) -> None:
        """Show the form of ``op_id`` (``KeyError`` when unknown); clears any preview."""
        spec = registry.get(op_id)
        self._stop_preview()
        if self._form is not None:
            self._form.detach()
            self._form.deleteLater()
        self._spec = spec
        self._form = ParamForm(spec, self.workspace.document, self.settings)
        self._form.changed.connect(self.schedule_preview)
        holder = QWidget()  # keeps the rows at the top instead of spreading them out
        column = QVBoxLayout(holder)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self._form)
        column.addStretch(1)
        self.scroll.setWidget(holder)
        self.title_label.setText(spec.title)
        self.summary_label.setText(spec.summary)
        self.summary_label.setToolTip(spec.doc)
        self.status_label.setText("")
        self._fill_region_from_selection()
        self._update_buttons()
        self.operation_changed.emit(spec)
        self.schedule_preview()

    def _fill_region_from_selection(self) -> None:
        """An op declaring ``Editor(region=...)`` (crop) takes the selection's rectangle."""
        names = self._spec.editor.region if self._spec is not None else None
        selection = self.selection_source() if self.selection_source is not None else None
        if not names or selection is None or self._form is None:
            return
        box = selection.bbox()
        layer = self.workspace.document.active
        if layer is not None and layer.shape is not None:
            box = box.clip(layer.shape) or box
        self._form.set_values(dict(zip(names, (box.x0, box.y0, box.width, box.height),
                                       strict=True)))

    def apply(self) -> None:
        """Run the op on the active layer in a worker, then record one history step."""
        spec, form = self._spec, self._form
        if spec is None or form is None or self._apply is not None:
            return
        values = form.values()
        try:
            checked = self._check(spec, values)
        except ValueError as exc:
            self._fail(spec, exc)
            return
        self._cancel_preview_job()
        layer = checked.layer
        self._apply = ctx = _ApplyContext(spec, layer, values, left_out=tuple(form.left_out()))
        if layer is not None:
            layer.data_changed.connect(self._on_target_edited)
        self.progress_bar.setValue(0)
        self.progress_bar.setVisible(True)
        self.status_label.setText(f"Running {spec.title}…")
        self._update_buttons()
        self.busy_changed.emit(True)
        document = self.workspace.document
        region, region_mask = self._selection_for(layer)

        def work(progress: Progress) -> Prepared:
            return prepare_invocation(document, checked.invocation, checked.chosen, layer=layer,
                                      progress=progress, region=region,
                                      region_mask=region_mask)

        ctx.job = self.jobs.start(
            work, spec.title, on_result=self._on_apply_result, on_error=self._on_apply_error,
            on_cancel=self._on_apply_cancelled, on_progress=self._on_apply_progress)

    @property
    def takes_position(self) -> bool:
        """The op declares ``(x, y)`` parameters the canvas's Place tool sets."""
        return self._spec is not None and self._spec.editor.position is not None

    def set_position(self, x: int, y: int) -> None:
        """Set the op's position parameters (from the Place tool) and refresh the preview."""
        if self._form is None or not self.takes_position:
            return
        name_x, name_y = self._spec.editor.position  # type: ignore[union-attr]
        self._form.set_values({name_x: int(x), name_y: int(y)})
        self.schedule_preview()

    def _selection_for(self, layer: Layer | None) -> tuple[Any, Any]:
        """(bbox, mask) of the current selection for ``layer``, or (None, None)."""
        selection = self.selection_source() if self.selection_source is not None else None
        if selection is None or layer is None or layer.shape is None:
            return None, None
        if self._spec is not None and self._spec.editor.region:  # the selection set its params
            return None, None
        return selection.bbox(), selection.mask(layer.shape)

    def cancel(self) -> None:
        """Cancel the running Apply job (cooperatively; a late result is dropped)."""
        if self._apply is not None and self._apply.job is not None:
            self._apply.cancel_requested = True
            self._apply.job.cancel()
            self.status_label.setText("Cancelling…")

    def view_moved(self) -> None:
        """The canvas panned, zoomed or was resized: preview again only when the preview on
        screen no longer covers the view at the resolution the screen needs (a dock resized
        smaller, a pan inside it or a whole-layer preview need nothing new)."""
        if not self._shown_covers_view():
            self.schedule_preview()

    def _shown_covers_view(self) -> bool:
        shown, target = self._shown, self.preview_target
        if shown is None or target is None or self._preview_job is not None:
            return False
        on_screen = getattr(target, "previews", None)
        if shown.layer not in self.workspace.document or (
                on_screen is not None and shown.layer.id not in on_screen):
            return False  # the layer went, or its preview was cleared meanwhile
        if shown.region is None:  # the whole layer (downscaled to a budget): any view
            return True
        view = target.visible_region()
        if view is None:
            return False
        view, covered = Region(*view), Region(*shown.region)
        inside = (covered.y0 <= view.y0 and view.y1 <= covered.y1
                  and covered.x0 <= view.x0 and view.x1 <= covered.x1)
        return inside and shown.scale >= region_scale(view, screen_zoom(target)) - 1e-9

    def schedule_preview(self) -> None:
        """(Re)start the preview debounce; nothing happens while the toggle is off."""
        self._shown = None
        if self.preview_button.isChecked() and self._spec is not None:
            self._preview_gen += 1
            self._cancel_preview_job()
            self.preview_timer.start()

    # -- apply --------------------------------------------------------------------------------
    def _check(self, spec: OperationSpec, values: dict[str, Any]) -> _Call:
        """Resolve the op's layers and validate its inputs and parameters, on the UI thread
        (``ValueError`` naming what is wrong)."""
        assert self._form is not None
        picked = self._form.inputs()
        layer = input_layer(spec, self.workspace.document, picked)
        chosen = {k: v for k, v in picked.items() if v not in (None, [])}
        first = spec.inputs[0] if spec.inputs else None
        if first is not None and first.many and first.name not in chosen and first.optional:
            layer = None  # nothing ticked: e.g. long exposure from its video file instead
        chosen = input_layers(spec, layer, chosen)
        return _Call(layer, chosen, Invocation.from_layers(spec, chosen, values))

    def _fail(self, spec: OperationSpec, exc: BaseException) -> None:
        message = _one_line(spec, exc)
        self.status_label.setText(message)
        self.error.emit(message, exc)
        self.failed.emit(message)

    def _finish_apply(self, status: str) -> None:
        if self._apply is not None and self._apply.layer is not None:
            self._apply.layer.data_changed.disconnect(self._on_target_edited)
        self._apply = None
        self.progress_bar.setValue(0)
        self.progress_bar.setVisible(False)
        if status:
            self.status_label.setText(status)
        self._update_buttons()
        self.busy_changed.emit(False)

    def _on_apply_progress(self, fraction: float, message: str) -> None:
        self.progress_bar.setValue(round(fraction * 1000))
        if message and self._apply is not None and not self._apply.cancel_requested:
            self.status_label.setText(message)

    def _on_target_edited(self, *_args: Any) -> None:
        if self._apply is not None:
            self._apply.layer_edited = True

    def _on_apply_result(self, prepared: Prepared) -> None:
        ctx = self._apply
        if ctx is None:
            return
        if ctx.cancel_requested:
            self._finish_apply("Cancelled")
            return
        spec, doc = ctx.spec, self.workspace.document
        try:
            if ctx.layer is not None and ctx.layer not in doc:
                raise ValueError(f"the layer {ctx.layer.name!r} was removed while it ran")
            if ctx.layer_edited and prepared.command is not None and not prepared.new_layers:
                raise ValueError(f"the layer {ctx.layer.name!r} was edited while it ran; "
                                 "apply again")
            commit(self.workspace.history, doc, prepared)
        except Exception as exc:  # shown to the user; nothing was recorded
            self._fail(spec, exc)
            self._finish_apply("")
            return
        remember_values(self.settings, spec, ctx.values)
        self.preview_button.setChecked(False)
        self.applied.emit(prepared)
        if spec.output.kind == "result":
            self.result_ready.emit(prepared.result)
        self._finish_apply(applied_status(spec, ctx.left_out))

    def _on_apply_error(self, exc: BaseException) -> None:
        ctx = self._apply
        if ctx is None:
            return
        self._fail(ctx.spec, exc)
        self._finish_apply("")

    def _on_apply_cancelled(self) -> None:
        if self._apply is not None:
            self._finish_apply("Cancelled")

    # -- preview ------------------------------------------------------------------------------
    def run_preview(self) -> None:
        """Start a preview job now (the debounce timer's slot)."""
        spec = self._spec
        if spec is None or not self.preview_button.isChecked() or not _previewable(spec):
            return
        self._preview_gen += 1
        gen = self._preview_gen
        self._cancel_preview_job()
        try:
            checked = self._check(spec, self._form.values())  # type: ignore[union-attr]
        except ValueError as exc:
            self._preview_error(spec, exc)
            return
        layer, invocation = checked.layer, checked.invocation
        assert layer is not None
        region = self.preview_target.visible_region() if self.preview_target else None
        proxy = make_proxy(spec, invocation.inputs, region, screen_zoom(self.preview_target))
        source = proxy.inputs[spec.inputs[0].name]

        def work(progress: Progress) -> tuple[int, Any, Any]:
            try:
                result = Invocation(spec, proxy.inputs, invocation.params).run(progress)
                return gen, trim(result, proxy, source), None
            except Cancelled:
                raise
            except Exception as exc:  # reported with its generation, see _on_preview_result
                return gen, None, exc

        self._preview_meta = (layer, proxy)
        self._preview_job = self.jobs.start(work, f"Preview {spec.title}",
                                            on_result=self._on_preview_result)

    def _on_preview_result(self, payload: tuple[int, Any, Any]) -> None:
        gen, result, error = payload
        spec = self._spec
        if gen != self._preview_gen or spec is None or not self.preview_button.isChecked():
            return  # stale: parameters, layer or op changed meanwhile
        self._preview_job = None
        if error is not None:
            self._preview_error(spec, error)
            return
        assert self._preview_meta is not None
        layer, proxy = self._preview_meta
        preview = PreviewResult(layer, result, proxy.region, proxy.scale)
        self._shown = preview
        if (self.preview_target is not None and isinstance(result, np.ndarray)
                and spec.output.kind in ("image", "labels")
                and layer in self.workspace.document):
            self.preview_target.set_preview(layer, result, proxy.region)
        self.status_label.setText("")
        self.preview_ready.emit(preview)

    def _preview_error(self, spec: OperationSpec, exc: BaseException) -> None:
        self._shown = None
        message = "Preview: " + _one_line(spec, exc)
        if self.preview_target is not None:
            self.preview_target.clear_preview()
        self.status_label.setText(message)
        self.preview_failed.emit(message)

    def _cancel_preview_job(self) -> None:
        if self._preview_job is not None:
            self._preview_job.cancel()
            self._preview_job = None

    def _stop_preview(self) -> None:
        self._shown = None
        self._preview_gen += 1
        self.preview_timer.stop()
        self._cancel_preview_job()
        if self.preview_target is not None:
            self.preview_target.clear_preview()

    # -- slots --------------------------------------------------------------------------------
    def _on_preview_toggled(self, on: bool) -> None:
        if on:
            self.schedule_preview()
        else:
            self._stop_preview()

    def _on_reset(self) -> None:
        if self._form is not None:
            self._form.reset()

    def _on_model_changed(self, *_args: Any) -> None:
        self.schedule_preview()

    def _update_buttons(self) -> None:
        has_op, busy = self._spec is not None, self._apply is not None
        self.reset_button.setEnabled(has_op)
        self.preview_button.setEnabled(has_op and _previewable(self._spec))
        self.apply_button.setEnabled(has_op and not busy)
        self.cancel_button.setEnabled(busy)

