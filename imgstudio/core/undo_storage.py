"""Compressed, spillable storage for undo records (changed pixel boxes, zlib chunks)."""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
import uuid
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from imgstudio.core.document import Layer
from imgstudio.core.types import Region

TILE = 256  # side of the comparison tiles of SetPixels
ZLEVEL = 1  # fast; pixel edits are stored once and rarely read
_CHUNK = 1 << 20  # raw bytes per independently compressed chunk
_PARALLEL_MIN = 4 << 20  # raw bytes from which chunks are (de)compressed on several threads


# -- payload storage --------------------------------------------------------------------------
class Blob:
    """Compressed chunks held in memory or, after :meth:`spill`, in one file; read on demand."""

    __slots__ = ("_data", "_path", "size", "ends")

    def __init__(self, chunks: Sequence[bytes]) -> None:
        self._data: bytes | None = b"".join(chunks)
        self._path: str | None = None
        self.size = len(self._data)
        self.ends = list(itertools.accumulate(len(c) for c in chunks))

    @property
    def nbytes(self) -> int:
        return self.size if self._data is not None else 0

    @property
    def spilled_bytes(self) -> int:
        return self.size if self._path is not None else 0

    def spill(self, dirpath: str) -> int:
        if self._data is None or self.size == 0:
            return 0
        path = os.path.join(dirpath, f"{uuid.uuid4().hex}.undo")
        try:
            with open(path, "wb") as f:
                f.write(self._data)
        except BaseException:
            with contextlib.suppress(OSError):
                os.remove(path)
            raise
        self._path, self._data = path, None
        return self.size

    def read(self) -> list[memoryview]:
        """The compressed chunks."""
        data = self._data
        if data is None:
            if self._path is None:
                raise RuntimeError("this undo step was discarded")
            try:
                with open(self._path, "rb") as f:
                    data = f.read()
            except OSError as exc:
                raise RuntimeError(
                    f"undo data in {self._path} can no longer be read: {exc}"
                ) from exc
            if len(data) != self.size:
                raise RuntimeError(f"undo data in {self._path} is truncated")
        view = memoryview(data)
        starts = [0, *self.ends[:-1]] if self.ends else []
        return [view[a:b] for a, b in zip(starts, self.ends, strict=True)]

    def discard(self) -> None:
        if self._path is not None:
            with contextlib.suppress(OSError):
                os.remove(self._path)
        self._data = self._path = None


_pool_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def _map(fn: Callable[[Any], Any], items: Sequence[Any], nbytes: int) -> list[Any]:
    """``[fn(i) for i in items]``, on a few threads when there is enough work (zlib frees the GIL)."""
    global _pool
    workers = min(8, os.cpu_count() or 1)
    if nbytes < _PARALLEL_MIN or len(items) < 2 or workers < 2:
        return [fn(i) for i in items]
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(workers, thread_name_prefix="imgstudio-undo")
    return list(_pool.map(fn, items))


def _pixel_bytes(shape: tuple[int, ...], dtype: np.dtype) -> int:
    return int(np.prod(shape[2:], dtype=np.int64)) * np.dtype(dtype).itemsize


def _chunks(rects: Sequence[Region], pixel_bytes: int) -> list[tuple[int, int]]:
    """Split ``rects`` into runs of about ``_CHUNK`` raw bytes: ``(start, stop)`` indices."""
    runs, start, size = [], 0, 0
    for i, (y0, y1, x0, x1) in enumerate(rects):
        size += (y1 - y0) * (x1 - x0) * pixel_bytes
        if size >= _CHUNK:
            runs.append((start, i + 1))
            start, size = i + 1, 0
    if start < len(rects):
        runs.append((start, len(rects)))
    return runs


