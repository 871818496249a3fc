"""Crash logs: the traceback of a genuine bug goes to a file; the user sees one line naming it.

Bad input (a ``ValueError``, ``OSError`` and the like naming the file or parameter) is the
user's to fix and needs no log. Anything else is our bug: the command line (or the editor's
start-up) writes its traceback here with :func:`write_crash_log` and tells the user where it is
with :func:`describe`.

The folder is ``$IMGSTUDIO_LOG_DIR``, else ``$XDG_STATE_HOME/imgstudio/logs``
(``~/.local/state/imgstudio/logs``); when that cannot be written, the system's temporary folder.
Only the newest :data:`KEEP` logs are kept. Pure standard library, so that writing the log
cannot fail for the reason the program did.
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
import traceback
from pathlib import Path

KEEP = 20
"""How many crash logs the folder keeps (the oldest go first)."""

_PREFIX = "crash-"


def log_dir() -> Path:
    """``$IMGSTUDIO_LOG_DIR``, else ``$XDG_STATE_HOME/imgstudio/logs``."""
    explicit = os.environ.get("IMGSTUDIO_LOG_DIR")
    if explicit:
        return Path(explicit)
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(Path.home(), ".local", "state")
    return Path(state) / "imgstudio" / "logs"


def describe(exc: BaseException) -> str:
    """``"<type>: <message>"`` on one line (``"cv2.error: ..."`` for a third-party type)."""
    kind = type(exc)
    name = kind.__qualname__ if kind.__module__ == "builtins" else \
        f"{kind.__module__.split('.')[0]}.{kind.__qualname__}"
    message = one_line(str(exc))
    return f"{name}: {message}" if message else name


def one_line(text: str) -> str:
    """``text`` with its lines stripped and joined by spaces (for messages that must be one line)."""
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


def write_crash_log(exc: BaseException, *, context: str = "", append_to: Path | None = None,
                    argv: list[str] | None = None) -> Path:
    """Write ``exc``'s traceback (with its causes, and a worker process's remote traceback)
    to a new log file, or append it to ``append_to``; returns the file's path.

    ``context`` says what was being done ("batch: img03.png"). Raises ``OSError`` only when
    neither the log folder nor the temporary folder can be written.
    """
    from imgstudio import __version__

    text = "".join(traceback.format_exception(exc))
    header = [
        f"time: {time.strftime('%Y-%m-%d %H:%M:%S %z')}",
        f"imgstudio {__version__}, Python {platform.python_version()}, {platform.platform()}",
        f"command: {' '.join(sys.argv if argv is None else argv)}",
        f"pid: {os.getpid()}",
    ]
    if context:
        header.append(f"context: {context}")
    entry = "\n".join(header) + "\n\n" + text + "\n"
    if append_to is not None:
        with open(append_to, "a", encoding="utf-8") as f:
            f.write("-" * 72 + "\n" + entry)
        return Path(append_to)
    errors: list[str] = []
    for folder in (log_dir(), Path(tempfile.gettempdir()) / f"imgstudio-logs-{_user()}"):
        try:
            path = _create(folder)
        except OSError as e:
            errors.append(f"{folder}: {e.strerror or e}")
            continue
        with open(path, "w", encoding="utf-8") as f:
            f.write(entry)
        _prune(folder)
        return path
    raise OSError(f"cannot write a crash log ({'; '.join(errors)})")


def _user() -> str:
    try:
        return str(os.getuid())
    except AttributeError:  # pragma: no cover - Windows
        return os.environ.get("USERNAME", "user")


def _create(folder: Path) -> Path:
    """A new, private, empty log file in ``folder`` (created 0700 if missing)."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for n in range(100):
        path = folder / f"{_PREFIX}{stamp}-{os.getpid()}{f'-{n}' if n else ''}.log"
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            continue
        return path
    raise FileExistsError(f"too many crash logs named {_PREFIX}{stamp}-{os.getpid()}*")


def _prune(folder: Path) -> None:
    """Keep the newest :data:`KEEP` crash logs in ``folder``."""
    try:
        logs = sorted(folder.glob(f"{_PREFIX}*.log"), key=lambda p: p.stat().st_mtime)
        for old in logs[:-KEEP]:
            old.unlink(missing_ok=True)
    except OSError:
        pass
