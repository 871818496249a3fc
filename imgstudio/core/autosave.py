"""Crash recovery: a copy of the open document written in the background after edits.

The editor snapshots the document (copies of the layer data, taken on the UI thread so later
edits cannot tear it) and writes it as an ordinary ``.imgs`` project under the recovery folder,
atomically. A clean save, close or discard deletes it; files left behind after a crash are
offered at the next start.

Several editors share one recovery folder. Each editor owns a :class:`RecoverySlot`:
``recovery-ID.imgs`` plus ``recovery-ID.lock``, on which it holds an exclusive ``flock`` from
its first autosave until it closes. The operating system drops the lock when the process dies,
however it dies, so :func:`orphaned_recovery_files` — what the editor offers — lists only the
files of editors that no longer run: a second editor never offers (or deletes) a running
one's autosave. Opening a recovered file first :func:`claims <claim_recovery>` it (takes the
dead editor's lock, so two editors starting together cannot both open it), then the opening
editor *adopts* it — renames it into its own slot — so the recovered work stays on disk until
that editor saves, discards or closes it. Files without a lock file (written before locks
existed) count as orphaned. Forked children drop the lock in the child, so a worker process
cannot keep a crashed editor's file hidden. Without ``fcntl`` (Windows) nothing is locked and
every file is offered, as before.
"""

from __future__ import annotations

import contextlib
import copy
import os
import threading
import time
import uuid
import weakref
from pathlib import Path

from imgstudio.core.document import LAYER_CLASSES, Document
from imgstudio.core.project import PROJECT_EXTENSION, save_project
from imgstudio.core.recipe import Recipe

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

LOCK_SUFFIX = ".lock"
#: A lock file without its project, unheld, is removed once it is this old (seconds): an editor
#: creates and locks its lock file in one go, so an older unheld one belongs to no one.
STALE_LOCK_S = 60.0
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def recovery_dir() -> Path:
    """``$IMGSTUDIO_RECOVERY_DIR`` or ``$XDG_STATE_HOME/imgstudio/recovery``."""
    explicit = os.environ.get("IMGSTUDIO_RECOVERY_DIR")
    if explicit:
        return Path(explicit)
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(Path.home(), ".local", "state")
    return Path(state) / "imgstudio" / "recovery"


def new_recovery_path() -> Path:
    return recovery_dir() / f"recovery-{uuid.uuid4().hex[:12]}{PROJECT_EXTENSION}"


def lock_path_of(path: str | os.PathLike[str]) -> Path:
    """``recovery-ID.lock`` for ``recovery-ID.imgs``."""
    return Path(path).with_suffix(LOCK_SUFFIX)


def snapshot(document: Document) -> Document:
    """An independent copy of ``document`` (same ids, names, properties and data)."""
    layers = []
    for layer in document:
        props = layer.properties()
        extra = {k: props.pop(k) for k in list(props) if k not in
                 ("name", "visible", "opacity", "blend_mode")}
        data = copy.deepcopy(layer.data)
        clone = LAYER_CLASSES[layer.kind](data, props.pop("name"), layer_id=layer.id, **props)
        for key, value in extra.items():
            setattr(clone, key, value)
        layers.append(clone)
    out = Document(layers)
    if document.active is not None:
        out.active = out[document.active.id]
    return out


