"""The History dock: "Original" then one row per undo step; click a row to go back to it.

Rows after the current state are greyed (they can be redone). The applied steps that ran an
operation form the recipe, which the panel saves as JSON or exports as a Python script.
"""

from __future__ import annotations

import enum
import os
from typing import Any

from PySide6.QtCore import QSignalBlocker, Signal
from PySide6.QtGui import QBrush, QFont, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from imgstudio.core.io import atomic_write_text
from imgstudio.core.recipe import save_recipe
from imgstudio.core.replay import to_script
from imgstudio.core.undo_storage import fmt_bytes
from imgstudio.core.workspace import Workspace
from imgstudio.gui.panels import ModelLink

ORIGINAL_TEXT = "Original"


def format_value(value: Any, limit: int = 24) -> str:
    """A short, readable form of a parameter value for the history list."""
    if isinstance(value, enum.Enum):
        text = str(value.value)
    elif isinstance(value, float):
        text = repr(round(value, 6))
    elif isinstance(value, str):
        text = value
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def step_text(command: Any) -> str:
    """``"Gamma (gamma=2.0)"``: the command's label plus its op parameters, if any."""
    step = getattr(command, "step", None)
    label = command.label or (step.op_id if step is not None else type(command).__name__)
    if step is not None and step.params:
        params = ", ".join(f"{k}={format_value(v)}" for k, v in step.params.items())
        return f"{label} ({params})"
    return label


