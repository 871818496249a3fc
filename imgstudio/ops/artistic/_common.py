"""Helpers shared by the artistic operations: alpha, 8-bit round trips, grey, Gaussian,
Perona–Malik diffusion, edge strength. OpenCV is imported inside the functions."""

from __future__ import annotations

import numpy as np

from imgstudio.core.progress import Progress
from imgstudio.core.types import dtype_max


def check_range(name: str, value: float, lo: float, hi: float) -> None:
    """``ValueError`` naming ``name`` unless ``lo <= value <= hi`` (direct calls skip the spec)."""
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be in [{lo:g}, {hi:g}]; got {value!r}")


def check_odd(name: str, value: int, lo: int, hi: int) -> None:
    """``ValueError`` naming ``name`` unless ``value`` is odd and in ``[lo, hi]``."""
    check_range(name, value, lo, hi)
    if value % 2 == 0:
        raise ValueError(f"{name} must be odd; got {value!r}")


def split_alpha(image: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """The colour part of ``image`` ((H, W) or contiguous (H, W, 3)) and its alpha or None.

    Grey and RGB images are returned as they are (no copy); RGBA is split.
    """
    if image.ndim == 3 and image.shape[2] == 4:
        return np.ascontiguousarray(image[..., :3]), image[..., 3]
    return image, None


def join_alpha(colour: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    """Put ``alpha`` back behind an (H, W, 3) result (grey results drop it)."""
    if alpha is None or colour.ndim == 2:
        return colour
    return np.dstack([colour, alpha])


def to_uint8(image: np.ndarray) -> np.ndarray:
    """``image`` as uint8 (rounded to the nearest 8-bit level); uint8 input is not copied."""
    import cv2

    if image.dtype == np.uint8:
        return image
    return cv2.convertScaleAbs(image, alpha=255.0 / dtype_max(image.dtype))


def from_uint8(image: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """An 8-bit result in ``dtype``: ×257 for uint16 (exact), /255 for float32."""
    dtype = np.dtype(dtype)
    if dtype == np.uint8:
        return image
    if dtype == np.uint16:
        return image.astype(np.uint16) * np.uint16(257)
    return image.astype(np.float32) / np.float32(255.0)


def unit_to_dtype(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Float values in [0, 1] to ``dtype`` (clipped; rounded half to even for integers)."""
    import cv2

    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return np.clip(values, 0.0, 1.0).astype(dtype, copy=False)
    # one saturating OpenCV pass (= clip, scale, rint, cast) on a single-channel 2-D view
    flat = np.ascontiguousarray(values, dtype=np.float32).reshape(values.shape[0], -1)
    depth = cv2.CV_8U if dtype == np.uint8 else cv2.CV_16U
    return cv2.multiply(flat, dtype_max(dtype), dtype=depth).reshape(values.shape)


def gray_native(image: np.ndarray) -> np.ndarray:
    """BT.601 luma (0.299 R + 0.587 G + 0.114 B) in the image's own dtype (cv2.cvtColor)."""
    import cv2

    if image.ndim == 2:
        return image
    code = cv2.COLOR_RGBA2GRAY if image.shape[2] == 4 else cv2.COLOR_RGB2GRAY
    return cv2.cvtColor(image, code)


def gray_unit(image: np.ndarray) -> np.ndarray:
    """BT.601 luma as float32 in [0, 1], computed in float (no 8-bit rounding)."""
    import cv2

    work = image.astype(np.float32)
    if image.ndim == 3:
        code = cv2.COLOR_RGBA2GRAY if image.shape[2] == 4 else cv2.COLOR_RGB2GRAY
        work = cv2.cvtColor(work, code)
    if image.dtype.kind != "f":
        work *= np.float32(1.0 / dtype_max(image.dtype))
    return work


def gaussian(values: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur equal to ``scipy.ndimage.gaussian_filter(values, sigma)`` (mode 'reflect',
    truncate 4) up to float rounding, computed with OpenCV's separable filter."""
    import cv2

    radius = int(4.0 * sigma + 0.5)
    size = 2 * radius + 1
    return cv2.GaussianBlur(values, (size, size), sigmaX=sigma, sigmaY=sigma,
                            borderType=cv2.BORDER_REFLECT)


def perona_malik(
    work: np.ndarray,
    *,
    kappa: float,
    niter: int,
    gamma: float,
    progress: Progress,
) -> np.ndarray:
    """Perona–Malik diffusion with ``cv2.ximgproc.anisotropicDiffusion``.

    ``work`` is uint8 (H, W) grey or (H, W, 3) colour. One step moves each pixel by
    ``gamma · Σ w·(neighbour − pixel)`` over its 8 neighbours (replicated border), with the
    conduction ``w = exp(−(δ / kappa)²)``; δ is the grey difference, or for colour the mean of
    the three absolute channel differences, in 8-bit levels. The result is rounded to 8 bits after
    every step (as OpenCV does). Returns an array of ``work``'s shape.

    OpenCV takes only 3-channel 8-bit images and reads one entry past its conduction table when
    a pixel differs from a neighbour by 255 in all three channels. Grey is therefore diffused
    as ``[g, 0, 0]`` (δ = |Δg|, at most 255) and colour with the first channel capped at 254;
    that cap is the only change to the input.
    """
    import cv2

    if work.ndim == 2:
        planes = np.zeros((*work.shape, 3), np.uint8)
        planes[..., 0] = work
        scale = kappa / 765.0  # OpenCV's K: w = exp(-(sum|d| / (765 K))^2)
    else:
        planes = work.copy()
        np.minimum(planes[..., 0], 254, out=planes[..., 0])
        scale = kappa / 255.0
    # One step per call: in a multi-step call OpenCV (4.14) borders every step after the first
    # with copyMakeBorder on a ROI, which takes the pixels around the ROI (uninitialised memory)
    # instead of replicating, so results near the border are wrong and differ from run to run.
    # Single steps are the documented scheme (checked against a numpy transcription in the
    # tests), cost about 5-15 % more time, and give a progress and cancel point per step.
    for i in range(niter):
        progress(i / niter, "anisotropic diffusion")
        planes = cv2.ximgproc.anisotropicDiffusion(planes, gamma, scale, 1)
    return np.ascontiguousarray(planes[..., 0]) if work.ndim == 2 else planes


def edge_strength(gray: np.ndarray) -> np.ndarray:
    """Gradient magnitude of a grey image, float32: |Sobel| / 4 (≈ the step height across an
    edge, in the units of ``gray``), border mode 'reflect'."""
    import cv2

    gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3, borderType=cv2.BORDER_REFLECT)
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3, borderType=cv2.BORDER_REFLECT)
    magnitude = cv2.magnitude(gx, gy)
    magnitude *= np.float32(0.25)
    return magnitude
