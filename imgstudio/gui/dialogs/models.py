"""The Models dialog: every model the store knows, whether it is installed, and importing one.

The table lists each model (:func:`imgstudio.api.list_models`) with its status — installed,
missing or corrupt (its file fails its sha256) — format, architecture, licence and source;
selecting a row shows its details (its file's path or the error, and the command that
installs it, both selectable, the command also copyable). "Import model…" copies a weights
file into the user's model folder under the name typed in "Import as" (filled from the
selected row; asked for when empty), "Reveal folder" opens that folder in the file manager,
"Verify" checks every file's checksum again. Checks run in a worker when the dialog is given
a :class:`~imgstudio.gui.workers.JobManager` (hashing a torch hub file of 500 MB takes
seconds); the dialog shows the cards at once and the statuses when they are known.

:func:`import_model_file` is also what the message bar's "Import model…" button runs after an
operation failed for want of a model.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSignalBlocker, Qt, QUrl, Signal
from PySide6.QtGui import QBrush, QColor, QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

import imgstudio.api as api
from imgstudio.gui.workers import JobManager

#: Table columns: header and the card field shown.
COLUMNS = (("Name", "name"), ("Status", "status"), ("Format", "format"),
           ("Architecture", "architecture"), ("Licence", "licence"), ("Source", "source"))
#: What a status is called in the table (None: not checked yet).
STATUS_TEXT = {"ok": "installed", "missing": "missing", "corrupt": "corrupt", None: "checking…"}
_STATUS_COLOR = {"ok": "#1b7a2e", "missing": "#7a5a00", "corrupt": "#b3261e"}
#: The weights files the file dialog offers (the store's formats).
MODEL_FILES = ("Model files (*.pth *.pt *.safetensors *.onnx *.npz *.bin *.param *.tflite "
               "*.dat *.caffemodel *.weights *.pb);;All files (*)")
VERIFY_TITLE = "Verify models"


def import_model_file(parent: QWidget | None, name: str = "", path: str = "") -> dict | None:
    """Ask for a weights file (unless ``path`` is given) and for a model name (unless
    ``name`` is given: the name is then prefilled from the file's), and import it with
    :func:`imgstudio.api.import_model`. Returns the imported model's card (with ``path``), or
    None when the user cancelled or the store refused the file; a refusal is explained in a
    message box naming the file."""
    if not path:
        title = f"Import weights for {name}" if name else "Import model"
        path, _ = QFileDialog.getOpenFileName(parent, title, "", MODEL_FILES)
        if not path:
            return None
    if not name:
        name, ok = QInputDialog.getText(parent, "Import model",
                                        f"Model name for {os.path.basename(path)}:",
                                        QLineEdit.EchoMode.Normal, Path(path).stem)
        name = name.strip()
        if not ok or not name:
            return None
    QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)  # it copies and hashes the file
    try:
        card = api.import_model(path, name)
    except (OSError, ValueError) as exc:
        error: Exception | None = exc
    else:
        error = None
    finally:
        QApplication.restoreOverrideCursor()
    if error is not None:
        QMessageBox.warning(parent, "Import model",
                            f"Could not import {path} as model {name!r}:\n\n{error}")
        return None
    return card


def status_text(model: dict[str, Any]) -> str:
    """How the table names a model's status."""
    return STATUS_TEXT.get(model.get("status"), str(model.get("status")))


def details_text(model: dict[str, Any]) -> str:
    """The details of one model, as the dialog shows them below the table."""
    status = model.get("status")
    lines = [f"{model['name']} — {status_text(model)}"]
    if status == "ok":
        lines.append(f"File: {model.get('path', '')}")
    elif status is not None:
        lines.append(f"Error: {model.get('error', '')}")
    lines.append(f"Install: {model.get('command', '')}")
    lines.append("")
    labels = model.get("labels")
    if isinstance(labels, list):
        labels = f"{len(labels)} names ({', '.join(map(str, labels[:5]))}"\
                 f"{', …' if len(labels) > 5 else ''})"
    for key, value in (("file name", model.get("file")), ("sha256", model.get("sha256")),
                       ("format", model.get("format")),
                       ("architecture", model.get("architecture")), ("labels", labels),
                       ("licence", model.get("licence")), ("source", model.get("source"))):
        if value:
            lines.append(f"{key}: {value}")
    return "\n".join(lines)


class ModelsDialog(QDialog):
    """The model store's contents, with import, reveal folder and verify.

    Signal ``model_imported(dict)``: a model was imported (its card with ``path``).
    """

    model_imported = Signal(dict)

    def __init__(self, jobs: JobManager | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Models")
        self.jobs = jobs
        self.models: list[dict[str, Any]] = []
        self._generation = 0
        self._select_after = ""
        self._note = ""  # said before the summary once the check is done

        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels([h for h, _ in COLUMNS])
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.details = QPlainTextEdit(self)
        self.details.setReadOnly(True)
        self.details.setPlaceholderText("Select a model to see where its file is, or why not.")
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(self.table)
        splitter.addWidget(self.details)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)

        self.name_edit = QLineEdit(self)
        self.name_edit.setPlaceholderText("model name (the selected row's, or asked for)")
        self.name_edit.setToolTip("The name the imported file is stored under; an operation "
                                  "asks for its model by this name")
        self.import_button = QPushButton("Import model…", self)
        self.import_button.setToolTip("Copy a weights file into your model folder")
        self.copy_button = QPushButton("Copy command", self)
        self.copy_button.setToolTip("Copy the selected model's install command")
        self.copy_button.setEnabled(False)
        self.reveal_button = QPushButton("Reveal folder", self)
        self.reveal_button.setToolTip("Open the folder imported models go to")
        self.verify_button = QPushButton("Verify", self)
        self.verify_button.setToolTip("Check every model file's sha256 again")
        self.close_button = QPushButton("Close", self)
        self.status_label = QLabel("", self)

        import_row = QHBoxLayout()
        import_row.addWidget(QLabel("Import as:", self))
        import_row.addWidget(self.name_edit, 1)
        import_row.addWidget(self.import_button)
        import_row.addWidget(self.copy_button)
        buttons = QHBoxLayout()
        buttons.addWidget(self.status_label, 1)
        for button in (self.reveal_button, self.verify_button, self.close_button):
            button.setAutoDefault(False)
            buttons.addWidget(button)
        self.import_button.setAutoDefault(False)
        self.copy_button.setAutoDefault(False)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter, 1)
        layout.addLayout(import_row)
        layout.addLayout(buttons)
        self.resize(920, 560)

        self.table.itemSelectionChanged.connect(self._on_selection)
        self.import_button.clicked.connect(lambda _=False: self.import_dialog())
        self.copy_button.clicked.connect(self.copy_command)
        self.reveal_button.clicked.connect(self.reveal_folder)
        self.verify_button.clicked.connect(self.refresh)
        self.close_button.clicked.connect(self.close)
        self.refresh()

    # -- public -----------------------------------------------------------------------------
    def refresh(self) -> None:
        """List the cards now and check their files (in a worker when there is a job manager;
        :attr:`busy` until the statuses are in)."""
        self._generation += 1
        generation = self._generation
        try:
            cards = api.list_models(check=False)
        except (OSError, ValueError) as exc:
            self.status_label.setText(f"Cannot read the model list: {exc}")
            return
        self._populate(cards)  # "checking…" until the statuses are in
        self.verify_button.setEnabled(False)
        self.status_label.setText("Checking checksums…")
        if self.jobs is None:
            self._on_checked(generation, api.list_models(check=True))
            return
        self.jobs.start(lambda _progress: api.list_models(check=True), VERIFY_TITLE,
                        on_result=lambda models: self._on_checked(generation, models),
                        on_error=lambda exc: self._on_check_failed(generation, exc))

    @property
    def busy(self) -> bool:
        """A check runs."""
        return not self.verify_button.isEnabled()

    def model(self, name: str) -> dict[str, Any] | None:
        """The listed model ``name`` (its card and status), or None."""
        return next((m for m in self.models if m["name"] == name), None)

    def selected(self) -> dict[str, Any] | None:
        rows = self.table.selectionModel().selectedRows()
        return self.models[rows[0].row()] if rows else None

    def select(self, name: str) -> bool:
        """Select the row of model ``name``; False when it is not listed."""
        for row, model in enumerate(self.models):
            if model["name"] == name:
                self.table.selectRow(row)
                self.table.scrollToItem(self.table.item(row, 0))
                return True
        return False

    def import_dialog(self, path: str = "") -> dict | None:
        """Import a weights file as the name typed in "Import as" (asked for when empty)."""
        card = import_model_file(self, self.name_edit.text().strip(), path)
        if card is not None:
            self._select_after = card["name"]
            self._note = f"Imported {card['name']}. "
            self.model_imported.emit(card)
            self.refresh()
        return card

    def reveal_folder(self) -> str:
        """Open the user's model folder (made if need be) in the file manager; returns it."""
        folder = api.model_folder()
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as exc:
            self.status_label.setText(f"Cannot make {folder}: {exc}")
            return folder
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(folder)):
            self.status_label.setText(f"Could not open {folder}")
        return folder

    def copy_command(self) -> str:
        """Copy the selected model's install command; returns it ("" when none is selected)."""
        model = self.selected()
        command = model.get("command", "") if model is not None else ""
        if command:
            QGuiApplication.clipboard().setText(command)
            self.status_label.setText("Copied the install command")
        return command

    # -- internals --------------------------------------------------------------------------
    def _on_checked(self, generation: int, models: list[dict[str, Any]]) -> None:
        if generation != self._generation:
            return  # a later refresh replaced this one
        self._populate(models)
        self.verify_button.setEnabled(True)
        counts = {s: sum(1 for m in models if m.get("status") == s) for s in STATUS_TEXT}
        summary = f"{len(models)} models: {counts['ok']} installed, {counts['missing']} missing"
        if counts["corrupt"]:
            summary += f", {counts['corrupt']} corrupt"
        self.status_label.setText(self._note + summary)
        self._note = ""

    def _on_check_failed(self, generation: int, exc: BaseException) -> None:
        if generation == self._generation:
            self.verify_button.setEnabled(True)
            self.status_label.setText(f"Checking failed: {exc}")

    def _populate(self, models: list[dict[str, Any]]) -> None:
        chosen = self._select_after or (self.selected() or {}).get("name", "")
        self._select_after = ""
        self.models = list(models)
        self.table.setRowCount(len(self.models))
        for row, model in enumerate(self.models):
            for col, (_, key) in enumerate(COLUMNS):
                text = status_text(model) if key == "status" else str(model.get(key) or "")
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                if key == "status" and model.get("status") in _STATUS_COLOR:
                    item.setForeground(QBrush(QColor(_STATUS_COLOR[model["status"]])))
                self.table.setItem(row, col, item)
        self.table.resizeColumnsToContents()
        for col, (_, key) in enumerate(COLUMNS):
            if key in ("licence", "architecture", "source"):
                self.table.setColumnWidth(col, min(self.table.columnWidth(col), 200))
        with QSignalBlocker(self.table):  # a refresh is no new choice: keep the typed name
            if not (chosen and self.select(chosen)):
                self.table.clearSelection()
        self._show_details()

    def _on_selection(self) -> None:
        model = self._show_details()
        if model is not None:
            self.name_edit.setText(model["name"])

    def _show_details(self) -> dict[str, Any] | None:
        model = self.selected()
        self.copy_button.setEnabled(model is not None)
        if model is None:
            self.details.clear()
        else:
            self.details.setPlainText(details_text(model))
        return model
