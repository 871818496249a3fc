"""Saving an image vs a project, as GIMP does: Save / Save As write the project, Export As
writes an image file, Overwrite writes back into the image the document came from; the
unsaved-changes prompt names what each button does; every dialog starts in the document's
folder (else this window's last one, else home) and suggests a file name."""

from __future__ import annotations

import os

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from imgstudio.core.commands import SetPixels
from imgstudio.core.io import load_image, save_image
from imgstudio.core.workspace import Workspace
from imgstudio.gui.file_controller import (
    FileController,
    dialog_start,
    split_extension,
    suggested_name,
)


class DialogSpy:
    """Stands in for QFileDialog's static functions: records (caption, start) and answers."""

    def __init__(self, monkeypatch, answer: str = "") -> None:
        self.calls: list[tuple[str, str, str]] = []
        self.answer = answer
        for name in ("getOpenFileName", "getSaveFileName"):
            monkeypatch.setattr(f"PySide6.QtWidgets.QFileDialog.{name}",
                                lambda parent, caption, start, flt, n=name: self._ask(
                                    n, caption, start))

    def _ask(self, name: str, caption: str, start: str) -> tuple[str, str]:
        self.calls.append((name, caption, start))
        return self.answer, ""


def _edit(workspace: Workspace) -> np.ndarray:
    """One undoable pixel edit of the first layer; returns the new pixels."""
    layer = workspace.document[0]
    new = 255 - layer.data
    workspace.history.execute(SetPixels(layer, new))
    assert workspace.modified
    return new


# -- names and folders ------------------------------------------------------------------------
def test_split_extension_keeps_double_extensions():
    assert split_extension("/a/scan.nii.gz") == ("scan", ".nii.gz")
    assert split_extension("Photo.PNG") == ("Photo", ".png")
    assert split_extension("notes") == ("notes", "")


def test_an_image_document_suggests_its_folder_and_stem(holder, png):
    files = holder["files"]
    files.open_files([str(png)])
    ws = holder["workspace"]
    folder = str(png.parent)
    assert dialog_start(ws, None, "save") == (folder, "photo.imgs")
    assert dialog_start(ws, None, "export", ws.document.active) == (folder, "photo.png")
    assert dialog_start(ws, "/elsewhere", "open") == (folder, "")
    seeds = ws.new_labels_layer()
    assert suggested_name(ws, "export", seeds) == "photo-Seeds.png"


def test_a_jpeg_suggests_jpeg_for_images_and_png_for_labels(holder, tmp_path, astronaut_small):
    path = tmp_path / "holiday.jpg"
    save_image(path, astronaut_small)
    holder["files"].open_files([str(path)])
    ws = holder["workspace"]
    assert suggested_name(ws, "export", ws.document.active) == "holiday.jpg"
    assert suggested_name(ws, "export", ws.new_labels_layer()) == "holiday-Seeds.png"


def test_an_untitled_document_starts_in_this_windows_last_folder_else_home(tmp_path):
    ws = Workspace()
    assert dialog_start(ws, str(tmp_path), "save") == (str(tmp_path), "Untitled.imgs")
    home = os.path.expanduser("~")
    assert dialog_start(ws, str(tmp_path / "gone"), "open") == (home, "")
    assert dialog_start(ws, None, "export") == (home, "Untitled.png")
    ws.close()


def test_a_project_starts_in_the_projects_folder(holder, png, tmp_path, monkeypatch):
    (tmp_path / "projects").mkdir()
    target = str(tmp_path / "projects" / "work.imgs")
    spy = DialogSpy(monkeypatch, target)
    holder["files"].open_files([str(png)])
    assert holder["files"].save_as()
    assert spy.calls == [("getSaveFileName", "Save as project",
                          os.path.join(str(png.parent), "photo.imgs"))]
    assert dialog_start(holder["workspace"], None, "save") == (str(tmp_path / "projects"),
                                                                "work.imgs")


