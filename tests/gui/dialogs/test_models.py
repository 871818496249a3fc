"""The Models dialog: statuses from the real store, import through the real buttons, reveal
the folder, verify again after a file changed, copy a command; opened from Tools → Models…."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

import imgstudio.api as api
from imgstudio.gui.dialogs.models import COLUMNS, ModelsDialog

LEFT = Qt.MouseButton.LeftButton
SHOTS = Path("/tmp/gui_shots")
STATUS = [h for h, _ in COLUMNS].index("Status")
#: A manifest model no test machine has (torchvision weights, looked for in TORCH_HOME too).
MISSING = "vgg16-imagenet"


@pytest.fixture
def models(tmp_path, monkeypatch) -> Path:
    """Every folder the store looks in is under tmp_path; returns the import folder."""
    folder = tmp_path / "models"
    monkeypatch.setenv("IMGSTUDIO_MODELS", str(folder))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return folder


@pytest.fixture
def npz_file(tmp_path) -> Path:
    path = tmp_path / "weights.npz"
    np.savez(path, w=np.arange(6, dtype=np.float32).reshape(2, 3))
    return path


@pytest.fixture
def dialog(qtbot, models, jobs) -> ModelsDialog:
    widget = ModelsDialog(jobs)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    wait_checked(qtbot, widget)
    return widget


def wait_checked(qtbot, dialog) -> None:
    qtbot.waitUntil(lambda: not dialog.busy, timeout=20000)


def row_of(dialog, name) -> int:
    names = [dialog.table.item(r, 0).text() for r in range(dialog.table.rowCount())]
    assert name in names, names
    return names.index(name)


def status_of(dialog, name) -> str:
    return dialog.table.item(row_of(dialog, name), STATUS).text()


def click_row(qtbot, dialog, name) -> None:
    item = dialog.table.item(row_of(dialog, name), 0)
    dialog.table.scrollToItem(item)
    rect = dialog.table.visualItemRect(item)
    qtbot.mouseClick(dialog.table.viewport(), LEFT, pos=rect.center())


def fake_open(monkeypatch, path) -> list[tuple]:
    """QFileDialog.getOpenFileName answers ``path``; returns the calls' arguments."""
    calls: list[tuple] = []

    def answer(*args, **kwargs):
        calls.append(args)
        return str(path), ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", answer)
    return calls


def shot(widget, name) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    widget.grab().save(str(SHOTS / name))


def test_every_known_model_is_listed_with_its_status(dialog, qtbot, models):
    names = [m["name"] for m in api.list_models(check=False)]
    assert [dialog.table.item(r, 0).text() for r in range(dialog.table.rowCount())] == names
    assert dialog.table.columnCount() == 6
    assert status_of(dialog, MISSING) == "missing"
    assert "models: " in dialog.status_label.text() and "missing" in dialog.status_label.text()
    click_row(qtbot, dialog, MISSING)
    details = dialog.details.toPlainText()
    assert details.startswith(f"{MISSING} — missing")
    assert f"imgstudio models import FILE --name {MISSING}" in details
    assert str(models) in details  # the error names the folders looked in
    assert dialog.name_edit.text() == MISSING  # the name an import would take
    shot(dialog, "models_dialog.png")


def test_import_button_installs_a_file_under_the_typed_name(dialog, qtbot, models, npz_file,
                                                            monkeypatch):
    calls = fake_open(monkeypatch, npz_file)
    dialog.name_edit.clear()
    qtbot.keyClicks(dialog.name_edit, "my-npz-model")
    with qtbot.waitSignal(dialog.model_imported) as blocker:
        qtbot.mouseClick(dialog.import_button, LEFT)
    assert calls and "my-npz-model" in calls[0][1]  # the file dialog's title names it
    wait_checked(qtbot, dialog)
    copied = models / "my-npz-model.npz"
    assert copied.is_file()
    assert hashlib.sha256(copied.read_bytes()).hexdigest() \
        == hashlib.sha256(npz_file.read_bytes()).hexdigest()
    card = json.loads((models / "my-npz-model.json").read_text(encoding="utf-8"))
    assert card["format"] == "npz" and card["sha256"] == blocker.args[0]["sha256"]
    assert status_of(dialog, "my-npz-model") == "installed"
    assert dialog.selected()["name"] == "my-npz-model"  # the new row is selected
    assert f"File: {copied}" in dialog.details.toPlainText()
    assert dialog.status_label.text().startswith("Imported my-npz-model.")
    shot(dialog, "models_dialog_imported.png")


