"""Test data and reference helpers shared by the enhancement-operation tests (imported by
name)."""

from __future__ import annotations

import numpy as np
import skimage.data

from tests.ops.helpers import TOP


def unit(image: np.ndarray) -> np.ndarray:
    """``image`` as float64 in [0, 1]."""
    return image.astype(np.float64) / TOP[image.dtype]


def to_dtype(values: np.ndarray, dtype) -> np.ndarray:
    """Reference cast of floats in [0, 1]: clip, scale, round for integers."""
    top = TOP[np.dtype(dtype)]
    scaled = np.clip(values, 0.0, 1.0) * top
    if np.dtype(dtype).kind == "f":
        return scaled.astype(dtype)
    return np.rint(scaled).astype(dtype)


def assert_close(out: np.ndarray, expected: np.ndarray, int_tol: int = 0,
                 float_tol: float = 0.0) -> None:
    assert out.dtype == expected.dtype, (out.dtype, expected.dtype)
    assert out.shape == expected.shape, (out.shape, expected.shape)
    tol = float_tol if out.dtype.kind == "f" else int_tol
    diff = np.abs(out.astype(np.float64) - expected.astype(np.float64))
    assert diff.max() <= tol, f"max difference {diff.max()} > {tol}"


def camera(size: int = 128) -> np.ndarray:
    """A ``size``² uint8 crop of skimage's camera (the man, tripod and sky)."""
    return np.ascontiguousarray(skimage.data.camera()[80 : 80 + 2 * size : 2, 150 : 150 + 2 * size : 2])


def noisy_camera(sigma: float = 0.1, seed: int = 0, size: int = 256):
    """(clean, noisy): a camera crop in [0, 1] (float64) and a float32 copy with Gaussian noise
    of standard deviation ``sigma``, clipped to [0, 1]."""
    clean = skimage.data.camera()[64 : 64 + size, 128 : 128 + size].astype(np.float64) / 255.0
    rng = np.random.default_rng(seed)
    noisy = np.clip(clean + rng.normal(0.0, sigma, clean.shape), 0.0, 1.0).astype(np.float32)
    return clean, noisy


def psnr(image: np.ndarray, clean: np.ndarray) -> float:
    """PSNR in dB of ``image`` (any dtype) against ``clean`` in [0, 1]."""
    return float(10 * np.log10(1.0 / np.mean((unit(image) - clean) ** 2)))


def bgr(image: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(image[..., ::-1])