def test_dialogs_ignore_the_recent_list_shared_with_other_windows(qtbot, settings, tmp_path,
                                                                  monkeypatch, png):
    """Another window opening a file (the shared recent list's first entry) does not move this
    window's dialogs; the folder last used here does."""
    here, there = tmp_path / "here", tmp_path / "there"
    here.mkdir(), there.mkdir()
    parent = QWidget()
    qtbot.addWidget(parent)
    mine, other = Workspace(), Workspace()
    files = FileController(parent, settings, lambda: mine, lambda ws: None)
    others = FileController(parent, settings, lambda: other, lambda ws: None)
    spy = DialogSpy(monkeypatch, str(here / "a.png"))
    files.import_dialog()  # the user picks a file in `here` (import of a missing file fails)
    others.show_workspace(Workspace(), str(there / "b.png"))  # recent[0] is now in `there`
    assert files.recent_files()[0].startswith(str(there))
    spy.answer = ""
    files.open_dialog()
    files.save_as()
    assert [start for _, _, start in spy.calls[1:]] == [str(here),
                                                        os.path.join(str(here), "Untitled.imgs")]
    mine.close(), other.close()


def test_export_suggests_a_name_and_adds_a_missing_extension(holder, png, monkeypatch,
                                                             astronaut_small):
    holder["files"].open_files([str(png)])
    spy = DialogSpy(monkeypatch, str(png.parent / "copy"))
    assert holder["files"].export_dialog()
    assert spy.calls == [("getSaveFileName", "Export layer photo",
                          os.path.join(str(png.parent), "photo.png"))]
    assert np.array_equal(load_image(png.parent / "copy.png"), astronaut_small)
    assert holder["workspace"].path is None and not holder["workspace"].modified


# -- save vs overwrite ------------------------------------------------------------------------
def test_save_on_an_opened_image_asks_for_a_project_and_never_writes_the_image(
        holder, png, monkeypatch):
    holder["files"].open_files([str(png)])
    before = png.read_bytes()
    _edit(holder["workspace"])
    spy = DialogSpy(monkeypatch, "")  # the user cancels the project dialog
    assert not holder["files"].save()
    assert spy.calls[0][:2] == ("getSaveFileName", "Save as project")
    assert png.read_bytes() == before and holder["workspace"].modified


def test_overwrite_writes_the_edited_image_back_and_counts_as_saved(holder, png):
    files = holder["files"]
    files.open_files([str(png)])
    assert files.overwrite_target() == str(png)
    new = _edit(holder["workspace"])
    assert files.overwrite()
    assert np.array_equal(load_image(png), new)
    assert not holder["workspace"].modified
    assert ("info", "Overwrote photo.png") in holder["messages"]
    assert not [p for p in os.listdir(png.parent) if p.endswith(".tmp")]


def test_overwrite_refuses_several_layers_and_says_what_to_do(holder, png):
    files = holder["files"]
    files.open_files([str(png)])
    before = png.read_bytes()
    holder["workspace"].new_labels_layer()
    steps = holder["workspace"].history.steps
    assert not files.overwrite()
    level, text = holder["messages"][-1]
    assert level == "error" and "2 layers" in text and "Save Project As" in text
    assert png.read_bytes() == before and holder["workspace"].history.steps == steps


def test_overwrite_refuses_a_pixel_type_the_format_cannot_hold(holder, tmp_path, rgb_image):
    path = tmp_path / "photo.jpg"
    save_image(path, rgb_image)
    files = holder["files"]
    files.open_files([str(path)])
    layer = holder["workspace"].document[0]
    holder["workspace"].history.execute(SetPixels(layer, layer.data.astype(np.float32) / 255))
    before = path.read_bytes()
    assert not files.overwrite()
    level, text = holder["messages"][-1]
    assert level == "error" and "float32" in text and "Export As" in text
    assert path.read_bytes() == before and holder["workspace"].modified


