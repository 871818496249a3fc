"""Autosave for crash recovery: after edits settle, the document is written in the background
to this editor's recovery slot (see :mod:`imgstudio.core.autosave`: a file plus a lock held for
the editor's lifetime, so other editors never offer it while this one runs); clean saves and
closes remove it."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

from PySide6.QtCore import QObject

from imgstudio.core.autosave import RecoveryClaim, RecoverySlot, snapshot
from imgstudio.core.workspace import Workspace
from imgstudio.gui.debounce import debounce_timer

AUTOSAVE_DELAY_MS = 2000


class Autosave(QObject):
    """Writes ``workspace`` to a recovery file ``AUTOSAVE_DELAY_MS`` after the last change."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.timer = debounce_timer(self, AUTOSAVE_DELAY_MS, self.write_now)
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="imgstudio-autosave")
        self._pending: Future | None = None
        self.workspace: Workspace | None = None
        self.slot = RecoverySlot()
        self.path = str(self.slot.path)
        self.last_error: str = ""

    def watch(self, workspace: Workspace) -> None:
        """Follow ``workspace`` (a newly opened document): the old recovery file goes."""
        self.discard()
        self.workspace = workspace
        workspace.history.changed.connect(self.timer.start)
        workspace.modified_changed.connect(self._on_modified_changed)

    def _on_modified_changed(self, modified: bool) -> None:
        if not modified:  # saved, or undone back to the saved state
            self.timer.stop()
            self._remove()

    def write_now(self) -> Future | None:
        """Snapshot on this (UI) thread, write on the autosave thread; returns the write."""
        ws = self.workspace
        if ws is None or not ws.modified or len(ws.document) == 0:
            return None
        document, recipe = snapshot(ws.document), ws.history.recipe()
        source = ws.path or ws.source_path
        self._pending = self._pool.submit(self._write, document, recipe, source)
        return self._pending

    def _write(self, document, recipe, source) -> None:
        try:
            self.slot.write(document, recipe, source)
            self.last_error = ""
        except OSError as exc:  # a full disk must not take the editor down; shown on close
            self.last_error = f"autosave failed: {exc}"

    def _remove(self) -> None:
        if self._pending is not None:
            self._pending.result()
        self.slot.remove()

    def adopt(self, claim: RecoveryClaim) -> None:
        """A recovered file now shows as the current document: it becomes this editor's
        recovery file (so the recovered work stays on disk until saved, discarded or closed)."""
        self.timer.stop()
        if self._pending is not None:
            self._pending.result()
        self.slot.adopt(claim)

    def discard(self) -> None:
        """The document was saved, closed or replaced: stop and delete the recovery file."""
        self.timer.stop()
        self._remove()

    def shutdown(self) -> None:
        self.discard()
        self.workspace = None  # a late history signal (the workspace closing) writes nothing
        self._pool.shutdown(wait=True)
        self.slot.close()
