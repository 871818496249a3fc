"""Helpers shared by the restoration operations: point spread functions and per-channel
application with alpha carried through."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np

from imgstudio.core.progress import Progress
from imgstudio.ops._pixels import from_unit_like, n_colour_channels, to_unit, token

PSF = Literal["gaussian", "box", "motion"]

#: The Laplacian used as regulariser by ``restore.cls``: [[0, ¼, 0], [¼, −1, ¼], [0, ¼, 0]].
LAPLACIAN = np.array([[0.0, 0.25, 0.0], [0.25, -1.0, 0.25], [0.0, 0.25, 0.0]])


def make_psf(psf: str, size: int, angle: float = 0.0) -> np.ndarray:
    """A normalised ``size × size`` point spread function (float64, sums to 1).

    - ``gaussian``: a sampled Gaussian of σ = 0.3·((size − 1)/2 − 1) + 0.8 (the σ OpenCV
      picks for a kernel of that size; OpenCV itself uses fixed binomial-like tables for small
      sizes, whose spectrum vanishes at the Nyquist frequency).
    - ``box``: uniform.
    - ``motion``: a straight segment of length ``size`` through the kernel's centre, at ``angle``
      degrees counter-clockwise from the horizontal; the segment is supersampled (16 samples
      per pixel) and each sample is added to its nearest pixel, so ``angle = 0`` gives exactly
      one uniform row.

    The centre of the kernel is ``((size - 1) / 2, (size - 1) / 2)``; for an even ``size`` the
    convolutions (``scipy.ndimage.convolve``) and the transfer functions
    (``skimage.restoration.uft.ir2tf``) both place the origin at index ``size // 2``.
    """
    if size < 1:
        raise ValueError(f"size must be >= 1; got {size!r}")
    if psf == "box":
        return np.full((size, size), 1.0 / size**2)
    if psf == "gaussian":
        sigma = 0.3 * ((size - 1) / 2.0 - 1.0) + 0.8
        x = np.arange(size) - (size - 1) / 2.0
        g = np.exp(-(x**2) / (2.0 * sigma**2))
        kernel = np.outer(g, g)
        return kernel / kernel.sum()
    if psf == "motion":
        n = 16 * size
        t = ((np.arange(n) + 0.5) / n - 0.5) * size  # arc length from the centre
        theta = np.deg2rad(angle)
        # rounded so that cos(90°) is exactly 0, not 6e-17 (which would split the segment)
        cos, sin = round(float(np.cos(theta)), 12), round(float(np.sin(theta)), 12)
        centre = (size - 1) / 2.0
        cols = np.clip(np.floor(centre + t * cos + 0.5), 0, size - 1).astype(int)
        rows = np.clip(np.floor(centre - t * sin + 0.5), 0, size - 1).astype(int)
        kernel = np.zeros((size, size))
        np.add.at(kernel, (rows, cols), 1.0)
        return kernel / kernel.sum()
    raise ValueError(f"psf must be one of gaussian, box, motion; got {psf!r}")


def fitting_psf(image: np.ndarray, psf: str, size: int, angle: float) -> np.ndarray:
    """:func:`make_psf` for deconvolving ``image``; ``ValueError`` naming ``size`` when the PSF
    is larger than the image."""
    if size > min(image.shape[:2]):
        raise ValueError(
            f"size must not exceed the image's smaller side ({min(image.shape[:2])}); got {size}"
        )
    return make_psf(psf, size, angle)


def per_channel(
    image: np.ndarray,
    func: Callable[[np.ndarray, Progress], np.ndarray],
    progress: Progress | None,
    message: str,
) -> np.ndarray:
    """Apply ``func`` (float64 [0, 1] plane → float plane) to each colour channel.

    The result is cast back to the input dtype; an alpha channel is carried through untouched.
    ``func`` receives a sub-progress token for its channel.
    """
    progress = token(progress)
    x = to_unit(image)
    n = n_colour_channels(image)
    planes = []
    for c in range(n):
        plane = x if image.ndim == 2 else x[..., c]
        progress(c / n, f"{message} ({c + 1}/{n})" if n > 1 else message)
        planes.append(func(plane, progress.sub(c / n, (c + 1) / n)))
    progress(1.0, message)
    return from_unit_like(planes[0] if image.ndim == 2 else np.stack(planes, axis=-1), image)