def test_a_project_or_untitled_document_has_nothing_to_overwrite(holder, png, tmp_path):
    files = holder["files"]
    assert files.overwrite_target() is None and not files.overwrite()
    files.open_files([str(png)])
    holder["workspace"].save(str(tmp_path / "p.imgs"))
    assert files.overwrite_target() is None
    files.open_files([str(tmp_path / "p.imgs")])
    assert files.overwrite_target() is None


def test_close_document_asks_then_shows_an_empty_workspace(holder, png):
    files = holder["files"]
    files.open_files([str(png)])
    _edit(holder["workspace"])
    files.ask_unsaved = lambda: "cancel"
    assert not files.close_document() and len(holder["workspace"].document) == 1
    files.ask_unsaved = lambda: "discard"
    assert files.close_document() and len(holder["workspace"].document) == 0


def test_maybe_save_can_overwrite_the_source_image(holder, png):
    files = holder["files"]
    files.open_files([str(png)])
    new = _edit(holder["workspace"])
    files.ask_unsaved = lambda: "overwrite"
    assert files.close_document()
    assert np.array_equal(load_image(png), new) and len(holder["workspace"].document) == 0


# -- the unsaved-changes prompt ---------------------------------------------------------------
def _buttons(files: FileController) -> list[str]:
    box, answers = files.unsaved_prompt()
    texts = [b.text().replace("&", "") for b in box.buttons()]
    box.deleteLater()
    return sorted(texts)


def test_the_prompt_for_an_image_offers_overwrite_and_a_project(holder, png):
    files = holder["files"]
    files.open_files([str(png)])
    _edit(holder["workspace"])
    assert _buttons(files) == sorted(["Overwrite photo.png", "Save Project As…", "Discard",
                                      "Cancel"])
    holder["workspace"].new_labels_layer()  # photo.png cannot hold two layers
    assert _buttons(files) == sorted(["Save Project As…", "Discard", "Cancel"])


def test_the_prompt_for_a_project_offers_save(holder, png, tmp_path):
    files = holder["files"]
    files.open_files([str(png)])
    holder["workspace"].save(str(tmp_path / "p.imgs"))
    _edit(holder["workspace"])
    assert _buttons(files) == sorted(["Save", "Discard", "Cancel"])


def _click_when_shown(qtbot, text: str, shots: list) -> None:
    """Click the prompt's button ``text`` once it is shown (screenshot first)."""
    def click() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, click)
            return
        shots.append(box.grab())
        next(b for b in box.buttons() if b.text().replace("&", "") == text).click()
    QTimer.singleShot(20, click)


def test_clicking_overwrite_in_the_real_prompt_writes_the_image(holder, png, qtbot,
                                                                screenshot_dir):
    files = holder["files"]
    files.ask_unsaved = files._ask_unsaved_dialog
    files.open_files([str(png)])
    new = _edit(holder["workspace"])
    shots: list = []
    _click_when_shown(qtbot, "Overwrite photo.png", shots)
    assert files.maybe_save()
    assert np.array_equal(load_image(png), new) and not holder["workspace"].modified
    shots[0].save(str(screenshot_dir / "unsaved_prompt_image.png"))


def test_cancel_in_the_real_prompt_keeps_everything(holder, png, qtbot, tmp_path,
                                                    screenshot_dir):
    files = holder["files"]
    files.ask_unsaved = files._ask_unsaved_dialog
    files.open_files([str(png)])
    holder["workspace"].save(str(tmp_path / "p.imgs"))
    _edit(holder["workspace"])
    steps = holder["workspace"].history.steps
    shots: list = []
    _click_when_shown(qtbot, "Cancel", shots)
    assert not files.close_document()
    assert holder["workspace"].modified and holder["workspace"].history.steps == steps
    shots[0].save(str(screenshot_dir / "unsaved_prompt_project.png"))
