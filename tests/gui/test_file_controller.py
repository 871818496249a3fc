"""The file controller on its own: a plain parent widget, settings and a workspace holder,
no main window."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QMenu

from imgstudio.core.workspace import Workspace
from imgstudio.gui.file_controller import MAX_RECENT


def test_open_files_binds_the_first_and_imports_the_rest(holder, png, astronaut_small):
    assert holder["files"].open_files([str(png), str(png)]) == []
    doc = holder["workspace"].document
    assert len(doc) == 2 and np.array_equal(doc[0].data, astronaut_small)


def test_a_missing_file_is_emitted_as_an_error(holder, tmp_path):
    errors = holder["files"].open_files([str(tmp_path / "nope.png")])
    assert errors and holder["messages"] == [("error", errors[0])]


def test_recent_files_are_newest_first_without_duplicates_and_capped(holder, tmp_path):
    files = holder["files"]
    paths = [str(tmp_path / f"{n}.png") for n in range(MAX_RECENT + 2)]
    for path in [*paths, paths[3]]:
        files.show_workspace(Workspace(), path)
    recent = files.recent_files()
    assert len(recent) == MAX_RECENT and recent[0] == os.path.abspath(paths[3])
    assert len(set(recent)) == MAX_RECENT


def test_the_recent_menu_disables_files_that_are_gone(holder, png, tmp_path):
    files = holder["files"]
    files.show_workspace(Workspace(), str(tmp_path / "gone.png"))
    files.show_workspace(Workspace(), str(png))
    menu = QMenu()
    files.fill_recent_menu(menu)
    assert [(a.text(), a.isEnabled()) for a in menu.actions()] == [
        (os.path.abspath(png), True), (str(tmp_path / "gone.png"), False)]


def test_an_empty_recent_menu_says_none(holder):
    menu = QMenu()
    holder["files"].fill_recent_menu(menu)
    assert [(a.text(), a.isEnabled()) for a in menu.actions()] == [("(none)", False)]


@pytest.mark.parametrize(("answer", "ok"), [("discard", True), ("cancel", False)])
def test_maybe_save_follows_the_unsaved_changes_answer(holder, png, answer, ok):
    files = holder["files"]
    files.open_files([str(png)])
    holder["workspace"].new_labels_layer()
    files.ask_unsaved = lambda: answer
    assert files.maybe_save() is ok
    assert files.open_path(str(png)) is ok
    assert len(holder["workspace"].document) == (1 if ok else 2)


def test_dropping_files_on_an_empty_document_opens_them(holder, png):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(png))])
    drop = QDropEvent(QPointF(5, 5), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    holder["files"].drop(drop)
    assert drop.isAccepted() and len(holder["workspace"].document) == 1
    assert holder["workspace"].source_path == str(png)


def test_export_without_a_layer_is_an_info_message(holder):
    holder["files"].export_dialog()
    assert holder["messages"] == [("info", "There is no layer to export")]
