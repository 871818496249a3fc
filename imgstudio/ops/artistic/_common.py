"""Helpers shared by the artistic operations: parameter types, odd kernel sizes, Gaussian,
Perona–Malik diffusion, edge strength. OpenCV is imported inside the functions."""

from __future__ import annotations

from typing import Annotated

import numpy as np

from imgstudio.core.progress import Progress
from imgstudio.core.types import Range

#: ``niter``: the number of Perona–Malik steps of the anisotropic effects (0: none).
Niter = Annotated[int, Range(0, 200)]
#: ``sigma_s`` and ``sigma_r`` of OpenCV's edge-preserving (domain transform) effects,
#: ``cv2.stylization`` and ``cv2.pencilSketch``.
SigmaS = Annotated[float, Range(1.0, 200.0)]
SigmaR = Annotated[float, Range(0.01, 1.0, step=0.01)]


def check_odd(name: str, value: int) -> None:
    """``ValueError`` naming ``name`` unless ``value`` is odd (a ``Range`` cannot say so)."""
    if value % 2 == 0:
        raise ValueError(f"{name} must be odd; got {value!r}")


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
