"""Reference casts, comparisons and point sets shared by the basic-operation tests."""

from __future__ import annotations

import numpy as np

from tests.ops.helpers import TOP

QUAD = np.array([[10.0, 6.0], [80.0, 12.0], [86.0, 58.0], [4.0, 50.0]])
SRC3 = np.array([[10.0, 10.0], [60.0, 12.0], [20.0, 50.0]])
DST3 = np.array([[14.0, 8.0], [62.0, 20.0], [18.0, 55.0]])


def to_dtype(values: np.ndarray, dtype) -> np.ndarray:
    """Reference cast: clip to the dtype's range, round for integers."""
    top = TOP[np.dtype(dtype)]
    if np.dtype(dtype).kind == "f":
        return np.clip(values, 0, top).astype(dtype)
    return np.clip(np.rint(values), 0, top).astype(dtype)


def assert_close(out: np.ndarray, expected: np.ndarray, int_tol: int = 0, float_tol: float = 1e-5):
    assert out.dtype == expected.dtype and out.shape == expected.shape
    tol = float_tol if out.dtype.kind == "f" else int_tol
    diff = np.abs(out.astype(np.float64) - expected.astype(np.float64))
    assert diff.max() <= tol, f"max difference {diff.max()} > {tol}"
