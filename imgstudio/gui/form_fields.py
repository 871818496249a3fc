"""Parameter editors, one class per kind of editor; :data:`FIELD_TYPES` is the table.

Each editor builds its widgets, reads a Python value (``get``; None for "automatic") and shows
one (``set``). It calls ``notify`` on user changes; the form silences programmatic ones.
See :mod:`imgstudio.gui.forms` for the table of kinds and editors.
"""

from __future__ import annotations

import math
import pathlib
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QColorDialog,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QToolButton,
    QWidget,
)

from imgstudio.core.kinds import plain
from imgstudio.core.spec import ParamSpec
from imgstudio.core.types import Color

_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1
_FLOAT_LIMIT = 1e12


def label_for(name: str) -> str:
    return name.replace("_", " ").capitalize()


def _decimals(*values: float | None) -> int:
    """Digits after the point needed to show every value exactly (2 to 10)."""
    out = 2
    for v in values:
        if v is None or not math.isfinite(v):
            continue
        frac = f"{abs(v):.10f}".rstrip("0").split(".")[1]
        out = max(out, len(frac))
    return min(out, 10)


def initial_value(p: ParamSpec) -> Any:
    """What a field shows before any value is set: the default, or a neutral value."""
    if not p.required:
        return p.default
    if p.kind in ("int", "float"):
        v = 0 if p.lo is None else p.lo
        v = v if p.hi is None else min(v, p.hi)
        return int(v) if p.kind == "int" else float(v)
    return {"bool": False, "choice": p.choices[0] if p.choices else None,
            "color": Color(0, 0, 0)}.get(p.kind, "")


class Field:
    """The editor of one parameter. ``widget`` goes into the form row; ``parts`` names the
    widgets tests reach through :meth:`ParamForm.widget_for` ("editor", "slider", "auto"...)."""

    supports_auto = True

    def __init__(self, p: ParamSpec, notify: Callable[[], None]) -> None:
        self.p = p
        self.notify = notify
        self.widget = QWidget()
        self.widget.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.row = QHBoxLayout(self.widget)
        self.row.setContentsMargins(0, 0, 0, 0)
        self.parts: dict[str, QWidget] = {}
        self.build()
        self.auto: QCheckBox | None = None
        if p.optional and self.supports_auto:
            self.auto = QCheckBox("auto")
            self.auto.setToolTip("Checked: chosen automatically (None)")
            self.auto.toggled.connect(self._on_auto)
            self.add_part("auto", self.auto)
        for name, w in self.parts.items():
            if name != "auto":
                w.setToolTip(p.doc or w.toolTip())
        value = initial_value(p)
        if value is not None:
            self.set_value(value)
        elif self.auto is not None:
            self.auto.setChecked(True)

    def build(self) -> None:
        raise NotImplementedError

    def add_part(self, name: str, widget: QWidget, stretch: int = 0) -> None:
        """Add ``widget`` to the row (with ``stretch``) as the part called ``name``."""
        self.row.addWidget(widget, stretch)
        self.parts[name] = widget

    def _on_auto(self, checked: bool) -> None:
        for name, w in self.parts.items():
            if name != "auto":
                w.setEnabled(not checked)
        self.notify()

    def get(self) -> Any:
        if self.auto is not None and self.auto.isChecked():
            return None
        return self.value()

    def set(self, value: Any) -> None:
        if self.auto is not None:
            self.auto.setChecked(value is None)
        if value is not None or self.auto is None:
            self.set_value(value)

    def value(self) -> Any:
        raise NotImplementedError

    def set_value(self, value: Any) -> None:
        raise NotImplementedError


class _NumberField(Field):
    _SLIDER_STEPS = 1000

    def build(self) -> None:
        p, is_int = self.p, self.p.kind == "int"
        lo = p.lo if p.lo is not None else (_INT_MIN if is_int else -_FLOAT_LIMIT)
        hi = p.hi if p.hi is not None else (_INT_MAX if is_int else _FLOAT_LIMIT)
        if is_int:
            spin: QSpinBox | QDoubleSpinBox = QSpinBox()
            spin.setRange(int(max(lo, _INT_MIN)), int(min(hi, _INT_MAX)))
            spin.setSingleStep(int(p.step or 1))
        else:
            spin = QDoubleSpinBox()
            default = p.default if isinstance(p.default, (int, float)) else None
            step = p.step or self._nice_step(p.lo, p.hi, default)
            spin.setDecimals(_decimals(p.lo, p.hi, step, default))
            spin.setRange(float(lo), float(hi))
            spin.setSingleStep(step)
        spin.setMinimumWidth(80)
        spin.valueChanged.connect(self._on_spin)
        self.spin = spin
        self.add_part("editor", spin, 1)
        self.slider: QSlider | None = None
        if p.lo is not None and p.hi is not None and p.hi > p.lo:
            self.slider = QSlider(Qt.Orientation.Horizontal)
            self._direct = is_int and p.hi - p.lo <= 10000
            if self._direct:
                self.slider.setRange(int(p.lo), int(p.hi))
            else:
                self.slider.setRange(0, self._SLIDER_STEPS)
            self.slider.valueChanged.connect(self._on_slider)
            self.add_part("slider", self.slider, 2)

    @staticmethod
    def _nice_step(lo: float | None, hi: float | None, default: float | None) -> float:
        if lo is not None and hi is not None and hi > lo:
            return 10.0 ** math.floor(math.log10((hi - lo) / 100))
        if default and abs(default) < 1:
            return 10.0 ** math.floor(math.log10(abs(default)))
        return 0.1

    def _slider_pos(self, v: float) -> int:
        if self._direct:
            return int(v)
        lo, hi = float(self.p.lo), float(self.p.hi)  # type: ignore[arg-type]
        return round((v - lo) / (hi - lo) * self._SLIDER_STEPS)

    def _on_spin(self, v: float) -> None:
        if self.slider is not None:
            self.slider.blockSignals(True)
            self.slider.setValue(self._slider_pos(v))
            self.slider.blockSignals(False)
        self.notify()

    def _on_slider(self, pos: int) -> None:
        if self._direct:
            self.spin.setValue(pos)
        else:
            lo, hi = float(self.p.lo), float(self.p.hi)  # type: ignore[arg-type]
            v = lo + (hi - lo) * pos / self._SLIDER_STEPS
            self.spin.setValue(round(v) if self.p.kind == "int" else v)

    def value(self) -> Any:
        v = self.spin.value()
        return int(v) if self.p.kind == "int" else float(v)

    def set_value(self, value: Any) -> None:
        self.spin.setValue(value)


