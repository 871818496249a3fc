"""Undo/redo: commands that record what reverses them, kept within a byte budget.

Every undoable change is a :class:`Command`. Pixel edits (:class:`SetPixels`) keep only the
changed part of the image, tile by tile, zlib-compressed, so undo memory and undo/redo time
grow with the changed pixels, never with the image. :class:`History` holds the commands, spills
the oldest payloads to disk past ``budget_bytes`` and drops the oldest steps, with a ``notice``,
past ``spill_budget_bytes``. Commands carrying a :class:`~imgstudio.core.recipe.RecordedStep`
make the history double as a replayable recipe (:meth:`History.recipe`).
"""


from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import weakref
from collections.abc import Iterator

from imgstudio.core.commands import (  # noqa: F401 - re-exported: the history's vocabulary
    AddLayer,
    Command,
    Group,
    MoveLayer,
    Record,
    RemoveLayer,
    SetLayerData,
    SetLayerProperty,
    SetPixels,
)
from imgstudio.core.document import Document
from imgstudio.core.events import Signal
from imgstudio.core.recipe import Recipe, RecordedStep, build_recipe
from imgstudio.core.undo_storage import fmt_bytes


# -- the history ------------------------------------------------------------------------------
class _SpillDir:
    """A private temporary folder, created on first use, removed on close or at collection."""

    def __init__(self, parent: str | os.PathLike[str] | None) -> None:
        self.parent = None if parent is None else os.fspath(parent)
        self.path: str | None = None
        self._finalizer: weakref.finalize | None = None

    def get(self) -> str:
        if self.path is None:
            self.path = tempfile.mkdtemp(prefix="imgstudio-undo-", dir=self.parent)
            self._finalizer = weakref.finalize(self, shutil.rmtree, self.path, True)
        return self.path

    def close(self) -> None:
        if self._finalizer is not None:
            self._finalizer()
        self.path = self._finalizer = None