def test_import_takes_the_selected_rows_name(dialog, qtbot, models, tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    weights = tmp_path / "mine.pth"
    torch.save({"w": torch.zeros(3)}, weights)
    fake_open(monkeypatch, weights)
    click_row(qtbot, dialog, MISSING)
    assert dialog.name_edit.text() == MISSING
    qtbot.mouseClick(dialog.import_button, LEFT)
    wait_checked(qtbot, dialog)
    assert status_of(dialog, MISSING) == "installed"
    card = json.loads((models / f"{MISSING}.json").read_text(encoding="utf-8"))
    assert card["format"] == "torch-state-dict" and card["architecture"] == "vgg16"


def test_import_asks_for_a_name_when_none_is_given(dialog, qtbot, models, npz_file,
                                                   monkeypatch):
    fake_open(monkeypatch, npz_file)
    asked = []

    def get_text(parent, title, label, echo, text):
        asked.append(text)
        return "asked-model", True

    monkeypatch.setattr(QInputDialog, "getText", get_text)
    dialog.table.clearSelection()
    dialog.name_edit.clear()
    qtbot.mouseClick(dialog.import_button, LEFT)
    wait_checked(qtbot, dialog)
    assert asked == ["weights"]  # prefilled from the file's name
    assert status_of(dialog, "asked-model") == "installed"
    assert (models / "asked-model.npz").is_file()


def test_a_refused_file_is_named_in_a_message_box(dialog, qtbot, models, tmp_path, monkeypatch):
    bad = tmp_path / "broken.npz"
    bad.write_bytes(b"not a zip archive")
    fake_open(monkeypatch, bad)
    warnings = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: warnings.append(text))
    rows = dialog.table.rowCount()
    dialog.name_edit.setText("broken-model")
    qtbot.mouseClick(dialog.import_button, LEFT)
    assert len(warnings) == 1 and str(bad) in warnings[0] and "npz" in warnings[0]
    assert dialog.table.rowCount() == rows and not (models / "broken-model.npz").exists()


def test_reveal_folder_opens_the_import_folder(dialog, qtbot, models, monkeypatch):
    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    qtbot.mouseClick(dialog.reveal_button, LEFT)
    assert [u.toLocalFile() for u in opened] == [str(models)]
    assert models.is_dir()  # made, so the file manager has something to show


def test_verify_finds_a_file_changed_since_its_import(dialog, qtbot, models, npz_file,
                                                     monkeypatch):
    fake_open(monkeypatch, npz_file)
    dialog.name_edit.setText("my-npz-model")
    qtbot.mouseClick(dialog.import_button, LEFT)
    wait_checked(qtbot, dialog)
    assert status_of(dialog, "my-npz-model") == "installed"
    with open(models / "my-npz-model.npz", "ab") as fh:
        fh.write(b"tampered")
    qtbot.mouseClick(dialog.verify_button, LEFT)
    assert dialog.busy  # the check runs in a worker
    wait_checked(qtbot, dialog)
    assert status_of(dialog, "my-npz-model") == "corrupt"
    click_row(qtbot, dialog, "my-npz-model")
    assert "sha256" in dialog.details.toPlainText()
    assert "1 corrupt" in dialog.status_label.text()
    shot(dialog, "models_dialog_corrupt.png")


def test_copy_command_copies_the_selected_models_install_command(dialog, qtbot):
    assert not dialog.copy_button.isEnabled()
    click_row(qtbot, dialog, MISSING)
    qtbot.mouseClick(dialog.copy_button, LEFT)
    assert QGuiApplication.clipboard().text() == f"imgstudio models import FILE --name {MISSING}"


def test_tools_menu_opens_the_dialog(window, qtbot, models):
    tools = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Tools")
    action = next(a for a in tools.actions() if a.text() == "&Models…")
    action.trigger()
    dialog = window.models_dialog
    assert dialog.isVisible() and dialog.jobs is window.jobs
    wait_checked(qtbot, dialog)
    assert status_of(dialog, MISSING) == "missing"
    action.trigger()
    assert window.models_dialog is dialog  # one per window
    wait_checked(qtbot, dialog)
