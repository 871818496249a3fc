"""Reference helpers and test images shared by the segmentation tests (imported by name)."""

from __future__ import annotations

import numpy as np

from tests.ops.helpers import TOP


def ref_luma(image: np.ndarray) -> np.ndarray:
    """BT.601 luma in the image's dtype, rounded for integers (the documented grey)."""
    if image.ndim == 2:
        return image
    values = image[..., :3].astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    if image.dtype == np.float32:
        return np.clip(values, 0, 1).astype(np.float32)
    return np.clip(np.rint(values), 0, TOP[image.dtype]).astype(image.dtype)


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """True when ``a`` and ``b`` split the pixels identically (labels may be renumbered)."""
    pairs = np.unique(np.stack([a.ravel(), b.ravel()], axis=1), axis=0)
    return len(pairs) == len(np.unique(a)) == len(np.unique(b))


def unit_rows(image: np.ndarray) -> np.ndarray:
    """Colour channels as (N, C) float64 in [0, 1]."""
    part = image if image.ndim == 2 else image[..., :3]
    return part.reshape(len(part.reshape(-1, 1 if part.ndim == 2 else 3)), -1).astype(
        np.float64
    ) / TOP[image.dtype]


COLOURS = np.array([[230, 30, 30], [20, 180, 40], [30, 60, 230]], np.uint8)


def three_colours(noise=0.0, seed=0, h=30, w=60):
    """Three vertical bands of flat colours (optionally with Gaussian noise, 8-bit units)."""
    bands = np.minimum(np.arange(w) * 3 // w, 2)
    image = COLOURS[np.broadcast_to(bands, (h, w))].astype(np.float64)
    image += np.random.default_rng(seed).normal(0, noise, image.shape) if noise else 0
    return np.clip(np.rint(image), 0, 255).astype(np.uint8), np.broadcast_to(bands, (h, w))
