"""Masks and checks shared by the binary-operation tests (imported by name)."""

from __future__ import annotations

import numpy as np

from imgstudio.core.progress import Progress
from tests.ops.helpers import convert


def mask_image(mask: np.ndarray, dtype=np.uint8, kind="gray") -> np.ndarray:
    """A boolean mask as a 0/max image of ``dtype`` (RGB: white on black)."""
    image = convert(mask.astype(np.uint8) * np.uint8(255), dtype)
    return np.ascontiguousarray(np.dstack([image] * 3)) if kind == "rgb" else image


def blobs_mask(shape=(90, 120), n=25, seed=0) -> np.ndarray:
    """Random overlapping discs and squares, some touching the border, with holes."""
    rng = np.random.default_rng(seed)
    mask = np.zeros(shape, bool)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    for _ in range(n):
        y, x, r = rng.integers(0, shape[0]), rng.integers(0, shape[1]), rng.integers(2, 12)
        if rng.random() < 0.5:
            mask |= (yy - y) ** 2 + (xx - x) ** 2 <= r * r
        else:
            mask[max(0, y - r): y + r, max(0, x - r): x + r] = True
    mask[rng.random(shape) < 0.02] = False  # pinholes
    return mask


def assert_mask(out: np.ndarray, expected: np.ndarray) -> None:
    assert out.dtype == np.int32 and out.shape == expected.shape
    assert set(np.unique(out)) <= {0, 1}
    assert np.array_equal(out, expected.astype(np.int32))


def cancelled() -> Progress:
    token = Progress()
    token.cancel()
    return token


MASK = blobs_mask()
