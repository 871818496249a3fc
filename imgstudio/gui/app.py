"""Start the editor: ``imgstudio [FILES]`` and ``imgstudio --screenshot OUT.png [FILES]``.

Files given on the command line go through one error boundary (:func:`open_startup_files`):
a file that cannot be opened — missing, not an image, a damaged or hostile project — never
stops the editor. It starts without that file and shows the file's error in the message bar
(each error also goes to standard error as ``imgstudio: error: ...``). Bad input (an
``OSError`` or ``ValueError``: ``ImageIOError``, ``ProjectError``) is shown as it is; any
other exception is our bug: its traceback goes to a crash log
(:mod:`imgstudio.core.crashlog`) and the message says where.

With ``--screenshot`` the window is still painted and saved; the exit status then says whether
every file opened: 0 if so, 2 when a file could not be read (bad input, as on the command
line), 70 when opening one hit an internal error (logged), and 2 as well when the screenshot
itself cannot be written.
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
ICON = RESOURCES / "icons" / "imgstudio.svg"

EXIT_BAD_INPUT = 2
EXIT_SOFTWARE = 70  # sysexits.h EX_SOFTWARE, as the command line uses for a logged bug


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


class StartupError:
    """A file given at start-up that could not be opened: the message shown, and whether it
    was an internal error (a bug, logged) rather than a bad file."""

    def __init__(self, message: str, internal: bool = False) -> None:
        self.message = message
        self.internal = internal

    def __str__(self) -> str:
        return self.message


def startup_error(path: str, exc: BaseException) -> StartupError:
    """The message for ``path`` failing to open with ``exc``: its own message for bad input
    (prefixed with the file when it does not name it), else a line naming the crash log."""
    if isinstance(exc, (OSError, ValueError)):
        message = " ".join(str(exc).split()) or type(exc).__name__
        if path not in message:
            message = f"cannot open {path}: {message}"
        return StartupError(message)
    from imgstudio.core.crashlog import describe, write_crash_log

    try:
        log = write_crash_log(exc, context=f"opening {path} at start-up")
        where = f"the details are in {log}"
    except OSError as log_error:
        where = f"no crash log could be written ({log_error})"
    return StartupError(f"cannot open {path}: internal error ({describe(exc)}); {where}",
                        internal=True)


def open_startup_files(window: Any, files: list[str], opening: Future | None = None
                       ) -> list[StartupError]:
    """Open ``files[0]`` (``opening``: that file already being opened on another thread) and
    import the rest as layers; every failure is shown in the window's message bar and
    returned, never raised (``KeyboardInterrupt`` and ``SystemExit`` aside)."""
    from imgstudio.core.workspace import Workspace

    errors: list[StartupError] = []

    def report(path: str, exc: BaseException) -> None:
        error = startup_error(path, exc)
        errors.append(error)
        window.message_bar.show_error(error.message)

    if files:
        first = opening
        try:
            workspace = first.result() if first is not None else Workspace.open(files[0])
        except Exception as exc:  # noqa: BLE001 - the start-up boundary
            report(files[0], exc)
        else:
            try:
                window.files.show_workspace(workspace, files[0])
            except Exception as exc:  # noqa: BLE001 - the window could not show it
                report(files[0], exc)
                window.files.show_workspace(Workspace())
    for path in files[1:]:
        try:
            # reports bad input itself (message bar) and returns the messages
            errors += [StartupError(m) for m in window.files.open_files([path], import_all=True)]
        except Exception as exc:  # noqa: BLE001 - the start-up boundary
            report(path, exc)
    return errors


def main(files: list[str], screenshot: str | None = None, opening: Future | None = None) -> int:
    """Open the main window on ``files``; with ``screenshot``, save the window and exit (see
    the module docstring for the exit status).

    ``opening`` is the first file already being opened on another thread (a Future of a
    Workspace), so decoding overlaps with building the window.
    """
    app = application()
    from imgstudio.gui.main_window import MainWindow

    window = MainWindow()
    window.resize(1280, 800)
    errors = open_startup_files(window, files, opening)
    for error in errors:
        print(f"imgstudio: error: {error}", file=sys.stderr)
    window.show()
    if screenshot is None:
        return app.exec()

    status = {"code": 0}
    if errors:
        status["code"] = (EXIT_SOFTWARE if any(e.internal for e in errors)
                          else EXIT_BAD_INPUT)

    def save() -> None:
        app.processEvents()
        if not window.grab().save(os.fspath(screenshot)):
            print(f"imgstudio: error: cannot write screenshot {screenshot}", file=sys.stderr)
            status["code"] = status["code"] or EXIT_BAD_INPUT
        window.force_close()
        app.quit()

    if window.canvas is not None and window.workspace is not None and len(
            window.workspace.document):
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