def bands(shape: tuple[int, ...], dtype: np.dtype) -> list[Region]:
    """Full-width row bands of about ``_CHUNK`` bytes covering an array of ``shape``."""
    h, w = shape[:2]
    rows = max(1, _CHUNK // max(1, w * _pixel_bytes(shape, dtype)))
    return [(y, min(y + rows, h), 0, w) for y in range(0, h, rows)]


def pack_rects(source: np.ndarray, rects: Sequence[Region], origin: tuple[int, int], dtype) -> Blob:
    """Compress the boxes ``rects`` (layer coordinates) of ``source`` (whose 0, 0 is origin)."""
    oy, ox = origin
    pixel_bytes = _pixel_bytes(source.shape, dtype)

    def compress(run: tuple[int, int]) -> bytes:
        z = zlib.compressobj(ZLEVEL)
        out = [
            z.compress(np.ascontiguousarray(source[y0 - oy : y1 - oy, x0 - ox : x1 - ox], dtype))
            for y0, y1, x0, x1 in rects[run[0] : run[1]]
        ]
        out.append(z.flush())
        return b"".join(out)

    total = sum((y1 - y0) * (x1 - x0) for y0, y1, x0, x1 in rects) * pixel_bytes
    return Blob(_map(compress, _chunks(rects, pixel_bytes), total))


def unpack_rects(
    blob: Blob, rects: Sequence[Region], rest: tuple[int, ...], dtype: np.dtype
) -> list[np.ndarray]:
    """The boxes stored by :func:`_pack`, one read-only array per rect."""
    pixel_bytes = int(np.prod(rest, dtype=np.int64)) * np.dtype(dtype).itemsize
    runs = _chunks(rects, pixel_bytes)
    parts = blob.read()
    if len(parts) != len(runs):
        raise RuntimeError(f"undo data holds {len(parts)} chunks; expected {len(runs)}")

    def decompress(i: int) -> list[np.ndarray]:
        boxes = rects[runs[i][0] : runs[i][1]]
        flat = np.frombuffer(zlib.decompress(parts[i]), dtype=dtype)
        counts = [
            (y1 - y0) * (x1 - x0) * (pixel_bytes // flat.itemsize) for y0, y1, x0, x1 in boxes
        ]
        if flat.size != sum(counts):
            raise RuntimeError("undo data does not match the recorded boxes")
        out, pos = [], 0
        for (y0, y1, x0, x1), n in zip(boxes, counts, strict=True):
            out.append(flat[pos : pos + n].reshape((y1 - y0, x1 - x0, *rest)))
            pos += n
        return out

    total = sum((y1 - y0) * (x1 - x0) for y0, y1, x0, x1 in rects) * pixel_bytes
    return [a for run in _map(decompress, range(len(runs)), total) for a in run]


def _not_equal(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a != b`` elementwise, floats compared bit-exactly (NaN equals itself, -0 != 0)."""
    if a.dtype == b.dtype and a.dtype.kind == "f" and a.dtype.itemsize in (2, 4, 8):
        bits = np.dtype(f"u{a.dtype.itemsize}")
        a, b = a.view(bits), b.view(bits)
    return a != b


def changed_rects(old: np.ndarray, new: np.ndarray, origin: tuple[int, int], tile: int):
    """Per ``tile``-square tile, the bounding box of the pixels that differ, in layer coords."""
    oy, ox = origin
    rects: list[Region] = []
    for y in range(0, old.shape[0], tile):
        ne = _not_equal(old[y : y + tile], new[y : y + tile])
        cols = ne.any(axis=0)  # reducing over rows is fast; most bands stop here
        if cols.ndim > 1:
            cols = cols.any(axis=tuple(range(1, cols.ndim)))
        if not cols.any():
            continue
        for x in range(0, old.shape[1], tile):
            tile_cols = cols[x : x + tile]
            if not tile_cols.any():
                continue
            c0, c1 = _span(tile_cols)
            r0, r1 = _span(ne[:, x + c0 : x + c1].any(axis=tuple(range(1, ne.ndim))))
            rects.append((oy + y + r0, oy + y + r1, ox + x + c0, ox + x + c1))
    return rects


def _span(flags: np.ndarray) -> tuple[int, int]:
    return int(flags.argmax()), len(flags) - int(flags[::-1].argmax())


def raster_of(layer: Layer) -> np.ndarray:
    data = layer.data
    if layer.shape is None or not isinstance(data, np.ndarray):
        raise TypeError(f"SetPixels needs an image or labels layer; got {layer!r}")
    return data


def fmt_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


