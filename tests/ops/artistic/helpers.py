"""Reference helpers shared by the artistic-operation tests (imported by name)."""

from __future__ import annotations

import numpy as np

from tests.ops.helpers import TOP


def scaled_from_uint8(out8: np.ndarray, dtype) -> np.ndarray:
    """Reference for the ops that compute at 8 bits: the 8-bit result in ``dtype``."""
    if np.dtype(dtype) == np.uint16:
        return out8.astype(np.uint16) * 257
    if np.dtype(dtype) == np.float32:
        return (out8 / 255.0).astype(np.float32)
    return out8


def as_uint8(image: np.ndarray) -> np.ndarray:
    """Reference 8-bit rounding of an image in any dtype."""
    return np.rint(image.astype(np.float64) * (255.0 / TOP[image.dtype])).astype(np.uint8)


def mismatch(a: np.ndarray, b: np.ndarray, tol: float) -> float:
    """Fraction of pixels where ``a`` and ``b`` differ by more than ``tol``."""
    assert a.shape == b.shape
    return float(np.mean(np.abs(a.astype(np.float64) - b.astype(np.float64)) > tol))


OFFSETS = [(0, -1), (0, 1), (-1, -1), (-1, 0), (-1, 1), (1, -1), (1, 0), (1, 1)]


def perona_malik_reference(x: np.ndarray, kappa: float, niter: int, gamma: float) -> np.ndarray:
    """Explicit 8-neighbour Perona–Malik in numpy: I += gamma · Σ exp(−(δ/kappa)²)·(I_n − I),
    δ = mean absolute channel difference, replicated border, rounded to 8 bits every step."""
    out = x.astype(np.float32)
    out = out if x.ndim == 3 else out[..., None]
    h, w = x.shape[:2]
    for _ in range(niter):
        padded = np.pad(out, ((1, 1), (1, 1), (0, 0)), mode="edge")
        total = np.zeros_like(out)
        for dy, dx in OFFSETS:
            d = padded[1 + dy:1 + dy + h, 1 + dx:1 + dx + w] - out
            delta = np.abs(d).mean(axis=-1, keepdims=True).astype(np.float64)
            total += d * np.exp(-((delta / kappa) ** 2)).astype(np.float32)
        out = np.clip(np.rint(out + np.float32(gamma) * total), 0, 255)
    out = out.astype(np.uint8)
    return out if x.ndim == 3 else out[..., 0]
