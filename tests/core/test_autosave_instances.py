"""Several editors on one recovery folder (imgstudio.core.autosave): a running editor's autosave
is never offered, claimed or deleted by another; once that editor dies (SIGKILL), its file is
offered and recovers its edits."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from imgstudio.core.autosave import (
    STALE_LOCK_S,
    RecoverySlot,
    claim_recovery,
    lock_path_of,
    orphaned_recovery_files,
    recovery_dir,
    recovery_files,
    write_recovery,
)
from imgstudio.core.document import Document, ImageLayer
from imgstudio.core.project import load_project
from imgstudio.core.recipe import Recipe

pytestmark = pytest.mark.skipif(os.name != "posix", reason="flock and SIGKILL")

EDITED = np.arange(20 * 30, dtype=np.uint16).reshape(20, 30)

# An editor stand-in: autosaves one edit through its slot, says where, then waits to be killed.
# With "fork" it also forks a child that outlives it (as a worker process could).
EDITOR = textwrap.dedent("""
    import os, sys, time
    import numpy as np
    from imgstudio.core.autosave import RecoverySlot
    from imgstudio.core.document import Document, ImageLayer
    from imgstudio.core.recipe import Recipe

    slot = RecoverySlot()
    data = np.arange(20 * 30, dtype=np.uint16).reshape(20, 30)
    slot.write(Document([ImageLayer(data, "edited")]), Recipe(), "/photos/a.tif")
    child = 0
    if sys.argv[1:] == ["fork"]:
        child = os.fork()
        if child == 0:
            time.sleep(60)
            os._exit(0)
    print(slot.path, child, flush=True)
    sys.stdin.readline()
""")


class Editor:
    """The stand-in editor in a subprocess (same recovery folder: the env is inherited)."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", EDITOR, *args],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().split()
        assert line, "the editor subprocess did not start"
        self.path, self.child = Path(line[0]), int(line[1])

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.proc.stdin.close()
        self.proc.stdout.close()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.kill()
        if self.child:
            os.kill(self.child, signal.SIGKILL)


@pytest.fixture
def editor():
    editors = []

    def start(*args: str) -> Editor:
        editors.append(Editor(*args))
        return editors[-1]

    yield start
    for e in editors:
        e.close()


def test_a_running_editors_autosave_is_not_offered_and_its_file_is_kept(editor):
    first = editor()
    assert recovery_files() == [first.path]  # it is there...
    assert orphaned_recovery_files() == []  # ...but its editor runs: nothing to offer
    assert claim_recovery(first.path) is None  # and nobody else can take it
    assert first.path.is_file() and lock_path_of(first.path).is_file()


def test_after_a_kill_the_file_is_offered_and_recovers_the_edits(editor):
    first = editor()
    first.kill()
    assert orphaned_recovery_files() == [first.path]
    claim = claim_recovery(first.path)
    assert claim is not None
    assert claim_recovery(first.path) is None  # a third editor cannot open it meanwhile
    project = load_project(claim.path)
    np.testing.assert_array_equal(project.document[0].data, EDITED)
    assert project.view["recovered_from"] == "/photos/a.tif"
    mine = RecoverySlot()
    mine.adopt(claim)  # the second editor takes the file over as its own
    try:
        assert not first.path.exists() and not lock_path_of(first.path).exists()
        assert recovery_files() == [mine.path] and orphaned_recovery_files() == []
        np.testing.assert_array_equal(load_project(mine.path).document[0].data, EDITED)
    finally:
        mine.close()
    assert recovery_files() == [] and list(recovery_dir().iterdir()) == []


def test_a_forked_child_does_not_keep_a_dead_editors_file_hidden(editor):
    first = editor("fork")
    assert first.child > 0 and orphaned_recovery_files() == []
    first.kill()
    os.kill(first.child, 0)  # the child still runs...
    assert orphaned_recovery_files() == [first.path]  # ...and does not hold the lock


def test_two_editors_each_see_only_the_other_dead_one(editor):
    alive, dead = editor(), editor()
    dead.kill()
    assert set(recovery_files()) == {alive.path, dead.path}
    assert orphaned_recovery_files() == [dead.path]


def test_a_file_without_a_lock_file_is_offered(tmp_path):
    # written by an editor from before the locks (or its lock file was deleted)
    path = recovery_dir() / "recovery-0123456789ab.imgs"
    write_recovery(path, Document([ImageLayer(EDITED, "old")]), Recipe(), None)
    assert orphaned_recovery_files() == [path]
    claim = claim_recovery(path)
    assert claim is not None and lock_path_of(path).is_file()
    claim.release()
    assert orphaned_recovery_files() == [path]  # released, not discarded: still offered


def test_a_slot_locks_before_it_writes_and_cleans_up_on_close():
    slot = RecoverySlot()
    assert not slot.locked and not recovery_dir().exists()  # nothing until the first write
    slot.write(Document([ImageLayer(EDITED, "x")]), Recipe(), None)
    assert slot.locked and slot.path.is_file() and slot.lock_path.is_file()
    assert orphaned_recovery_files() == []  # this process holds it
    slot.remove()  # saved: the file goes, the lock stays for the next autosave
    assert not slot.path.exists() and slot.locked
    slot.close()
    assert not slot.locked and list(recovery_dir().iterdir()) == []


def test_a_slot_that_lost_its_lock_leaves_the_files_to_whoever_claimed_them():
    slot = RecoverySlot()
    slot.write(Document([ImageLayer(EDITED, "x")]), Recipe(), None)
    slot._lock.release()  # as if this process had died
    claim = claim_recovery(slot.path)
    assert claim is not None
    slot.close()  # must not delete what another editor is opening
    assert slot.path.is_file()
    claim.discard()
    assert list(recovery_dir().iterdir()) == []


def test_lock_files_left_without_a_project_are_removed_once_old():
    folder = recovery_dir()
    folder.mkdir(parents=True)
    old, fresh = folder / "recovery-aaaaaaaaaaaa.lock", folder / "recovery-bbbbbbbbbbbb.lock"
    old.touch()
    fresh.touch()
    when = time.time() - STALE_LOCK_S - 10
    os.utime(old, (when, when))
    held = RecoverySlot()
    held.write(Document([ImageLayer(EDITED, "x")]), Recipe(), None)
    held.remove()  # a live editor with nothing autosaved right now
    os.utime(held.lock_path, (when, when))
    try:
        assert orphaned_recovery_files() == []
        assert {p.name for p in folder.iterdir()} == {fresh.name, held.lock_path.name}
    finally:
        held.close()
