"""Helpers shared by the registration operations: grey conversion, warping, matrices."""

from __future__ import annotations

import numpy as np

from imgstudio.core.types import check_image, dtype_max

# ITU-R 601 luma weights, as basic.grayscale uses.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def grey_float(image: np.ndarray) -> np.ndarray:
    """``image`` as a contiguous float32 grey array in [0, 1] (RGB → luma, alpha ignored)."""
    values = image.astype(np.float32) / np.float32(dtype_max(image.dtype))
    if values.ndim == 3:
        values = values[..., :3] @ _LUMA
    return np.ascontiguousarray(values, dtype=np.float32)


def grey_u8(image: np.ndarray) -> np.ndarray:
    """``image`` as a contiguous uint8 grey array (RGB → luma, alpha ignored)."""
    return np.ascontiguousarray(np.clip(np.rint(grey_float(image) * 255.0), 0, 255).astype(np.uint8))


def rgb_u8(image: np.ndarray) -> np.ndarray:
    """``image`` as a contiguous uint8 RGB array (grey is repeated, alpha dropped)."""
    top = dtype_max(image.dtype)
    if image.dtype == np.uint8:
        values = image
    else:
        values = np.clip(np.rint(image.astype(np.float32) * (255.0 / top)), 0, 255).astype(np.uint8)
    if values.ndim == 2:
        values = np.repeat(values[..., None], 3, axis=2)
    return np.ascontiguousarray(values[..., :3])


def check_pair(image: np.ndarray, fixed: np.ndarray, min_size: int = 1) -> None:
    """Check the moving ``image`` and the ``fixed`` image; ``ValueError`` naming the input."""
    check_image(image, "image")
    check_image(fixed, "fixed")
    for name, arr in (("image", image), ("fixed", fixed)):
        if min(arr.shape[:2]) < min_size:
            raise ValueError(
                f"{name} is too small to register: {arr.shape[1]}×{arr.shape[0]} pixels "
                f"(need at least {min_size}×{min_size})"
            )


def warp_to_fixed(image: np.ndarray, fixed_to_moving: np.ndarray, fixed_shape: tuple[int, ...]) -> np.ndarray:
    """Resample ``image`` (linear) onto the fixed grid, given the fixed → moving 3×3 matrix.

    Every channel (alpha included) is resampled alike; pixels that fall outside ``image`` are
    0. The dtype of ``image`` is kept.
    """
    import cv2

    rows, cols = fixed_shape[:2]
    src = np.ascontiguousarray(image)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    m = np.asarray(fixed_to_moving, dtype=np.float64)
    if np.allclose(m[2], (0.0, 0.0, 1.0)):
        out = cv2.warpAffine(src, m[:2], (cols, rows), flags=flags, borderMode=cv2.BORDER_CONSTANT)
    else:
        out = cv2.warpPerspective(src, m, (cols, rows), flags=flags, borderMode=cv2.BORDER_CONSTANT)
    if image.ndim == 3 and out.ndim == 2:
        out = out[..., None]
    if image.dtype.kind == "f":
        out = np.clip(out, 0.0, 1.0)
    return out.astype(image.dtype, copy=False)


def invert_matrix(matrix: np.ndarray, what: str) -> np.ndarray:
    """The inverse of a 3×3 matrix normalised so that ``[2, 2] == 1``; ``ValueError`` if singular."""
    m = np.asarray(matrix, dtype=np.float64)
    if not np.all(np.isfinite(m)) or abs(np.linalg.det(m)) < 1e-12:
        raise ValueError(f"{what} produced a degenerate transform; the images could not be registered")
    inv = np.linalg.inv(m)
    if abs(inv[2, 2]) > 1e-12:
        inv = inv / inv[2, 2]
    return inv
