"""File handling for the main window: open, import, export, save, overwrite, the recent-files
list, drag and drop, the unsaved-changes prompt and crash recovery.

Saving follows GIMP's model, so each command says what it writes:

- **Save** / **Save As…** write the *project* (``.imgs``: every layer and the history recipe).
  A document opened from an image file has no project yet, so Save asks for one (suggesting
  the image's stem + ``.imgs`` beside it); the image file is never written by Save.
- **Export As…** writes the active layer to an image file of the chosen format.
- **Overwrite NAME** writes the document back into the image file it was opened from (see
  :meth:`FileController.overwrite_target`), in that file's format, atomically; it refuses (and
  says what to do instead) when that file cannot hold the document.

Every file dialog starts in the current document's folder (its project's, else its source
image's), else the last folder used in this window, else the home folder; save and export
dialogs suggest a file name (:func:`dialog_start`).

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
from PySide6.QtWidgets import QAbstractButton, QFileDialog, QMenu, QMessageBox, QWidget

from imgstudio.core.atomic import sweep_folders
from imgstudio.core.autosave import (
    RecoveryClaim,
    claim_recovery,
    orphaned_recovery_files,
    recovery_dir,
)
from imgstudio.core.document import Layer
from imgstudio.core.io import SUPPORTED_READ_EXTENSIONS, SUPPORTED_WRITE_EXTENSIONS
from imgstudio.core.project import PROJECT_EXTENSION
from imgstudio.core.types import LayerKind
from imgstudio.core.workspace import Workspace
from imgstudio.gui.message_bar import attempt

MAX_RECENT = 10


#: Formats a labels layer can be written back to without loss.
_LABEL_EXTENSIONS = (".png", ".tif", ".tiff")
#: The image format suggested when the document has none of its own.
DEFAULT_EXPORT_EXTENSION = ".png"


def _filter(extensions: tuple[str, ...]) -> str:
    return " ".join("*" + e for e in extensions)


def split_extension(path: str) -> tuple[str, str]:
    """``(stem, extension)`` of a file name, the extension lowercase and including double ones
    such as ``.nii.gz``."""
    name = os.path.basename(path)
    for ext in (*SUPPORTED_READ_EXTENSIONS, PROJECT_EXTENSION):
        if "." in ext[1:] and name.lower().endswith(ext):
            return name[: -len(ext)], ext
    stem, ext = os.path.splitext(name)
    return stem, ext.lower()


def document_file(workspace: Workspace) -> str | None:
    """The file the document lives in: its project, else the image it was opened from."""
    return workspace.path or workspace.source_path


def suggested_name(workspace: Workspace, purpose: str, layer: Layer | None = None) -> str:
    """The file name a dialog proposes: ``""`` to open or import, the document's stem +
    ``.imgs`` to save a project, and to export ``layer`` the stem (+ ``-LAYER`` when the
    document has several layers) + the source image's extension when that format is written
    (else ``.png``)."""
    if purpose in ("open", "import"):
        return ""
    shown = document_file(workspace)
    stem, ext = split_extension(shown) if shown else ("Untitled", "")
    if purpose == "save":
        return stem + PROJECT_EXTENSION
    if layer is not None and len(workspace.document) > 1 and layer.name != stem:
        stem = f"{stem}-{layer.name}"
    writable = ext in SUPPORTED_WRITE_EXTENSIONS and (
        layer is None or layer.kind != LayerKind.LABELS or ext in _LABEL_EXTENSIONS)
    return stem + (ext if writable else DEFAULT_EXPORT_EXTENSION)


def dialog_start(workspace: Workspace, last_folder: str | None, purpose: str,
                 layer: Layer | None = None) -> tuple[str, str]:
    """``(folder, suggested file name)`` a file dialog starts with: the folder of the
    document's project or source image when it exists, else ``last_folder`` (the last one
    used in this window) when it exists, else the home folder. ``purpose``: ``"open"``,
    ``"import"``, ``"save"`` (a project) or ``"export"`` (``layer`` to an image file)."""
    shown = document_file(workspace)
    candidates = [os.path.dirname(os.path.abspath(shown)) if shown else None, last_folder]
    folder = next((c for c in candidates if c and os.path.isdir(c)), os.path.expanduser("~"))
    return folder, suggested_name(workspace, purpose, layer)


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
        #: Asked when there are unsaved changes; returns "save" (the project; Save As when it
        #: has none), "save_as", "overwrite" (the source image), "discard" or "cancel".
        #: Tests replace it.
        self.ask_unsaved: Callable[[], str] = self._ask_unsaved_dialog
        #: The folder of the last file chosen or opened in this window (not shared with other
        #: windows or instances, unlike the recent files).
        self.last_folder: str | None = None
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
        self._remember_folder(path)
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
        """Ask for an image or project and open it in place of the current document."""
        flt = f"Images and projects ({_filter(SUPPORTED_READ_EXTENSIONS)} *{PROJECT_EXTENSION})"
        path = self._ask_open("Open", flt, "open")
        if path:
            self._try(lambda: self.open_path(path))

    def import_dialog(self) -> None:
        """Ask for an image and add it to the document as a new layer."""
        path = self._ask_open("Import as layer",
                              f"Images ({_filter(SUPPORTED_READ_EXTENSIONS)})", "import")
        if path:
            self.import_path(path)

    def export_dialog(self) -> bool:
        """Ask for an image file and write the active layer to it (the document, its project
        and its source image are left as they are). A name without an extension gets the
        suggested one."""
        layer = self.workspace.document.active
        if layer is None:
            self.info.emit("There is no layer to export")
            return False
        suggested = suggested_name(self.workspace, "export", layer)
        path = self._ask_save(f"Export layer {layer.name}",
                              f"Images ({_filter(SUPPORTED_WRITE_EXTENSIONS)})", "export", layer)
        if not path:
            return False
        if not split_extension(path)[1]:
            path += split_extension(suggested)[1]
        ok = self._try(lambda: self.workspace.export_layer(layer, path))
        if ok:
            self.info.emit(f"Exported layer {layer.name} to {os.path.basename(path)}")
        return ok

    def _ask_open(self, caption: str, flt: str, purpose: str) -> str:
        folder, _ = dialog_start(self.workspace, self.last_folder, purpose)
        path, _ = QFileDialog.getOpenFileName(self._dialog_parent, caption, folder, flt)
        self._remember_folder(path)
        return path

    def _ask_save(self, caption: str, flt: str, purpose: str, layer: Layer | None = None) -> str:
        folder, name = dialog_start(self.workspace, self.last_folder, purpose, layer)
        path, _ = QFileDialog.getSaveFileName(self._dialog_parent, caption,
                                              os.path.join(folder, name), flt)
        self._remember_folder(path)
        return path

    def _remember_folder(self, path: str) -> None:
        if path:
            self.last_folder = os.path.dirname(os.path.abspath(path))

    # -- saving -------------------------------------------------------------------------------
    def save(self) -> bool:
        """Save the project (every layer and the history); without one yet: :meth:`save_as`.
        Never writes the image the document was opened from."""
        if self.workspace.path is None:
            return self.save_as()
        return self._try(lambda: self.workspace.save())

    def save_as(self) -> bool:
        """Ask for a project file (``.imgs``, suggested: the document's stem beside it) and
        save the document there; it becomes the document's project."""
        path = self._ask_save("Save as project", f"imgstudio project (*{PROJECT_EXTENSION})",
                              "save")
        if not path:
            return False
        workspace = self.workspace
        ok = self._try(lambda: workspace.save(path))
        if ok:
            self._add_recent(workspace.path)
        return ok

    def overwrite_target(self) -> str | None:
        """The image file :meth:`overwrite` writes: the one the document was opened from
        (or recovered from), as long as it is an image format imgstudio writes and the
        document has not been saved as a project since (then the project is its home and Save
        goes there). None otherwise: an untitled document, a project."""
        workspace = self.workspace
        source = workspace.source_path
        if workspace.path is not None or not source:
            return None
        return source if split_extension(source)[1] in SUPPORTED_WRITE_EXTENSIONS else None

    def overwrite_problem(self) -> str | None:
        """Why the document cannot be written back into :meth:`overwrite_target` (and what to
        do instead); None when it can (the format may still refuse the pixel type)."""
        target = self.overwrite_target()
        if target is None:
            return "this document was not opened from an image file; use Save or Export As…"
        name, ext = os.path.basename(target), split_extension(target)[1]
        document = self.workspace.document
        if len(document) != 1:
            return (f"{name} holds one image and this document has {len(document)} layers: "
                    "Save Project As… keeps them all, Export As… writes the active one")
        layer = document[0]
        if layer.kind == LayerKind.LABELS and ext not in _LABEL_EXTENSIONS:
            return (f"a labels layer cannot be written to {ext} without loss: "
                    "Export As… as .png or .tif, or Save Project As…")
        if layer.kind not in (LayerKind.IMAGE, LayerKind.LABELS):
            return (f"layer {layer.name!r} is a {layer.kind.value} layer, which {name} cannot "
                    "hold: Save Project As… keeps it")
        return None

    def overwrite(self) -> bool:
        """Write the document back into the image file it was opened from, atomically and in
        that file's format; the document then counts as saved (the history stays, but only in
        this session). Refused, with the reason and what to do instead as ``error``, when the
        file cannot hold the document (several layers, a layer kind or pixel type the format
        lacks); nothing is written then."""
        problem = self.overwrite_problem()
        target = self.overwrite_target()
        if problem is not None or target is None:
            self.error.emit(f"Cannot overwrite: {problem}")
            return False
        workspace, layer = self.workspace, self.workspace.document[0]
        name = os.path.basename(target)

        def write() -> None:
            try:
                workspace.export_layer(layer, target)
            except ValueError as exc:
                raise ValueError(f"Cannot overwrite {name}: {exc}; use Export As… to choose "
                                 "another format, or Save Project As…") from exc
        if not self._try(write):
            return False
        workspace.mark_saved()
        self._add_recent(target)
        self.info.emit(f"Overwrote {name}")
        return True

    def close_document(self) -> bool:
        """Close the current document (after the unsaved-changes prompt) and show an empty
        one; False when the user kept it."""
        if not self.maybe_save():
            return False
        self._bind(Workspace())
        return True

    def unsaved_prompt(self) -> tuple[QMessageBox, dict[QAbstractButton, str]]:
        """The unsaved-changes message box and the answer each of its buttons stands for.
        Its buttons say what they do: a project offers "Save"; a document from an image file
        "Overwrite NAME" (when that file can hold it) and "Save Project As…"; an untitled one
        "Save Project As…"; all "Discard" and "Cancel"."""
        workspace = self.workspace
        name = workspace.title.rstrip(" *")
        box = QMessageBox(QMessageBox.Warning, "Unsaved changes",
                          f"{name} has unsaved changes.", QMessageBox.NoButton,
                          self._dialog_parent)
        answers: dict[QAbstractButton, str] = {}
        if workspace.path is not None:
            box.setInformativeText(f"Save writes them to the project {name}.")
            save = box.addButton(QMessageBox.Save)
            answers[save] = "save"
        else:
            target = self.overwrite_target()
            if target is not None and self.overwrite_problem() is None:
                over = box.addButton(f"Overwrite {os.path.basename(target)}",
                                     QMessageBox.AcceptRole)
                answers[over] = "overwrite"
                box.setInformativeText(
                    f"Overwrite writes the image into {os.path.basename(target)}; a project "
                    f"({PROJECT_EXTENSION}) keeps the layers and the history.")
            else:
                box.setInformativeText(
                    f"Save them as a project ({PROJECT_EXTENSION}) to keep the layers and the "
                    "history.")
            save = box.addButton("Save Project As…", QMessageBox.AcceptRole)
            answers[save] = "save_as"
        answers[box.addButton(QMessageBox.Discard)] = "discard"
        cancel = box.addButton(QMessageBox.Cancel)
        answers[cancel] = "cancel"
        box.setDefaultButton(save)
        box.setEscapeButton(cancel)
        return box, answers

    def _ask_unsaved_dialog(self) -> str:
        box, answers = self.unsaved_prompt()
        box.exec()
        return answers.get(box.clickedButton(), "cancel")

    def maybe_save(self) -> bool:
        """True when it is fine to drop the current document (saved, overwritten, discarded or
        unmodified)."""
        if not self.workspace.modified:
            return True
        answer = self.ask_unsaved()
        actions: dict[str, Callable[[], bool]] = {
            "save": self.save, "save_as": self.save_as, "overwrite": self.overwrite}
        if answer in actions:
            return actions[answer]()
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
