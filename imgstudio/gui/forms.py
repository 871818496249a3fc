"""Parameter forms generated from an :class:`~imgstudio.core.spec.OperationSpec` (magicgui-style).

Each parameter kind (:mod:`imgstudio.core.kinds`) names an editor; :data:`FIELD_TYPES` maps
that name to the editor class, so a new kind is one entry in the kinds table (and a new editor,
when none fits, one entry here); a kind whose editor is missing is a ``TypeError`` when the
form is built. Layer inputs other than the first (the active layer is ``image``) become layer
pickers filtered by kind and kept in sync with the document; each starts on
:func:`default_layer` (a layer named like the input, else for seeds/markers/masks the active
or newest layer of that kind; optional inputs on "(none)", unless the op declares
``Editor(prefill=...)``: then on the layer the active one was made from, else on the only
layer of that kind).

What the op declares about its inputs and parameters (:class:`~imgstudio.core.editor.Editor`)
shapes the form as the user picks layers: a parameter declared ``applies={name: With(input)}``
(or ``Without``) is hidden while it does not apply (its value is still passed; the op ignores
it), and an optional input left at "(none)" although a parameter asks for it
(``Editor.needs``) gets a note under the form ("mean_intensity needs an image: none chosen").

==========  ===========================================================================
editor      widgets (kinds)
==========  ===========================================================================
number      ``QSpinBox`` / ``QDoubleSpinBox`` (+ ``QSlider`` when both bounds are finite)
            (int, float)
check       ``QCheckBox`` (bool)
combo       ``QComboBox`` of the choices; an enum member shows its value (choice)
line        ``QLineEdit`` (str)
file        ``QLineEdit`` + "…" button, ``QFileDialog`` (path)
color       a button painted in the colour, ``QColorDialog`` on click (color)
numbers     ``QLineEdit`` of comma-separated numbers, checked with ``ParamSpec.coerce``
            (floats)
==========  ===========================================================================

``T | None`` ("automatic") adds an *auto* checkbox to int/float/bool/choice/color editors:
checked means ``None`` and disables the editor. For str/path/floats an empty field means
``None``. Last-used values live in ``QSettings`` under ``ops/<op_id>/<param>`` as JSON text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QWidget,
)

from imgstudio.core.document import Document, Layer
from imgstudio.core.kinds import plain
from imgstudio.core.spec import InputSpec, OperationSpec
from imgstudio.core.types import LayerKind
from imgstudio.gui.form_fields import FIELD_TYPES, Field, initial_value, label_for
from imgstudio.gui.panels import ModelLink

__all__ = ["FIELD_TYPES", "NONE_TEXT", "ParamForm", "default_layer", "remember_values"]

NONE_TEXT = "(none)"


class _LayerPicker:
    """A combo box (or a checkable list for ``many``) of the document's layers of one kind."""

    def __init__(self, ispec: InputSpec, document: Document, notify: Callable[[], None],
                 first_kind: LayerKind | None = None, prefill: bool = False) -> None:
        self.ispec = ispec
        self.document = document
        self.notify = notify
        self.first_kind = first_kind
        self.prefill = prefill
        self.widget: QComboBox | QListWidget
        if ispec.many:
            self.widget = QListWidget()
            self.widget.setMaximumHeight(90)
            self.widget.itemChanged.connect(lambda _item: self.notify())
        else:
            self.widget = QComboBox()
            self.widget.currentIndexChanged.connect(lambda _i: self.notify())
        self.widget.setToolTip(ispec.doc or f"A {ispec.kind.value} layer")
        if ispec.many:
            active = document.active
            candidates = document.of_kind(ispec.kind)
            chosen = [] if ispec.optional else [x for x in candidates if x is not active]
        else:
            chosen = default_layer(ispec, document, first_kind, prefill)
        self.refill(chosen)

    def layers(self) -> list[Layer]:
        return self.document.of_kind(self.ispec.kind)

    def refill(self, chosen: Any) -> None:
        """Rebuild the items from the document, keeping ``chosen`` (a layer, list or None)."""
        w = self.widget
        w.blockSignals(True)
        w.clear()
        if isinstance(w, QListWidget):
            keep = {x.id for x in chosen or []}
            for lay in self.layers():
                item = QListWidgetItem(lay.name)
                item.setData(Qt.ItemDataRole.UserRole, lay.id)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Checked if lay.id in keep
                                   else Qt.CheckState.Unchecked)
                w.addItem(item)
        else:
            if self.ispec.optional:
                w.addItem(NONE_TEXT, None)
            for lay in self.layers():
                w.addItem(lay.name, lay.id)
            index = w.findData(chosen.id) if chosen is not None else -1
            w.setCurrentIndex(max(index, 0))  # "(none)" or the first layer
        w.blockSignals(False)

    def chosen_ids(self) -> list[str]:
        w = self.widget
        if isinstance(w, QListWidget):
            return [w.item(i).data(Qt.ItemDataRole.UserRole) for i in range(w.count())
                    if w.item(i).checkState() == Qt.CheckState.Checked]
        return [] if w.currentData() is None else [w.currentData()]

    def get(self) -> Any:
        chosen = [self.document[i] for i in self.chosen_ids()]
        if self.ispec.many:
            return chosen
        return chosen[0] if chosen else None

    def set(self, value: Any) -> None:
        def find(v: Any) -> Layer:
            return self.document.by_name(v) if isinstance(v, str) else v

        chosen = [find(v) for v in value] if self.ispec.many else (
            None if value is None else find(value))
        self.refill(chosen)

    def sync(self) -> None:
        """Follow a document change; notify when the selection changed because of it."""
        before = self.chosen_ids()
        alive = [self.document[i] for i in before if any(x.id == i for x in self.document)]
        if self.ispec.many:
            self.refill(alive)
        elif alive or self.ispec.optional:
            self.refill(alive[0] if alive else None)
        else:  # a required input that had no layer (or lost it) takes the default again
            self.refill(default_layer(self.ispec, self.document, self.first_kind, self.prefill))
        if self.chosen_ids() != before:
            self.notify()