class History:
    """The undo stack of a document, bounded in bytes.

    Parameters
    ----------
    document : Document
    budget_bytes : int
        Undo payload kept in memory; past it the oldest payloads spill to disk.
    spill_dir : path, optional
        Where to create the spill folder; default: the system temporary folder.
    spill_budget_bytes : int, optional
        Undo payload kept on disk (default ``4 * budget_bytes``); past it the oldest steps are
        dropped and ``notice`` says so.

    Events: ``changed()`` after any change of the steps or the position; ``notice(message)``
    when steps are dropped.
    """

    def __init__(
        self,
        document: Document,
        budget_bytes: int = 1 << 30,
        spill_dir: str | os.PathLike[str] | None = None,
        spill_budget_bytes: int | None = None,
    ) -> None:
        self.document = document
        self.budget_bytes = int(budget_bytes)
        self.spill_budget_bytes = (
            4 * self.budget_bytes if spill_budget_bytes is None else int(spill_budget_bytes)
        )
        self._spill = _SpillDir(spill_dir)
        self._steps: list[Command] = []
        self._index = -1
        self._open: list[Command] | None = None  # commands of the open group
        #: Op calls made before this history began (a reopened project's recipe); they head
        #: :meth:`recipe` and cannot be undone.
        self.base_steps: list[RecordedStep] = []
        self.changed = Signal()
        self.notice = Signal()

    # -- state ----------------------------------------------------------------------------------
    @property
    def steps(self) -> tuple[Command, ...]:
        return tuple(self._steps)

    @property
    def index(self) -> int:
        """Index of the last applied step; -1 when none is applied."""
        return self._index

    @property
    def can_undo(self) -> bool:
        return self._index >= 0 and self._open is None

    @property
    def can_redo(self) -> bool:
        return self._index < len(self._steps) - 1 and self._open is None

    @property
    def memory_bytes(self) -> int:
        """Undo payload held in memory, in bytes."""
        return sum(c.nbytes for c in self._steps)

    @property
    def spilled_bytes(self) -> int:
        """Undo payload spilled to disk, in bytes."""
        return sum(c.spilled_bytes for c in self._steps)

    @property
    def spill_dir(self) -> str | None:
        """The spill folder, once created."""
        return self._spill.path

    def recorded_steps(self) -> list[RecordedStep]:
        """The op calls of :attr:`base_steps` and of the applied steps, oldest first."""
        return [*self.base_steps,
                *(s for c in self._steps[: self._index + 1] for s in c.recipe_steps())]

    def recipe(self) -> Recipe:
        """The applied op calls as a recipe over the document's layer names."""
        return build_recipe(self.recorded_steps(), {lay.id: lay.name for lay in self.document})

    # -- recording ------------------------------------------------------------------------------
    def execute(self, command: Command) -> None:
        """Apply ``command`` and record it; if it raises, nothing changes and it propagates."""
        command.redo()
        self.push(command)

    def push(self, command: Command) -> None:
        """Record ``command`` whose effect is already applied (e.g. a brush dab)."""
        if self._open is not None:
            self._open.append(command)
            return
        for c in self._steps[self._index + 1 :]:
            c.discard()
        del self._steps[self._index + 1 :]
        self._steps.append(command)
        self._index = len(self._steps) - 1
        self._enforce_budget()
        self.changed.emit()

    @contextlib.contextmanager
    def group(self, label: str) -> Iterator[None]:
        """Record what is executed in the block as one step; nested groups flatten.

        If an exception escapes the block, the commands executed in it are undone, nothing is
        recorded, and the exception propagates.
        """
        outer = self._open is None
        if outer:
            self._open = []
        assert self._open is not None
        opened = self._open
        start = len(opened)
        try:
            yield
        except BaseException:
            done = opened[start:]
            del opened[start:]
            if outer:
                self._open = None
            for c in reversed(done):
                c.undo()
            raise
        if outer:
            self._open = None
            if opened:
                self.push(Group(label, opened))

    # -- moving ---------------------------------------------------------------------------------
    def _check_closed_group(self) -> None:
        if self._open is not None:
            raise RuntimeError("cannot move in the history while a group is open")

    def undo(self) -> bool:
        """Undo the last applied step; return False when there is none."""
        self._check_closed_group()
        if self._index < 0:
            return False
        self._steps[self._index].undo()
        self._index -= 1
        self.changed.emit()
        return True

    def redo(self) -> bool:
        """Redo the next step; return False when there is none."""
        self._check_closed_group()
        if self._index >= len(self._steps) - 1:
            return False
        self._steps[self._index + 1].redo()
        self._index += 1
        self.changed.emit()
        return True

    def jump(self, index: int) -> None:
        """Go to the state after step ``index`` (-1: before the first kept step)."""
        self._check_closed_group()
        if not -1 <= index < len(self._steps):
            raise IndexError(f"index must be in [-1, {len(self._steps) - 1}]; got {index!r}")
        start = self._index
        try:
            while self._index > index:
                self._steps[self._index].undo()
                self._index -= 1
            while self._index < index:
                self._steps[self._index + 1].redo()
                self._index += 1
        finally:
            if self._index != start:
                self.changed.emit()

    def clear(self) -> None:
        """Forget every step (the document stays as it is)."""
        self._check_closed_group()
        for c in self._steps:
            c.discard()
        self._steps.clear()
        self._index = -1
        self.changed.emit()

    def close(self) -> None:
        """Forget every step and delete the spill folder."""
        self.clear()
        self._spill.close()

    # -- budget ---------------------------------------------------------------------------------
    def _enforce_budget(self) -> None:
        memory = self.memory_bytes
        spill_error: OSError | None = None
        for c in self._steps:  # oldest first
            if memory <= self.budget_bytes:
                break
            if c.nbytes:
                try:
                    memory -= c.spill(self._spill.get())
                except OSError as exc:
                    spill_error = exc
                    break
        dropped = 0
        over_disk = over_memory = False  # which budget forced the drops
        while self._index >= 0:
            disk = self.spilled_bytes > self.spill_budget_bytes
            mem = self.memory_bytes > self.budget_bytes
            if not (disk or mem):
                break
            over_disk, over_memory = over_disk or disk, over_memory or mem
            self._steps.pop(0).discard()
            self._index -= 1
            dropped += 1
        if dropped:
            s = "" if dropped == 1 else "s"
            budgets = [f"{fmt_bytes(self.budget_bytes)} in-memory"] if over_memory else []
            if over_disk:
                budgets.append(f"{fmt_bytes(self.spill_budget_bytes)} on-disk")
            message = (
                f"Dropped {dropped} oldest undo step{s} to stay within the "
                f"{' and '.join(budgets)} undo budget{'s' if len(budgets) > 1 else ''}"
            )
            if spill_error is not None:
                message += f" (could not write to disk: {spill_error})"
            self.notice.emit(message)

    def __repr__(self) -> str:
        return (
            f"<History {self._index + 1}/{len(self._steps)} steps, "
            f"{fmt_bytes(self.memory_bytes)} in memory, {fmt_bytes(self.spilled_bytes)} on disk>"
        )
