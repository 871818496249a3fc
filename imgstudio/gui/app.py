"""Start the editor: ``imgstudio [FILES]`` and ``imgstudio --screenshot OUT.png [FILES]``."""

from __future__ import annotations

import os
import sys
from concurrent.futures import Future
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
ICON = RESOURCES / "icons" / "imgstudio.svg"


def application() -> QApplication:
    """The QApplication, created once with our names and icon."""
    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
    app.setApplicationName("imgstudio")
    app.setOrganizationName("imgstudio")
    app.setApplicationDisplayName("imgstudio")
    if ICON.exists():
        app.setWindowIcon(QIcon(str(ICON)))
    return app


def main(files: list[str], screenshot: str | None = None, opening: Future | None = None) -> int:
    """Open the main window on ``files``; with ``screenshot``, save the window and exit.

    ``opening`` is the first file already being opened on another thread (a Future of a
    Workspace), so decoding overlaps with building the window.
    """
    from imgstudio.core.workspace import Workspace

    first = opening
    if first is None and files:
        first = Future()
        try:
            first.set_result(Workspace.open(files[0]))
        except (OSError, ValueError) as exc:
            first.set_exception(exc)
    app = application()
    from imgstudio.gui.main_window import MainWindow

    window = MainWindow()
    window.resize(1280, 800)
    errors: list[str] = []
    if first is not None:
        try:
            window.files.show_workspace(first.result(), files[0])
        except (OSError, ValueError) as exc:
            errors.append(str(exc))
            window.message_bar.show_error(str(exc))
    errors += window.files.open_files(files[1:], import_all=True)
    window.show()
    if screenshot is None:
        return app.exec()

    status = {"code": 0}

    def save() -> None:
        app.processEvents()
        if not window.grab().save(os.fspath(screenshot)):
            print(f"imgstudio: error: cannot write screenshot {screenshot}", file=sys.stderr)
            status["code"] = 2
        window.force_close()
        app.quit()

    if errors:
        for message in errors:
            print(f"imgstudio: error: {message}", file=sys.stderr)
        status["code"] = 2
    if window.canvas is not None and len(window.workspace.document):
        if os.environ.get("IMGSTUDIO_TRACE_STARTUP"):  # read by the start-up benchmark
            import time

            window.canvas.first_paint_done.connect(
                lambda: print(f"first-paint {time.time():.6f}", file=sys.stderr, flush=True))
        window.canvas.first_paint_done.connect(lambda: QTimer.singleShot(0, save))
        QTimer.singleShot(30000, save)  # never hang if no paint arrives
    else:
        QTimer.singleShot(200, save)
    app.exec()
    return status["code"]