class _BoolField(Field):
    def build(self) -> None:
        self.box = QCheckBox()
        self.box.toggled.connect(lambda _on: self.notify())
        self.add_part("editor", self.box)
        self.row.addStretch(1)

    def value(self) -> bool:
        return self.box.isChecked()

    def set_value(self, value: Any) -> None:
        self.box.setChecked(bool(value))


class _ChoiceField(Field):
    def build(self) -> None:
        self.combo = QComboBox()
        for choice in self.p.choices:
            self.combo.addItem(str(plain(choice)))
        self.combo.currentIndexChanged.connect(lambda _i: self.notify())
        self.add_part("editor", self.combo, 1)

    def value(self) -> Any:
        return self.p.choices[self.combo.currentIndex()]

    def set_value(self, value: Any) -> None:
        self.combo.setCurrentIndex(self.p.choices.index(self.p.coerce(value)))


class _TextField(Field):
    """str, and the base of path and floats: an empty optional field means None."""

    supports_auto = False

    def build(self) -> None:
        self.edit = QLineEdit()
        self.edit.textEdited.connect(self._on_edit)
        self.add_part("editor", self.edit, 1)

    def _on_edit(self, _text: str) -> None:
        self.notify()

    def get(self) -> Any:
        if self.p.optional and not self.edit.text().strip():
            return None
        return self.value()

    def set(self, value: Any) -> None:
        self.set_value("" if value is None else value)

    def value(self) -> Any:
        return self.edit.text()

    def set_value(self, value: Any) -> None:
        self.edit.setText(str(value))


class _PathField(_TextField):
    def build(self) -> None:
        super().build()
        self.button = QToolButton()
        self.button.setText("…")
        self.button.clicked.connect(self._browse)
        self.add_part("button", self.button)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.widget, label_for(self.p.name), self.edit.text())
        if path:
            self.edit.setText(path)
            self.notify()

    def value(self) -> Any:
        text = self.edit.text().strip()
        return pathlib.Path(text) if text else ""


class _FloatsField(_TextField):
    def _on_edit(self, text: str) -> None:
        self._mark(text)
        self.notify()

    def _mark(self, text: str) -> None:
        try:
            if text.strip() or not self.p.optional:
                self.p.coerce(text)
            error = ""
        except ValueError as exc:
            error = str(exc)
        self.edit.setStyleSheet("QLineEdit { border: 1px solid #d33; }" if error else "")
        self.edit.setToolTip(error or self.p.doc)

    def value(self) -> Any:
        try:
            return self.p.coerce(self.edit.text())
        except ValueError:
            return self.edit.text()  # spec.validate names the parameter

    def set_value(self, value: Any) -> None:
        if isinstance(value, (tuple, list)):
            value = ", ".join(f"{v:g}" for v in value)
        self.edit.setText(str(value))
        self._mark(str(value))


class _ColorField(Field):
    def build(self) -> None:
        self.button = QPushButton()
        self.button.setMinimumWidth(90)
        self.button.clicked.connect(self._pick)
        self.add_part("editor", self.button)
        self.row.addStretch(1)
        self.color = Color(0, 0, 0)

    def _pick(self) -> None:
        c = self.color
        chosen = QColorDialog.getColor(QColor(c.r, c.g, c.b), self.widget, label_for(self.p.name))
        if chosen.isValid():
            new = Color(chosen.red(), chosen.green(), chosen.blue())
            if new != self.color:
                self.set_value(new)
                self.notify()

    def value(self) -> Color:
        return self.color

    def set_value(self, value: Any) -> None:
        c = self.p.coerce(value)
        self.color = c
        ink = "#000000" if 0.299 * c.r + 0.587 * c.g + 0.114 * c.b > 140 else "#ffffff"
        self.button.setText(c.hex())
        self.button.setStyleSheet(f"QPushButton {{ background: {c.hex()}; color: {ink}; }}")


#: The one table from a parameter kind's ``widget`` (:mod:`imgstudio.core.kinds`) to its editor.
FIELD_TYPES: dict[str, type[Field]] = {
    "number": _NumberField,
    "check": _BoolField,
    "combo": _ChoiceField,
    "line": _TextField,
    "file": _PathField,
    "color": _ColorField,
    "numbers": _FloatsField,
}