def _named_like(layer: Layer, ispec: InputSpec) -> bool:
    """The layer's name holds the input's name, or its singular ("Seeds 2" for ``seeds``,
    "Propose watershed markers of …" for ``markers``, "Marker" too)."""
    word = ispec.name.lower().replace("_", " ")
    word = word[:-1] if word.endswith("s") and len(word) > 3 else word
    return word in layer.name.lower()


def _made_from(layer: Layer | None, candidates: list[Layer]) -> Layer | None:
    """The candidate ``layer`` was made from, as its name tells ("Watershed of Blobs 2" was
    made from "Blobs"), or None."""
    if layer is None or " of " not in layer.name:
        return None
    source = layer.name.split(" of ", 1)[1]
    trimmed = re.sub(r" \d+$", "", source)
    return next((x for x in candidates if x is not layer and x.name in (source, trimmed)), None)


def default_layer(ispec: InputSpec, document: Document,
                  first_kind: LayerKind | None = None, prefill: bool = False) -> Layer | None:
    """The layer a single-layer picker starts on (``first_kind``: the kind of the op's first
    input, the active layer).

    A layer named like the input (its name or singular) wins: the active one, else the
    topmost. Otherwise an optional input starts on (none), unless ``prefill`` (declared by
    the op): then on the layer the active one was made from, else on the only layer of its
    kind. A required one starts, for an input of the first input's kind (a reference image),
    on the bottom-most layer other than the active one; for another kind (seeds, markers), on
    the active layer when it is of that kind (being painted), else the topmost, usually the
    newest.
    """
    active = document.active
    candidates = document.of_kind(ispec.kind)
    named = [x for x in candidates if _named_like(x, ispec)]
    if named:
        return active if active in named else named[-1]
    if ispec.optional and prefill:
        source = _made_from(active, candidates)
        return source or (candidates[0] if len(candidates) == 1 else None)
    if ispec.optional or not candidates:
        return None
    if ispec.kind == first_kind:
        return ([x for x in candidates if x is not active] or candidates)[0]
    return active if active in candidates else candidates[-1]


