"""Builders of hostile ``.imgs`` files for the project reader's tests and fuzz target: zips
written byte by byte (any compression method, flag or declared size), deflate bombs, ``.npy``
headers declaring any shape."""

from __future__ import annotations

import io
import json
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass
class Member:
    """One zip entry as written: ``data`` goes in as is (already compressed for method 8)."""

    name: str
    data: bytes
    method: int = 0
    file_size: int | None = None  # declared uncompressed size (default: len(data) for stored)
    crc: int | None = None
    flags: int = 0


def stored(name: str, data: bytes) -> Member:
    return Member(name, data, 0, len(data), zlib.crc32(data))


def deflated(name: str, data: bytes) -> Member:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return Member(name, c.compress(data) + c.flush(), 8, len(data), zlib.crc32(data))


def zero_bomb(name: str, size: int, prefix: bytes = b"") -> Member:
    """A deflated member of ``prefix`` then zeros, ``size`` bytes in all, made without
    compressing ``size`` bytes: one flushed 16 MiB block of zeros repeated (about 1 KB per MB).
    The CRC is not computed (0), so reading it to the end fails its check."""
    block = 1 << 24
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = c.compress(prefix) + c.flush(zlib.Z_FULL_FLUSH)
    zeros, rest = divmod(size - len(prefix), block)
    chunk = c.compress(bytes(block)) + c.flush(zlib.Z_FULL_FLUSH)
    again = c.compress(bytes(block)) + c.flush(zlib.Z_FULL_FLUSH)
    assert chunk == again  # a full flush resets the state: every block compresses alike
    tail = c.compress(bytes(rest)) + c.flush()
    return Member(name, head + chunk * zeros + tail, 8, size, 0)


def write_zip(path: Path, members: list[Member]) -> Path:
    """A zip of ``members`` exactly as given (no checks, so duplicates and lies are kept)."""
    path.write_bytes(zip_bytes(members))
    return path


def zip_bytes(members: list[Member]) -> bytes:
    """The bytes of a zip of ``members`` exactly as given."""
    out = io.BytesIO()
    central = []
    for m in members:
        name = m.name.encode()
        crc = zlib.crc32(m.data) if m.crc is None else m.crc
        size = len(m.data) if m.file_size is None else m.file_size
        offset = out.tell()
        out.write(struct.pack("<4s2B4HL2L2H", b"PK\x03\x04", 20, 0, m.flags, m.method, 0, 33,
                              crc, len(m.data), size, len(name), 0))
        out.write(name)
        out.write(m.data)
        central.append(struct.pack("<4s4B4HL2L5H2L", b"PK\x01\x02", 20, 3, 20, 0, m.flags,
                                   m.method, 0, 33, crc, len(m.data), size, len(name), 0, 0, 0,
                                   0, 0o644 << 16, offset) + name)
    start = out.tell()
    for entry in central:
        out.write(entry)
    out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(central), len(central),
                          out.tell() - start, start, 0))
    return out.getvalue()


def npy_header(shape: tuple[int, ...], descr: str = "|u1", fortran: bool = False,
               version: tuple[int, int] = (1, 0)) -> bytes:
    """The ``.npy`` header of an array of ``shape`` and ``descr``, whatever its size."""
    header = f"{{'descr': {descr!r}, 'fortran_order': {fortran!r}, 'shape': {tuple(shape)!r}, }}"
    prefix = 10 if version == (1, 0) else 12
    header = header + " " * (-(prefix + len(header) + 1) % 64) + "\n"
    length = struct.pack("<H" if version == (1, 0) else "<I", len(header))
    return b"\x93NUMPY" + bytes(version) + length + header.encode("latin1")


def npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


def manifest(layers: list[dict[str, Any]], **extra: Any) -> bytes:
    return json.dumps({"format": "imgstudio-project", "version": 2, "layers": layers,
                       **extra}).encode()


def image_layer(n: int = 0, file: str | None = None, **meta: Any) -> dict[str, Any]:
    return {"id": f"layer-{n}", "kind": "image", "name": f"image {n}", "visible": True,
            "opacity": 1.0, "blend_mode": "normal",
            "file": file if file is not None else f"layers/{n:04d}.npy", **meta}


def small_project(path: Path, *, layers: list[dict[str, Any]] | None = None,
                  members: list[Member] | None = None, **extra: Any) -> Path:
    """A valid one-layer project (a 4×5 gray image), with layers, members or manifest fields
    replaced as given."""
    layers = [image_layer(0)] if layers is None else layers
    if members is None:
        members = [deflated("layers/0000.npy", npy(np.arange(20, dtype=np.uint8).reshape(4, 5)))]
    return write_zip(path, [deflated("manifest.json", manifest(layers, **extra)), *members])
