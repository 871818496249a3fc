"""Helpers shared by the registration operations: input checks, warping, matrices."""

from __future__ import annotations

import numpy as np

from imgstudio.core.types import check_image
from imgstudio.ops._pixels import warped_like

#: How a registration that ran but found no alignment starts its message (it names both
#: inputs: the failure is about the pair, not one parameter).
NOT_REGISTERED = "image could not be registered onto fixed"


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
    return warped_like(out, image)


def invert_matrix(matrix: np.ndarray, what: str) -> np.ndarray:
    """The inverse of a 3×3 matrix normalised so that ``[2, 2] == 1``; ``ValueError`` if singular."""
    m = np.asarray(matrix, dtype=np.float64)
    if not np.all(np.isfinite(m)) or abs(np.linalg.det(m)) < 1e-12:
        raise ValueError(f"{NOT_REGISTERED}: {what} produced a degenerate transform")
    inv = np.linalg.inv(m)
    if abs(inv[2, 2]) > 1e-12:
        inv = inv / inv[2, 2]
    return inv
