"""Atomic file writing: a failed or interrupted save never leaves a half-written target.

Every save of the application (images, projects, recipes, scripts, results, model cards,
animations, search indexes, autosaves) goes through :func:`atomic_write`. The rules it keeps:

Where it writes
    The target is resolved first (``os.path.realpath``): saving to a symlink writes to the file
    it points to and the link stays a link. A target that exists and is not a regular file (a
    directory, a FIFO, a character or block device such as ``/dev/zero``, a socket — directly
    or behind a link) is refused with an :class:`ImageIOError` naming the path ("not a regular
    file"); it is never replaced. The writer writes into a private temporary folder next to the
    *real* target, named ``.NAME.imgstudio-PID-RANDOM.tmp`` (``PID`` is the writing process),
    so the final ``os.replace`` never crosses a file system.

Durability
    Every written file is ``fsync``-ed before it is renamed over the target and the target's
    folder is ``fsync``-ed after the rename, so after a power cut the name points at either the
    old or the complete new file.

Permissions
    A new file gets the mode a plain ``open()`` would give it (``0o666 & ~umask``), whatever
    the writer did; a file that is replaced keeps its permission bits (and, where allowed,
    its group).

Left-overs
    A killed save leaves its temporary folder behind. :func:`sweep_stale_temp_files` removes
    them, and only them: an entry is removed when it is owned by this user, matches one of this
    application's temporary names and is *stale* — nothing in it changed for
    :data:`STALE_AFTER_S` (one hour) **and** its writer is not running (the ``PID`` in its name
    is not a live process; a live or unknown PID, even a reused one, keeps it). Names written
    by earlier versions, which carry no PID, are recognised narrowly — a ``.tmp-XXXXXXXX.imgs``
    regular file of mode 0600 (the old project writer) and a ``.NAME.XXXXXXXX.tmp`` folder of
    mode 0700 holding only files named after ``NAME`` (the old image writer) — and removed on
    age alone. Nothing else is touched. :func:`atomic_write` sweeps the target's folder before
    its first write there in a process (once per folder and process, so a batch into a large
    folder scans it once); the editor sweeps its recovery folder and the folders of its recent
    files at start.

Limits: a companion file (MetaImage's ``.raw``) is written next to the target under the name
the writer gave it, replacing what is there unless that is not a regular file; replacing a file
breaks its hard links, as any atomic save does.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import shutil
import stat
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from imgstudio.core.io_medical import ImageIOError

#: A temporary entry unchanged for this long (seconds), whose writer is gone, is swept.
STALE_AFTER_S = 3600.0

TEMP_TAG = "imgstudio"
_TEMP = re.compile(r"\.(?P<name>.+)\.imgstudio-(?P<pid>\d{1,10})-[0-9a-f]{8}\.tmp")
_LEGACY_DIR = re.compile(r"\.(?P<name>.+)\.[a-z0-9_]{8}\.tmp")  # old atomic_write (mkdtemp)
_LEGACY_PROJECT = re.compile(r"\.tmp-[a-z0-9_]{8}\.imgs")  # old save_project (mkstemp)

_swept: set[str] = set()
_swept_lock = threading.Lock()


def temp_name(name: str) -> str:
    """The name of the temporary folder for a target called ``name``."""
    return f".{name}.{TEMP_TAG}-{os.getpid()}-{secrets.token_hex(4)}.tmp"


def atomic_write(path: str | os.PathLike[str], write: Callable[[Path], None],
                 what: str = "image") -> None:
    """Call ``write`` on a file in a temporary folder next to the real target of ``path``,
    then move it in place (a failed write never leaves a half-written target).

    The temporary file keeps ``path``'s name so writers that choose the format (or the name of
    a companion data file, as MetaImage ``.mhd`` does) by extension behave as for ``path``.
    Companion files are moved first and the named file last. See the module docstring for
    symlinks, non-regular targets, ``fsync``, modes and left-overs. Errors name ``what`` and
    ``path``; exceptions raised by ``write`` propagate unchanged.
    """
    path = Path(path)
    target = _real_target(path, what)
    folder = target.parent
    _sweep_once(folder)
    tmpdir = folder / temp_name(target.name)
    try:
        os.mkdir(tmpdir, 0o700)
    except OSError as exc:
        raise ImageIOError(f"cannot write {what} {path}: {_reason(exc)}") from exc
    try:
        write(tmpdir / path.name)
        produced = sorted(tmpdir.iterdir(), key=lambda item: item.name == path.name)
        if not produced or produced[-1].name != path.name:
            raise ImageIOError(f"cannot write {what} {path}: the writer produced no file")
        umask = _umask()
        moves = []
        for item in produced:
            if not stat.S_ISREG(os.lstat(item).st_mode):
                raise ImageIOError(f"cannot write {what} {path}: the writer produced "
                                   f"{item.name}, not a regular file")
            dest = target if item.name == path.name else folder / item.name
            existing = _existing_regular(dest, what, path)
            _set_mode(item, existing, umask)
            _fsync_file(item)
            moves.append((item, dest))
        for item, dest in moves:
            os.replace(item, dest)
        _fsync_dir(folder)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically (recipes, scripts, CSV, JSON results)."""
    atomic_write(Path(path), lambda target: target.write_text(text, encoding="utf-8"), "file")


