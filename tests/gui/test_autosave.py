"""Crash recovery in the editor: edits are autosaved, clean closes remove the file, a file
left behind is offered and reopened at the next start."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from imgstudio.core.apply import apply_operation
from imgstudio.core.autosave import orphaned_recovery_files, recovery_files
from imgstudio.core.io import save_image
from imgstudio.core.project import load_project
from imgstudio.gui.main_window import MainWindow


def _open(window, tmp_path, image):
    path = tmp_path / "photo.png"
    save_image(path, image)
    window.files.open_files([str(path)])


def test_an_edit_is_autosaved_and_a_discarding_close_removes_it(window, tmp_path,
                                                                astronaut_small):
    _open(window, tmp_path, astronaut_small)
    apply_operation(window.workspace.document, window.workspace.history, "basic.invert")
    window.autosave.write_now().result()
    files = recovery_files()
    assert len(files) == 1
    saved = load_project(files[0]).document
    assert np.array_equal(saved[0].data, 255 - astronaut_small)
    window.close()  # ask_unsaved -> "discard"
    assert recovery_files() == []


def test_undo_back_to_the_saved_state_removes_the_recovery_file(window, tmp_path,
                                                               astronaut_small):
    _open(window, tmp_path, astronaut_small)
    apply_operation(window.workspace.document, window.workspace.history, "basic.invert")
    window.autosave.write_now().result()
    window.act_undo.trigger()
    assert recovery_files() == []


def test_the_timer_writes_after_edits_settle(window, tmp_path, astronaut_small, qtbot):
    _open(window, tmp_path, astronaut_small)
    window.autosave.timer.setInterval(50)
    apply_operation(window.workspace.document, window.workspace.history, "basic.invert")
    qtbot.waitUntil(lambda: len(recovery_files()) == 1, timeout=5000)


def test_a_left_over_file_is_offered_and_reopened_unsaved(qtbot, settings, tmp_path,
                                                          astronaut_small):
    crashed = MainWindow(settings=settings)
    crashed.files.ask_unsaved = lambda: "discard"
    qtbot.addWidget(crashed)
    _open(crashed, tmp_path, astronaut_small)
    apply_operation(crashed.workspace.document, crashed.workspace.history, "basic.invert")
    crashed.autosave.write_now().result()
    crashed.autosave._pool.shutdown(wait=True)  # simulate a crash: no clean close, and the
    crashed.autosave.slot._lock.release()  # lock goes as when the process dies
    again = MainWindow(settings=settings)
    again.files.ask_unsaved = lambda: "discard"
    qtbot.addWidget(again)
    assert "Open Recovered" in again.message_bar.current_text()
    assert again.act_open_recovered.isEnabled()
    assert again.files.open_recovered()
    assert np.array_equal(again.workspace.document[0].data, 255 - astronaut_small)
    # the recovered work stays on disk, now as the second editor's own (live) recovery file
    assert again.workspace.modified and orphaned_recovery_files() == []
    assert recovery_files() == [Path(again.autosave.path)]
    assert not again.act_open_recovered.isEnabled()
    again.force_close()
    crashed.force_close()
