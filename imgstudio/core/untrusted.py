"""Reading files we do not trust (projects, recipes): only regular files, bounded reads, JSON
with one error type and bounded depth.

Every function here raises :class:`UntrustedFileError` (a ``ValueError``) with a short reason
that does not name the file; the caller adds the file and turns it into its own error
(``ProjectError``, ``RecipeError``).

- :func:`open_regular` opens without blocking and refuses anything but a regular file, so a
  FIFO or a link to ``/dev/zero`` named ``.imgs`` or ``.json`` cannot hang or flood the reader.
- :func:`read_bytes` refuses a file larger than a limit before reading it.
- :func:`loads` turns every way JSON parsing can fail — invalid JSON, bytes that are not UTF-8,
  a number of more digits than Python converts, nesting so deep that the parser runs out of
  stack — into the one error, and refuses documents nested deeper than ``max_depth``, so code
  that walks the result (copies, ``repr``, writing it back) cannot run out of stack either.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from typing import Any, BinaryIO

MAX_DEPTH = 64
"""Deepest nesting of objects and lists accepted (a recipe needs 6, a project manifest 7)."""

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


class UntrustedFileError(ValueError):
    """A file that cannot be read safely; the message says why, without the file's name."""


def _reason(exc: OSError) -> str:
    if exc.errno == errno.ENOENT:
        return "no such file"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.EISDIR:
        return "it is a directory"
    return exc.strerror or str(exc)


def open_regular(path: str | os.PathLike[str]) -> BinaryIO:
    """``path`` opened for reading in binary; :class:`UntrustedFileError` when it is missing,
    unreadable or not a regular file (the open never blocks, even on a FIFO)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise UntrustedFileError(_reason(exc)) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = next((name for test, name in _KINDS if test(mode)), "a special file")
            raise UntrustedFileError(f"not a regular file (it is {kind})")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_bytes(path: str | os.PathLike[str], limit: int, what: str = "the file") -> bytes:
    """The whole of a regular file of at most ``limit`` bytes (checked before reading)."""
    with open_regular(path) as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > limit:
            raise UntrustedFileError(f"{what} is {_mib(size)}, more than the {_mib(limit)} "
                                     "allowed")
        try:
            data = fh.read(limit + 1)
        except OSError as exc:
            raise UntrustedFileError(_reason(exc)) from None
    if len(data) > limit:  # grew while being read
        raise UntrustedFileError(f"{what} is more than the {_mib(limit)} allowed")
    return data


def _mib(n: int) -> str:
    return f"{n / 2**20:.3g} MiB" if n >= 2**20 else f"{n} bytes"


def _reject_constant(name: str) -> Any:
    raise UntrustedFileError(f"{name} is not a number this file may hold")


def loads(text: str | bytes, *, max_depth: int = MAX_DEPTH, allow_nonfinite: bool = True) -> Any:
    """Parse JSON ``text``; :class:`UntrustedFileError` when it is not JSON or is nested deeper
    than ``max_depth``. With ``allow_nonfinite=False``, ``NaN`` and ``Infinity`` are refused."""
    try:
        data = json.loads(text, parse_constant=None if allow_nonfinite else _reject_constant)
    except UntrustedFileError:
        raise
    except RecursionError:
        raise UntrustedFileError(f"the JSON is nested too deeply (more than {max_depth} "
                                 "levels)") from None
    except json.JSONDecodeError as exc:
        raise UntrustedFileError(f"not valid JSON: {exc}") from None
    except ValueError as exc:  # not UTF-8, or an integer of more than 4300 digits
        raise UntrustedFileError(f"not valid JSON: {exc}") from None
    check_depth(data, max_depth)
    return data


def check_depth(data: Any, max_depth: int = MAX_DEPTH) -> None:
    """:class:`UntrustedFileError` when ``data`` nests dicts and lists deeper than
    ``max_depth`` (walked without recursion)."""
    stack: list[tuple[Any, int]] = [(data, 1)] if isinstance(data, (dict, list)) else []
    while stack:
        value, depth = stack.pop()
        if depth > max_depth:
            raise UntrustedFileError(f"the JSON is nested too deeply (more than {max_depth} "
                                     "levels)")
        children = value.values() if isinstance(value, dict) else value
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, (dict, list)))