def write_recovery(path: str | os.PathLike[str], document: Document,
                   recipe: Recipe, source: str | None) -> None:
    """Write a snapshot (see :func:`snapshot`) as a project; safe to call off the UI thread."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    save_project(path, document, recipe, {"recovered_from": source or ""})


def recovery_files() -> list[Path]:
    """Every recovery project in the folder, those of running editors included, newest first
    (what to offer is :func:`orphaned_recovery_files`)."""
    folder = recovery_dir()
    if not folder.is_dir():
        return []
    files = []
    for p in folder.glob(f"recovery-*{PROJECT_EXTENSION}"):
        with contextlib.suppress(OSError):  # gone meanwhile
            if p.is_file():
                files.append((p.stat().st_mtime, p))
    return [p for _, p in sorted(files, key=lambda item: item[0], reverse=True)]


def orphaned_recovery_files() -> list[Path]:
    """Recovery projects of editors that no longer run (nobody holds their lock), newest
    first; also removes lock files left without a project."""
    _remove_stale_locks()
    return [p for p in recovery_files() if not _lock_held(lock_path_of(p))]


# -- locks ------------------------------------------------------------------------------------
_live_locks: weakref.WeakSet[_Lock] = weakref.WeakSet()


class _Lock:
    """An exclusive ``flock`` on one file, held until :meth:`release` (or collection)."""

    def __init__(self, fd: int) -> None:
        self.fd: int | None = fd
        self._finalizer = weakref.finalize(self, os.close, fd)
        _live_locks.add(self)

    @property
    def held(self) -> bool:
        return self.fd is not None

    def release(self) -> None:
        if self.fd is not None:
            self.fd = None
            self._finalizer()  # closing the only descriptor drops the flock


def _after_fork_in_child() -> None:
    # A forked child shares the parent's open file description, so its copy would keep the
    # lock after the parent dies. Close it in the child; the parent keeps its lock.
    for lock in list(_live_locks):
        fd = lock.fd
        if fd is not None:
            lock.fd = None
            lock._finalizer.detach()
            with contextlib.suppress(OSError):
                os.close(fd)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _try_flock(fd: int, operation: int, tries: int = 1) -> bool:
    """``flock(fd, operation | LOCK_NB)``; a few tries apart (a probe holds a lock for a few
    microseconds). True when taken."""
    for n in range(tries):
        try:
            fcntl.flock(fd, operation | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if n + 1 < tries:
                time.sleep(0.01)
    return False


def _same_file(fd: int, path: Path) -> bool:
    """Whether ``path`` still names the file open as ``fd`` (not unlinked or replaced)."""
    try:
        a, b = os.fstat(fd), os.stat(path)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _lock_held(lock_path: Path) -> bool:
    """Whether a running process holds ``lock_path`` (False when it does not exist)."""
    if fcntl is None:
        return False
    try:
        fd = os.open(lock_path, os.O_RDONLY | _CLOEXEC)
    except FileNotFoundError:
        return False
    except OSError:
        return True  # cannot look (another user's?): leave it alone
    try:
        return not _try_flock(fd, fcntl.LOCK_SH)
    finally:
        os.close(fd)


def _take(lock_path: Path, create: bool, tries: int = 3) -> _Lock | None:
    """The exclusive lock on the existing (or, with ``create``, possibly new) ``lock_path``;
    None when another process holds it or it vanished."""
    flags = os.O_RDWR | _CLOEXEC | (os.O_CREAT if create else 0)
    try:
        fd = os.open(lock_path, flags, 0o600)
    except OSError:
        return None
    if not _try_flock(fd, fcntl.LOCK_EX, tries) or not _same_file(fd, lock_path):
        os.close(fd)
        return None
    return _Lock(fd)


def _remove_stale_locks() -> None:
    if fcntl is None:
        return
    folder = recovery_dir()
    if not folder.is_dir():
        return
    now = time.time()
    for lock_path in folder.glob(f"recovery-*{LOCK_SUFFIX}"):
        with contextlib.suppress(OSError):
            if (lock_path.with_suffix(PROJECT_EXTENSION).exists()
                    or now - lock_path.stat().st_mtime < STALE_LOCK_S):
                continue
            lock = _take(lock_path, create=False, tries=1)
            if lock is not None:
                with contextlib.suppress(OSError):
                    os.unlink(lock_path)
                lock.release()


# -- this editor's slot, and claiming a dead editor's file ------------------------------------
class RecoveryClaim:
    """A dead editor's recovery file, locked by this process while it is opened."""

    def __init__(self, path: Path, lock: _Lock | None) -> None:
        self.path = path
        self._lock = lock

    def discard(self) -> None:
        """The file is no longer needed: delete it and its lock file."""
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        self._drop_lock_file()

    def release(self) -> None:
        """Keep the file (it is offered again) and let go of it."""
        if self._lock is not None:
            self._lock.release()

    def _drop_lock_file(self) -> None:
        if self._lock is not None and self._lock.held:
            with contextlib.suppress(OSError):
                os.unlink(lock_path_of(self.path))
        self.release()


def claim_recovery(path: str | os.PathLike[str]) -> RecoveryClaim | None:
    """Lock the orphaned recovery file ``path`` for opening; None when a running editor holds
    it (its owner, or another editor opening it) or it is gone."""
    path = Path(path)
    lock = None
    if fcntl is not None:
        lock = _take(lock_path_of(path), create=True)
        if lock is None:
            return None
    if not path.is_file():
        claim = RecoveryClaim(path, lock)
        claim._drop_lock_file()
        return None
    return RecoveryClaim(path, lock)


class RecoverySlot:
    """This editor's recovery file, ``recovery-ID.imgs`` in :func:`recovery_dir`, guarded by
    the lock on ``recovery-ID.lock`` taken at the first :meth:`write` and held until
    :meth:`close`. Thread-safe; files are touched only while the lock is held."""

    def __init__(self, folder: str | os.PathLike[str] | None = None) -> None:
        self.folder = Path(folder) if folder is not None else recovery_dir()
        self.id = uuid.uuid4().hex[:12]
        self.path = self.folder / f"recovery-{self.id}{PROJECT_EXTENSION}"
        self.lock_path = lock_path_of(self.path)
        self._lock: _Lock | None = None
        self._mutex = threading.Lock()
        self._closed = False

    @property
    def locked(self) -> bool:
        return self._lock is not None and self._lock.held

    def _acquire(self) -> None:
        if self._closed:
            raise RuntimeError("the recovery slot is closed")
        if self._lock is not None or fcntl is None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_EXCL | _CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # new and unique: waits at most for a probe
            os.write(fd, f"{os.getpid()}\n".encode())
        except BaseException:
            os.close(fd)
            raise
        self._lock = _Lock(fd)

    def _owns_files(self) -> bool:
        return self.locked or (fcntl is None and not self._closed)

    def write(self, document: Document, recipe: Recipe, source: str | None) -> None:
        """Write ``document`` (a :func:`snapshot`) to this editor's recovery file."""
        with self._mutex:
            self._acquire()
            write_recovery(self.path, document, recipe, source)

    def adopt(self, claim: RecoveryClaim) -> None:
        """Make the claimed file this editor's recovery file (a rename in the folder), then
        drop the dead editor's lock file."""
        with self._mutex:
            self._acquire()
            os.replace(claim.path, self.path)
            claim.discard()

    def remove(self) -> None:
        """Delete the recovery file (the document was saved or discarded); keep the lock."""
        with self._mutex:
            if self._owns_files():
                with contextlib.suppress(OSError):
                    os.unlink(self.path)

    def close(self) -> None:
        """Delete the recovery file and the lock file, and let go of the lock."""
        with self._mutex:
            if self._owns_files():
                with contextlib.suppress(OSError):
                    os.unlink(self.path)
                if self._lock is not None:
                    with contextlib.suppress(OSError):
                        os.unlink(self.lock_path)
            if self._lock is not None:
                self._lock.release()
            self._closed = True