class HistoryPanel(QWidget):
    """The undo history of ``workspace``.

    Signals, for the main window's message bar: ``message(str)``, the history's notices (steps
    dropped to stay within the undo budget: a warning); ``info(str)``, confirmations ("Saved
    recipe to …"); ``error(str)``, a failed jump, undo, save or export.
    """

    message = Signal(str)
    info = Signal(str)
    error = Signal(str)

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.history = workspace.history
        self._updating = False

        self.list = QListWidget(self)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setToolTip("Click a step to go back (or forward) to the state after it")
        style = self.style()
        self.undo_button = QPushButton(
            style.standardIcon(QStyle.StandardPixmap.SP_ArrowBack), "Undo", self)
        self.redo_button = QPushButton(
            style.standardIcon(QStyle.StandardPixmap.SP_ArrowForward), "Redo", self)
        self.save_recipe_button = QPushButton("Save recipe…", self)
        self.save_recipe_button.setToolTip("Save the applied operations as a replayable recipe")
        self.export_script_button = QPushButton("Export as Python script…", self)
        self.export_script_button.setToolTip(
            "Write a Python script that replays the applied operations with imgstudio.api")
        self.status_label = QLabel(self)
        self.status_label.setEnabled(False)

        undo_row = QHBoxLayout()
        undo_row.addWidget(self.undo_button)
        undo_row.addWidget(self.redo_button)
        undo_row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(undo_row)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.status_label)
        layout.addWidget(self.save_recipe_button)
        layout.addWidget(self.export_script_button)

        self.list.currentRowChanged.connect(self._on_row_chosen)
        self.undo_button.clicked.connect(self.undo)
        self.redo_button.clicked.connect(self.redo)
        self.save_recipe_button.clicked.connect(self._choose_recipe_path)
        self.export_script_button.clicked.connect(self._choose_script_path)

        self._link = ModelLink(self, [
            (self.history.changed, self.refresh),
            (self.history.notice, self._on_notice),
        ])
        self._link.connect_all()
        self.refresh()

    # -- model -> view ----------------------------------------------------------------------
    def refresh(self) -> None:
        """Redraw the rows from the history (called on ``history.changed``)."""
        steps = self.history.steps
        current = self.history.index + 1  # row of the current state
        palette = self.palette()
        normal = palette.color(QPalette.ColorGroup.Active, QPalette.ColorRole.Text)
        greyed = palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
        self._updating = True
        blocker = QSignalBlocker(self.list)
        try:
            while self.list.count() > len(steps) + 1:
                self.list.takeItem(self.list.count() - 1)
            while self.list.count() < len(steps) + 1:
                self.list.addItem(QListWidgetItem())
            texts = [ORIGINAL_TEXT] + [step_text(c) for c in steps]
            for row, text in enumerate(texts):
                item = self.list.item(row)
                if item.text() != text:
                    item.setText(text)
                font = QFont(item.font())
                font.setBold(row == current)
                font.setItalic(row > current)
                item.setFont(font)
                item.setForeground(QBrush(greyed if row > current else normal))
                item.setToolTip("Can be redone" if row > current else "")
            self.list.setCurrentRow(current)
            self.list.scrollToItem(self.list.item(current))
        finally:
            del blocker
            self._updating = False
        self.undo_button.setEnabled(self.history.can_undo)
        self.redo_button.setEnabled(self.history.can_redo)
        has_recipe = bool(self.history.recipe())
        self.save_recipe_button.setEnabled(has_recipe)
        self.export_script_button.setEnabled(has_recipe)
        n = len(steps)
        status = f"{n} step{'s' if n != 1 else ''}, {fmt_bytes(self.history.memory_bytes)} undo"
        if self.history.spilled_bytes:
            status += f" (+{fmt_bytes(self.history.spilled_bytes)} on disk)"
        self.status_label.setText(status)

    def current_row(self) -> int:
        """The row of the current state (0 = Original)."""
        return self.history.index + 1

    def row_texts(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]

    def _on_notice(self, text: str) -> None:
        self.message.emit(text)

    # -- view -> model ----------------------------------------------------------------------
    def _on_row_chosen(self, row: int) -> None:
        if self._updating or row < 0:
            return
        self.jump_to_row(row)

    def jump_to_row(self, row: int) -> None:
        """Go to the state shown at ``row`` (0 = Original, k = after step k)."""
        try:
            self.history.jump(row - 1)
        except (RuntimeError, ValueError, IndexError) as exc:
            self.error.emit(f"Cannot go to that step: {exc}")
        self.refresh()

    def undo(self) -> None:
        self._guarded(self.history.undo)

    def redo(self) -> None:
        self._guarded(self.history.redo)

    def _guarded(self, fn) -> None:
        try:
            fn()
        except (RuntimeError, ValueError) as exc:
            self.error.emit(str(exc))
            self.refresh()

    def save_recipe_to(self, path: str | os.PathLike[str]) -> str:
        """Write ``history.recipe()`` as a JSON recipe; ``.json`` is added when no suffix."""
        path = _with_suffix(path, ".json")
        save_recipe(path, self.history.recipe())
        self.info.emit(f"Saved recipe to {path}")
        return path

    def export_script_to(self, path: str | os.PathLike[str]) -> str:
        """Write a Python script replaying ``history.recipe()``; ``.py`` added when no suffix."""
        path = _with_suffix(path, ".py")
        atomic_write_text(path, to_script(self.history.recipe()))
        self.info.emit(f"Exported script to {path}")
        return path

    def _start_dir(self) -> str:
        shown = self.workspace.path or self.workspace.source_path
        return os.path.dirname(shown) if shown else ""

    def _choose_recipe_path(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save recipe", self._start_dir(),
                                              "Recipes (*.json);;All files (*)")
        if path:
            self._write(self.save_recipe_to, path)

    def _choose_script_path(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export as Python script", self._start_dir(),
                                              "Python scripts (*.py);;All files (*)")
        if path:
            self._write(self.export_script_to, path)

    def _write(self, fn, path: str) -> None:
        try:
            fn(path)
        except (OSError, ValueError, KeyError) as exc:
            self.error.emit(f"Cannot write {path}: {exc}")

    # -- lifetime ---------------------------------------------------------------------------
    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        self._link.disconnect()
        super().closeEvent(event)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        if not self._link.connected:
            self._link.connect_all()
            self.refresh()
        super().showEvent(event)


def _with_suffix(path: str | os.PathLike[str], suffix: str) -> str:
    path = os.fspath(path)
    return path if os.path.splitext(path)[1] else path + suffix
