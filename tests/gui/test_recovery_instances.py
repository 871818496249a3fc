"""Two editors on one recovery folder: the second offers nothing of the first while it runs
(and leaves its autosave alone); after the first is killed, its file is offered and the second
recovers its edits."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from imgstudio.core.apply import apply_operation
from imgstudio.core.autosave import orphaned_recovery_files, recovery_files
from imgstudio.core.io import save_image
from imgstudio.gui.main_window import MainWindow

pytestmark = pytest.mark.skipif(os.name != "posix", reason="flock and SIGKILL")

# The first editor: a real main window that opens the photo, inverts it, autosaves and waits.
FIRST_EDITOR = textwrap.dedent("""
    import sys
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    from imgstudio.core.apply import apply_operation
    from imgstudio.gui.main_window import MainWindow

    window = MainWindow(settings=QSettings(sys.argv[2], QSettings.IniFormat))
    window.files.open_files([sys.argv[1]])
    apply_operation(window.workspace.document, window.workspace.history, "basic.invert")
    window.autosave.write_now().result()
    print(window.autosave.path, flush=True)
    sys.stdin.readline()
""")


def _window(qtbot, settings) -> MainWindow:
    win = MainWindow(settings=settings)
    win.files.ask_unsaved = lambda: "discard"
    qtbot.addWidget(win)
    return win


def test_a_second_editor_leaves_the_first_alone_and_recovers_it_after_a_kill(
        qtbot, settings, tmp_path, astronaut_small):
    photo = tmp_path / "photo.png"
    save_image(photo, astronaut_small)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    first = subprocess.Popen(
        [sys.executable, "-c", FIRST_EDITOR, str(photo), str(tmp_path / "first.ini")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    try:
        line = first.stdout.readline().strip()
        assert line, "the first editor did not start"
        autosaved = Path(line)

        second = _window(qtbot, settings)
        assert "Open Recovered" not in second.message_bar.current_text()
        assert not second.act_open_recovered.isEnabled()
        assert not second.files.open_recovered()  # nothing to open: the first one runs
        assert recovery_files() == [autosaved]  # and its autosave is still there
        second.force_close()

        first.send_signal(signal.SIGKILL)
        first.wait(10)
        third = _window(qtbot, settings)
        assert "Open Recovered" in third.message_bar.current_text()
        assert third.act_open_recovered.isEnabled()
        assert third.files.open_recovered()
        np.testing.assert_array_equal(third.workspace.document[0].data, 255 - astronaut_small)
        assert third.workspace.modified and third.workspace.path is None
        assert third.workspace.source_path == str(photo)
        assert not third.act_open_recovered.isEnabled() and orphaned_recovery_files() == []
        # the recovered edits stay on disk, as the third editor's own autosave...
        assert recovery_files() == [Path(third.autosave.path)] and not autosaved.exists()
        third.force_close()  # ...until it closes (discarding them)
        assert recovery_files() == []
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(10)
        first.stdin.close()
        first.stdout.close()


def test_after_shutdown_a_late_autosave_writes_nothing(window, tmp_path, astronaut_small):
    photo = tmp_path / "photo.png"
    save_image(photo, astronaut_small)
    window.files.open_files([str(photo)])
    apply_operation(window.workspace.document, window.workspace.history, "basic.invert")
    window.autosave.shutdown()  # what closing the window does first
    assert window.autosave.write_now() is None  # e.g. the timer, restarted by the closing
    assert recovery_files() == []