# -- the target -------------------------------------------------------------------------------
_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO"),
          (stat.S_ISSOCK, "a socket"))


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a plain file")


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _real_target(path: Path, what: str) -> Path:
    """``path`` with every symlink resolved; refused when it exists and is not a regular file."""
    real = Path(os.path.realpath(path))
    _existing_regular(real, what, path)
    return real


def _existing_regular(dest: Path, what: str, path: Path) -> os.stat_result | None:
    """``os.stat(dest)`` (following links), None when missing; ImageIOError when ``dest`` is
    not a regular file."""
    try:
        st = os.stat(dest)
    except FileNotFoundError:
        return None
    except OSError as exc:  # a symlink loop, no permission to look...
        raise ImageIOError(f"cannot write {what} {path}: {_reason(exc)}") from exc
    if not stat.S_ISREG(st.st_mode):
        where = "it" if Path(os.path.abspath(path)) == dest else str(dest)
        raise ImageIOError(
            f"cannot write {what} {path}: not a regular file ({where} is {_kind(st.st_mode)})")
    return st


# -- modes and durability ---------------------------------------------------------------------
def _umask() -> int | None:
    """The process umask, read without changing it (Linux ``/proc``); None when unknown."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return None


def _set_mode(item: Path, existing: os.stat_result | None, umask: int | None) -> None:
    if existing is not None:
        os.chmod(item, stat.S_IMODE(existing.st_mode) & 0o777)
        if hasattr(os, "chown") and os.stat(item).st_gid != existing.st_gid:
            try:
                os.chown(item, -1, existing.st_gid)
            except OSError:
                pass  # not a member of that group: the file gets ours, as a new file would
    elif umask is not None:
        os.chmod(item, 0o666 & ~umask)


_NO_FSYNC = {errno.EINVAL, errno.ENOTSUP, getattr(errno, "EOPNOTSUPP", errno.ENOTSUP)}


def _fsync_file(item: Path) -> None:
    fd = os.open(item, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in _NO_FSYNC:  # a file system without fsync is not an error
            raise
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    if not hasattr(os, "O_DIRECTORY"):
        return  # Windows cannot open a folder; its rename is journaled by NTFS
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on a folder; the data itself is on disk
    finally:
        os.close(fd)


# -- left-overs ---------------------------------------------------------------------------------
def _sweep_once(folder: Path) -> None:
    key = os.fspath(folder)
    with _swept_lock:
        if key in _swept:
            return
        _swept.add(key)
    sweep_stale_temp_files(folder)


def sweep_stale_temp_files(folder: str | os.PathLike[str], *,
                           older_than: float = STALE_AFTER_S) -> list[Path]:
    """Remove this application's stale temporary files in ``folder`` (see the module
    docstring for what counts); returns what was removed. Never raises."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        if not entry.name.startswith("."):
            continue
        try:
            if not _is_stale(entry, now, older_than):
                continue
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
        except OSError:
            continue
        removed.append(Path(entry.path))
    return removed


def sweep_folders(folders: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """:func:`sweep_stale_temp_files` over each distinct folder (the editor's start-up sweep)."""
    removed: list[Path] = []
    for folder in dict.fromkeys(os.fspath(f) for f in folders):
        removed += sweep_stale_temp_files(folder)
    return removed


def _is_stale(entry: os.DirEntry, now: float, older_than: float) -> bool:
    st = entry.stat(follow_symlinks=False)
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        return False
    name = entry.name
    match = _TEMP.fullmatch(name)
    if match is not None:
        if not stat.S_ISDIR(st.st_mode):
            return False
        age = now - _newest_mtime(entry.path, st.st_mtime)
        return age > older_than and not _writer_may_run(int(match["pid"]), age, older_than)
    match = _LEGACY_DIR.fullmatch(name)
    if match is not None:
        if not stat.S_ISDIR(st.st_mode) or stat.S_IMODE(st.st_mode) != 0o700:
            return False
        stem = Path(match["name"]).stem
        with os.scandir(entry.path) as inner:
            if not all(e.is_file(follow_symlinks=False) and e.name.startswith(stem)
                       for e in inner):
                return False
        return now - _newest_mtime(entry.path, st.st_mtime) > older_than
    if _LEGACY_PROJECT.fullmatch(name):
        return (stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
                and now - st.st_mtime > older_than)
    return False


def _newest_mtime(folder: str, own: float) -> float:
    """The newest modification time of ``folder`` and the entries in it (a file still being
    written keeps its folder fresh)."""
    newest = own
    with os.scandir(folder) as inner:
        for e in inner:
            newest = max(newest, e.stat(follow_symlinks=False).st_mtime)
    return newest


def _writer_may_run(pid: int, age: float, older_than: float) -> bool:
    """False only when process ``pid`` surely does not run (this machine's view)."""
    if pid == os.getpid():
        return True
    if os.name != "posix":  # no harmless probe (os.kill would terminate it): age alone, longer
        return age <= 24 * older_than
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError, ValueError):  # another user's process, or no such pid form
        return True
    return True
