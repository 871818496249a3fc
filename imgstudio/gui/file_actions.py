"""File handling of the main window: open, recent files, save, import/export, drag and drop,
the unsaved-changes prompt and crash recovery. A mixin so the window module stays about
assembly; it uses the window's ``workspace``, ``settings``, ``message_bar``, ``bind`` and
the ``recent_menu`` / ``act_open_recovered`` it builds."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable

from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QFileDialog, QMessageBox

from imgstudio.core.autosave import recovery_files
from imgstudio.core.io import SUPPORTED_READ_EXTENSIONS, SUPPORTED_WRITE_EXTENSIONS
from imgstudio.core.project import PROJECT_EXTENSION
from imgstudio.core.workspace import Workspace

MAX_RECENT = 10


def _filter(extensions: tuple[str, ...]) -> str:
    return " ".join("*" + e for e in extensions)


class FileActions:
    """Mixed into :class:`~imgstudio.gui.main_window.MainWindow`."""

    # -- files --------------------------------------------------------------------------------
    def open_files(self, paths: list[str], import_all: bool = False) -> list[str]:
        """Open the first path (unless ``import_all``), import the rest as layers; returns
        error messages (also shown in the message bar)."""
        errors: list[str] = []
        for n, path in enumerate(paths):
            try:
                if n == 0 and not import_all:
                    self.open_path(path, ask=False)
                else:
                    self.workspace.import_layer(path)
            except (OSError, ValueError) as exc:
                errors.append(str(exc))
                self.message_bar.show_error(str(exc))
        return errors

    def open_path(self, path: str, ask: bool = True) -> bool:
        """Open an image or project in place of the current document."""
        if ask and not self.maybe_save():
            return False
        self.show_workspace(Workspace.open(path), path)
        return True

    def show_workspace(self, workspace: Workspace, path: str | None = None) -> None:
        """Show an already opened workspace (e.g. loaded on another thread at start-up)."""
        self.bind(workspace)
        if path is not None:
            self._add_recent(path)

    def open_dialog(self) -> None:
        flt = f"Images and projects ({_filter(SUPPORTED_READ_EXTENSIONS)} *{PROJECT_EXTENSION})"
        path, _ = QFileDialog.getOpenFileName(self, "Open", self._last_dir(), flt)
        if path:
            self._try(lambda: self.open_path(path))

    def import_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import as layer", self._last_dir(),
                                              f"Images ({_filter(SUPPORTED_READ_EXTENSIONS)})")
        if path:
            self._try(lambda: self.workspace.import_layer(path))

    def export_dialog(self) -> None:
        layer = self.workspace.document.active
        if layer is None:
            self.message_bar.show_info("There is no layer to export")
            return
        path, _ = QFileDialog.getSaveFileName(self, f"Export {layer.name}", self._last_dir(),
                                              f"Images ({_filter(SUPPORTED_WRITE_EXTENSIONS)})")
        if path:
            self._try(lambda: self.workspace.export_layer(layer, path))

    def save(self) -> bool:
        if self.workspace.path is None:
            return self.save_as()
        return self._try(lambda: self.workspace.save())

    def save_as(self) -> bool:
        path, _ = QFileDialog.getSaveFileName(self, "Save project", self._last_dir(),
                                              f"imgstudio project (*{PROJECT_EXTENSION})")
        if not path:
            return False
        ok = self._try(lambda: self.workspace.save(path))
        if ok:
            self._add_recent(self.workspace.path)
        return ok

    def _try(self, fn: Callable[[], object]) -> bool:
        try:
            fn()
        except (OSError, ValueError) as exc:
            self.message_bar.show_error(str(exc))
            return False
        return True

    def _last_dir(self) -> str:
        recent = self.recent_files()
        return os.path.dirname(recent[0]) if recent else os.getcwd()

    def recent_files(self) -> list[str]:
        value = self.settings.value("recent", [])
        if isinstance(value, str):
            value = [value]
        return [p for p in (value or []) if isinstance(p, str)]

    def _add_recent(self, path: str) -> None:
        path = os.path.abspath(path)
        recent = [p for p in self.recent_files() if p != path]
        self.settings.setValue("recent", [path, *recent][:MAX_RECENT])

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in self.recent_files():
            act = self.recent_menu.addAction(path)
            act.setEnabled(os.path.exists(path))
            act.triggered.connect(lambda _=False, p=path: self._try(lambda: self.open_path(p)))
        if not self.recent_menu.actions():
            self.recent_menu.addAction("(none)").setEnabled(False)

    # -- drag and drop ------------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if not paths:
            return
        event.acceptProposedAction()
        if len(self.workspace.document) == 0:
            self.open_files(paths)
        else:
            for path in paths:
                self._try(lambda p=path: self.workspace.import_layer(p))

    # -- closing ------------------------------------------------------------------------------
    def _ask_unsaved_dialog(self) -> str:
        box = QMessageBox(QMessageBox.Warning, "Unsaved changes",
                          f"Save the changes to {self.workspace.title.rstrip(' *')}?",
                          QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel, self)
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


    def _offer_recovery(self) -> None:
        files = recovery_files()
        self.act_open_recovered.setEnabled(bool(files))
        if files:
            self.message_bar.show_warning(
                f"{len(files)} document(s) with unsaved changes were kept after imgstudio "
                "stopped unexpectedly: File → Open Recovered Document")

    def open_recovered(self) -> bool:
        """Open the newest recovery file as an unsaved document and delete the file."""
        files = recovery_files()
        if not files or not self.maybe_save():
            return False
        path = files[0]
        workspace = Workspace.open(path)
        workspace.path = None
        workspace.source_path = workspace.view.get("recovered_from") or None
        self.bind(workspace)
        workspace.mark_unsaved()
        with contextlib.suppress(OSError):
            os.remove(path)
        self.act_open_recovered.setEnabled(bool(recovery_files()))
        return True

