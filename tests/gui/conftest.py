"""GUI test fixtures: a workspace on a small real image, a folder for screenshots, window
settings, the main window, a job manager."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from imgstudio.core.document import Document, ImageLayer
from imgstudio.core.workspace import Workspace

SCREENSHOTS = Path(os.environ.get("IMGSTUDIO_TEST_OUTPUT", "test-output")) / "screenshots"


@pytest.fixture
def workspace(astronaut_small) -> Workspace:
    ws = Workspace(Document([ImageLayer(astronaut_small.copy(), "astronaut")]))
    yield ws
    ws.close()


@pytest.fixture
def screenshot_dir() -> Path:
    """Where GUI tests save window grabs (look at them: test-output/screenshots)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
def rgb_image() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (120, 160, 3), dtype=np.uint8)


@pytest.fixture
def jobs(qtbot):
    """A job manager whose jobs are cancelled and waited for (at most 10 s) at the end."""
    from imgstudio.gui.workers import JobManager

    manager = JobManager()
    yield manager
    manager.cancel_all()
    assert manager.wait(10000)
    qtbot.wait(10)  # deliver the last queued job signals


@pytest.fixture
def settings(tmp_path):
    """Window settings in a temporary INI file, so tests never touch the user's."""
    from PySide6.QtCore import QSettings

    return QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)


@pytest.fixture
def window(qtbot, settings):
    """The real main window, shown, never asking about unsaved changes; jobs are cancelled
    and waited for at the end."""
    from imgstudio.gui.main_window import MainWindow

    win = MainWindow(settings=settings)
    win.files.ask_unsaved = lambda: "discard"
    qtbot.addWidget(win)
    win.resize(1100, 750)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.jobs.cancel_all()
    win.jobs.wait()
    win.force_close()


@pytest.fixture
def holder(qtbot, settings):
    """A FileController over a one-slot workspace holder; ``messages`` collects its signals."""
    from PySide6.QtWidgets import QWidget

    from imgstudio.gui.file_controller import FileController

    parent = QWidget()
    qtbot.addWidget(parent)
    state = {"workspace": Workspace(), "messages": []}

    def bind(ws: Workspace) -> None:
        old, state["workspace"] = state["workspace"], ws
        if old is not ws:
            old.close()

    files = FileController(parent, settings, lambda: state["workspace"], bind)
    files.ask_unsaved = lambda: "discard"
    for level in ("error", "info", "warning"):
        getattr(files, level).connect(lambda text, lv=level: state["messages"].append((lv, text)))
    state["files"] = files
    yield state
    state["workspace"].close()