class ParamForm(QWidget):
    """The form of one operation: parameter editors and layer pickers.

    Signal ``changed()`` is emitted once per user change (never while :meth:`set_values` runs).
    """

    changed = Signal()

    def __init__(self, spec: OperationSpec, document: Document,
                 settings: QSettings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spec = spec
        self.document = document
        self.settings = settings if settings is not None else QSettings("imgstudio", "imgstudio")
        self._quiet = 1  # building and restoring emit nothing
        layout = QFormLayout(self)
        layout.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        layout.setFormAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        layout.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self._layout = layout
        self.pickers: dict[str, _LayerPicker] = {}
        # The active layer is the first input, except a list input (frames, images to stack):
        # that one is picked here like the others.
        shown = [i for n, i in enumerate(spec.inputs) if n > 0 or i.many]
        for ispec in shown:
            first_kind = spec.inputs[0].kind if spec.inputs else None
            picker = _LayerPicker(ispec, document, self._notify, first_kind,
                                  ispec.name in spec.editor.prefill)
            self.pickers[ispec.name] = picker
            label = QLabel(f"{label_for(ispec.name)} ({ispec.kind.value})")
            label.setToolTip(picker.widget.toolTip())
            layout.addRow(label, picker.widget)
        self.fields: dict[str, Field] = {}
        for p in spec.params:
            cls = FIELD_TYPES.get(p.widget)
            if cls is None:
                missing = f" (its editor {p.widget!r} does not exist)" if p.widget else ""
                raise TypeError(f"{spec.id}: parameter {p.name} has unknown kind {p.kind!r}"
                                + missing)
            field = cls(p, self._notify)
            self.fields[p.name] = field
            label = QLabel(label_for(p.name))
            label.setToolTip(p.doc)
            layout.addRow(label, field.widget)
        if not self.pickers and not self.fields:
            layout.addRow(QLabel("This operation has no parameters."))
        self.note_label = QLabel("")
        self.note_label.setWordWrap(True)
        self.note_label.setStyleSheet("color: #d9a400;")
        layout.addRow(self.note_label)
        self._link = ModelLink(self, [(document.layer_inserted, self._on_layers),
                                      (document.layer_removed, self._on_layers)])
        self._named: set[str] = set()
        self._link.connect_all()
        self._watch_names()
        self._restore()
        self._quiet -= 1
        self._follow_inputs()

    # -- values -------------------------------------------------------------------------------
    def values(self) -> dict[str, Any]:
        """Parameter name → Python value as the widgets show it (validate with the spec)."""
        return {name: field.get() for name, field in self.fields.items()}

    def inputs(self) -> dict[str, Layer | list[Layer] | None]:
        """Layer inputs other than the first: name → layer, list of layers or None."""
        return {name: picker.get() for name, picker in self.pickers.items()}

    def set_values(self, values: dict[str, Any]) -> None:
        """Show ``values`` (coerced through the spec; ``ValueError`` naming a bad one)."""
        self._quiet += 1
        try:
            for name, value in values.items():
                if name not in self.fields:
                    raise ValueError(f"{self.spec.id}: unknown parameter {name!r}")
                p = self.fields[name].p
                self.fields[name].set(None if value is None and p.optional else p.coerce(value))
        finally:
            self._quiet -= 1
        self._follow_inputs()

    def set_inputs(self, inputs: dict[str, Any]) -> None:
        """Pick layers (objects or names; a list for ``many`` inputs) without emitting."""
        self._quiet += 1
        try:
            for name, value in inputs.items():
                self.pickers[name].set(value)
        finally:
            self._quiet -= 1
        self._follow_inputs()

    def reset(self) -> None:
        """Back to the spec's defaults; emits ``changed`` once."""
        self.set_values({p.name: initial_value(p) for p in self.spec.params})
        self.changed.emit()

    def given(self) -> set[str]:
        """The layer inputs that have a layer (the first input, the active layer, always)."""
        names = {i.name for n, i in enumerate(self.spec.inputs) if n == 0 and not i.many}
        return names | {name for name, picker in self.pickers.items() if picker.chosen_ids()}

    def is_shown(self, name: str) -> bool:
        """Whether the row of parameter or input ``name`` is shown (see ``Editor.applies``)."""
        widget = self.pickers[name].widget if name in self.pickers else self.fields[name].widget
        return self._layout.isRowVisible(widget)

    def left_out(self) -> list[str]:
        """What the current values ask of inputs left at "(none)" (``Editor.needs``), one
        line each; also shown under the form."""
        return self.spec.editor.left_out(self.values(), self.given())

    def _follow_inputs(self) -> None:
        """Hide the parameters that do not apply to the inputs given; update the note."""
        if not hasattr(self, "note_label"):  # the rows are still being built
            return
        given = self.given()
        for name, field in self.fields.items():
            self._layout.setRowVisible(field.widget,
                                       self.spec.editor.applies_to(name, given))
        lines = self.left_out()
        self.note_label.setText("\n".join(lines))
        self._layout.setRowVisible(self.note_label, bool(lines))

    def widget_for(self, name: str, part: str = "editor") -> QWidget:
        """The widget of a parameter (``part``: editor, slider, auto, button) or layer input."""
        if name in self.pickers:
            return self.pickers[name].widget
        return self.fields[name].parts[part]

    # -- remembered values --------------------------------------------------------------------
    def remember(self, values: dict[str, Any] | None = None) -> None:
        """Store ``values`` (default: the current ones) as this op's last-used values."""
        remember_values(self.settings, self.spec, self.values() if values is None else values)

    def _restore(self) -> None:
        for p in self.spec.params:
            raw = self.settings.value(f"ops/{self.spec.id}/{p.name}")
            if not isinstance(raw, str):
                continue
            try:
                self.set_values({p.name: json.loads(raw)})
            except (ValueError, TypeError):
                continue  # stale or hand-edited: keep the default

    # -- document sync ------------------------------------------------------------------------
    def _notify(self) -> None:
        self._follow_inputs()
        if not self._quiet:
            self.changed.emit()

    def _watch_names(self) -> None:
        for layer in self.document:
            if layer.id not in self._named:
                self._named.add(layer.id)
                self._link.add(layer.property_changed, self._on_property)

    def _on_layers(self, _index: int, _layer: Layer) -> None:
        self._watch_names()
        for picker in self.pickers.values():
            picker.sync()
        self._follow_inputs()

    def _on_property(self, _layer: Layer, name: str) -> None:
        if name == "name":
            for picker in self.pickers.values():
                picker.sync()
            self._follow_inputs()

    def detach(self) -> None:
        """Stop following the document (the form is being dropped)."""
        self._link.disconnect()


def remember_values(settings: QSettings, spec: OperationSpec, values: dict[str, Any]) -> None:
    """Store plain (JSON) values under ``ops/<op_id>/<param>``; invalid ones are skipped."""
    for name, value in values.items():
        try:
            checked = spec.param(name).coerce(value)
        except (KeyError, ValueError):
            continue
        settings.setValue(f"ops/{spec.id}/{name}", json.dumps(plain(checked)))
    settings.sync()
