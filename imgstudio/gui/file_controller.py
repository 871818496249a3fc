"""File handling for the main window: open, import, export, save, the recent-files list, drag
and drop, the unsaved-changes prompt and crash recovery.

The window composes one :class:`FileController` and passes it everything it uses: the parent
widget for dialogs, the settings, a callable returning the current workspace and one that
shows a new workspace. The controller reports through its ``error``, ``info`` and ``warning``
signals (the window connects them to its message bar) and ``recovery_available`` (whether
File → Open Recovered Document has something to open); it never touches the window's widgets.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox, QWidget

from imgstudio.core.atomic import sweep_folders
from imgstudio.core.autosave import (
    RecoveryClaim,
    claim_recovery,
    orphaned_recovery_files,
    recovery_dir,
)
from imgstudio.core.io import SUPPORTED_READ_EXTENSIONS, SUPPORTED_WRITE_EXTENSIONS
from imgstudio.core.project import PROJECT_EXTENSION
from imgstudio.core.workspace import Workspace
from imgstudio.gui.message_bar import attempt

MAX_RECENT = 10


def _filter(extensions: tuple[str, ...]) -> str:
    return " ".join("*" + e for e in extensions)


class FileController(QObject):
    """Opens, imports, exports and saves the current :class:`Workspace`.

    Parameters
    ----------
    parent : QWidget
        Parent of the file dialogs and the unsaved-changes prompt (and of this object).
    settings : QSettings
        Where the recent-files list is kept (key ``"recent"``).
    workspace : callable
        Returns the workspace shown now.
    bind : callable
        Shows a newly opened workspace in place of the current one (which it closes).

    Signals: ``error(text)``, ``info(text)``, ``warning(text)`` for the user;
    ``recovery_available(bool)`` whenever the set of recovery files was looked at.
    """

    error = Signal(str)
    info = Signal(str)
    warning = Signal(str)
    recovery_available = Signal(bool)

    def __init__(self, parent: QWidget, settings: QSettings,
                 workspace: Callable[[], Workspace],
                 bind: Callable[[Workspace], None]) -> None:
        super().__init__(parent)
        self._dialog_parent = parent
        self._settings = settings
        self._workspace = workspace
        self._bind = bind
        #: Asked when there are unsaved changes; returns "save", "discard" or "cancel".
        #: Tests replace it.
        self.ask_unsaved: Callable[[], str] = self._ask_unsaved_dialog
        #: Given the claim on a recovered file once it shows as the current document; the
        #: window passes it to its autosave (which adopts the file). Default: delete the file.
        self.adopt_recovered: Callable[[RecoveryClaim], None] = RecoveryClaim.discard

    @property
    def workspace(self) -> Workspace:
        return self._workspace()

    # -- opening ------------------------------------------------------------------------------
    def open_files(self, paths: list[str], import_all: bool = False) -> list[str]:
        """Open the first path (unless ``import_all``), import the rest as layers; returns
        error messages (also emitted as ``error``)."""
        errors: list[str] = []
        for n, path in enumerate(paths):
            try:
                if n == 0 and not import_all:
                    self.open_path(path, ask=False)
                else:
                    self.workspace.import_layer(path)
            except (OSError, ValueError) as exc:
                errors.append(str(exc))
                self.error.emit(str(exc))
        return errors

    def open_path(self, path: str, ask: bool = True) -> bool:
        """Open an image or project in place of the current document (after asking about
        unsaved changes when ``ask``); raises OSError or ValueError when it cannot be read."""
        if ask and not self.maybe_save():
            return False
        self.show_workspace(Workspace.open(path), path)
        return True

    def show_workspace(self, workspace: Workspace, path: str | None = None) -> None:
        """Show an already opened workspace (e.g. loaded on another thread at start-up);
        ``path`` goes to the recent files."""
        self._bind(workspace)
        if path is not None:
            self._add_recent(path)

    def import_path(self, path: str) -> bool:
        """Add an image file to the current document as a new layer; errors are reported."""
        return self._try(lambda: self.workspace.import_layer(path))

    def open_dialog(self) -> None:
        flt = f"Images and projects ({_filter(SUPPORTED_READ_EXTENSIONS)} *{PROJECT_EXTENSION})"
        path, _ = QFileDialog.getOpenFileName(self._dialog_parent, "Open", self._last_dir(),
                                              flt)
        if path:
            self._try(lambda: self.open_path(path))

    def import_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self._dialog_parent, "Import as layer",
                                              self._last_dir(),
                                              f"Images ({_filter(SUPPORTED_READ_EXTENSIONS)})")
        if path:
            self.import_path(path)

    def export_dialog(self) -> None:
        layer = self.workspace.document.active
        if layer is None:
            self.info.emit("There is no layer to export")
            return
        path, _ = QFileDialog.getSaveFileName(self._dialog_parent, f"Export {layer.name}",
                                              self._last_dir(),
                                              f"Images ({_filter(SUPPORTED_WRITE_EXTENSIONS)})")
        if path:
            self._try(lambda: self.workspace.export_layer(layer, path))

    # -- saving -------------------------------------------------------------------------------
    def save(self) -> bool:
        if self.workspace.path is None:
            return self.save_as()
        return self._try(lambda: self.workspace.save())

    def save_as(self) -> bool:
        path, _ = QFileDialog.getSaveFileName(self._dialog_parent, "Save project",
                                              self._last_dir(),
                                              f"imgstudio project (*{PROJECT_EXTENSION})")
        if not path:
            return False
        workspace = self.workspace
        ok = self._try(lambda: workspace.save(path))
        if ok:
            self._add_recent(workspace.path)
        return ok

    def _ask_unsaved_dialog(self) -> str:
        box = QMessageBox(QMessageBox.Warning, "Unsaved changes",
                          f"Save the changes to {self.workspace.title.rstrip(' *')}?",
                          QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel,
                          self._dialog_parent)
        answer = box.exec()
        return {QMessageBox.Save: "save", QMessageBox.Discard: "discard"}.get(answer, "cancel")

    def maybe_save(self) -> bool:
        """True when it is fine to drop the current document (saved, discarded or unmodified)."""
        if not self.workspace.modified:
            return True
        answer = self.ask_unsaved()
        if answer == "save":
            return self.save()
        return answer == "discard"

    # -- recent files -------------------------------------------------------------------------
    def recent_files(self) -> list[str]:
        value = self._settings.value("recent", [])
        if isinstance(value, str):
            value = [value]
        return [p for p in (value or []) if isinstance(p, str)]

    def _add_recent(self, path: str) -> None:
        path = os.path.abspath(path)
        recent = [p for p in self.recent_files() if p != path]
        self._settings.setValue("recent", [path, *recent][:MAX_RECENT])

    def fill_recent_menu(self, menu: QMenu) -> None:
        """Replace ``menu``'s entries with the recent files (missing ones disabled)."""
        menu.clear()
        for path in self.recent_files():
            act = menu.addAction(path)
            act.setEnabled(os.path.exists(path))
            act.triggered.connect(lambda _=False, p=path: self._try(lambda: self.open_path(p)))
        if not menu.actions():
            menu.addAction("(none)").setEnabled(False)

    def _last_dir(self) -> str:
        recent = self.recent_files()
        return os.path.dirname(recent[0]) if recent else os.getcwd()

    # -- drag and drop ------------------------------------------------------------------------
    def drag_enter(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def drop(self, event: QDropEvent) -> None:
        """Dropped files open (into an empty document) or are imported as layers."""
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if not paths:
            return
        event.acceptProposedAction()
        if len(self.workspace.document) == 0:
            self.open_files(paths)
        else:
            for path in paths:
                self.import_path(path)

    # -- crash recovery -----------------------------------------------------------------------
    def offer_recovery(self) -> None:
        """Tell the user about documents kept after a crash by editors that no longer run
        (emits ``recovery_available``), and sweep stale temporary files of killed saves from
        the recovery folder and the folders of the recent files (in the background)."""
        self._sweep_at_start()
        files = orphaned_recovery_files()
        self.recovery_available.emit(bool(files))
        if files:
            self.warning.emit(
                f"{len(files)} document(s) with unsaved changes were kept after imgstudio "
                "stopped unexpectedly: File → Open Recovered Document")

    def open_recovered(self) -> bool:
        """Open the newest recovery file of an editor that no longer runs as an unsaved
        document; the file is claimed first (another editor cannot open it meanwhile) and
        then handed to ``adopt_recovered``. False when there is none, the user kept the current
        document, or it cannot be read (reported; the file is kept)."""
        if not orphaned_recovery_files() or not self.maybe_save():
            return False
        claim = next(filter(None, map(claim_recovery, orphaned_recovery_files())), None)
        if claim is None:  # taken by another editor meanwhile
            self.recovery_available.emit(bool(orphaned_recovery_files()))
            return False
        try:
            workspace = Workspace.open(claim.path)
        except (OSError, ValueError) as exc:
            claim.release()
            self.error.emit(str(exc))
            return False
        workspace.path = None
        workspace.source_path = workspace.view.get("recovered_from") or None
        self._bind(workspace)
        workspace.mark_unsaved()
        try:
            self.adopt_recovered(claim)
        except OSError as exc:  # the file stays where it was and is offered again
            claim.release()
            self.warning.emit(f"the recovered file {claim.path} could not be taken over: "
                              f"{exc}")
        self.recovery_available.emit(bool(orphaned_recovery_files()))
        return True

    def _sweep_at_start(self) -> None:
        folders = [recovery_dir()] + [os.path.dirname(p) for p in self.recent_files()]
        threading.Thread(target=sweep_folders, args=(folders,), daemon=True,
                         name="imgstudio-sweep").start()

    # -- helpers ------------------------------------------------------------------------------
    def _try(self, fn: Callable[[], object]) -> bool:
        """Run a file command; a bad input (OSError or ValueError) is emitted as ``error``."""
        return attempt(fn, self.error.emit)
