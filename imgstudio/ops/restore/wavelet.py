"""Lossy compression by soft-thresholding wavelet coefficients."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import numpy as np

from imgstudio.core.progress import Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import Image, Range, Result, Table, check_image
from imgstudio.ops._params import Wavelet
from imgstudio.ops._pixels import from_unit_like, n_colour_channels, to_unit, token


@dataclass(frozen=True, eq=False)
class WaveletCompressed(Result):
    """The reconstructed image and, per colour channel, how many coefficients became zero."""

    image: Image
    table: Table


def _soft(coeffs: np.ndarray, threshold: float) -> np.ndarray:
    """Soft thresholding, as ``pywt.threshold(coeffs, threshold, "soft")``.

    Written out because PyWavelets computes ``1 - threshold / |c|``, which is NaN for a zero
    coefficient when ``threshold`` is 0.
    """
    return np.sign(coeffs) * np.maximum(np.abs(coeffs) - threshold, 0.0)


@operation("restore.wavelet_compress", title="Wavelet compression", menu="Filters/Restore")
def wavelet_compress(
    image: Image,
    *,
    wavelet: Wavelet = "db4",
    threshold: Annotated[float, Range(0.0, 1000.0)] = 12.0,
    progress: Progress | None = None,
) -> WaveletCompressed:
    """Soft-threshold the wavelet detail coefficients and reconstruct (lossy compression).

    Each colour channel, on the 0–255 scale whatever the dtype, is decomposed with
    ``pywt.wavedec2(plane, wavelet)`` to the deepest level PyWavelets allows for its size
    (``mode="symmetric"``); every detail coefficient goes through
    soft thresholding ``sign(c)·max(|c| − threshold, 0)`` (``pywt.threshold(c, threshold,
    "soft")``; the approximation is kept) and the channel is
    rebuilt with ``pywt.waverec2``. The zeros are what a compressor would not store. Alpha is
    carried through.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image.
    wavelet : str
        Discrete wavelet (PyWavelets name).
    threshold : float
        Soft threshold in 8-bit grey levels; 0 reconstructs the image.

    Returns
    -------
    WaveletCompressed
        ``image``: the reconstruction, same shape and dtype as the input. ``table``: one row per
        colour channel with columns ``channel``, ``coefficients`` (total count, approximation
        included), ``zeros`` and ``zero_fraction`` (``zeros / coefficients``).
    """
    import pywt

    image = check_image(image)
    progress = token(progress)
    n = n_colour_channels(image)
    x = to_unit(image) * 255.0
    names = ["gray"] if n == 1 else ["red", "green", "blue"]
    planes, totals, zeros = [], [], []
    for c in range(n):
        progress(c / n, "Wavelet compression")
        plane = x if image.ndim == 2 else x[..., c]
        coeffs = pywt.wavedec2(plane, wavelet, mode="symmetric")
        kept = [coeffs[0]] + [tuple(_soft(d, threshold) for d in level) for level in coeffs[1:]]
        arrays = [kept[0], *(d for level in kept[1:] for d in level)]
        totals.append(int(sum(a.size for a in arrays)))
        zeros.append(int(sum(np.count_nonzero(a == 0) for a in arrays)))
        h, w = plane.shape
        planes.append(pywt.waverec2(kept, wavelet, mode="symmetric")[:h, :w] / 255.0)
    out = from_unit_like(planes[0] if n == 1 else np.stack(planes, axis=-1), image)
    progress(1.0, "Wavelet compression")
    table = Table({"channel": names, "coefficients": totals, "zeros": zeros,
                   "zero_fraction": [z / t for z, t in zip(zeros, totals, strict=True)]})
    return WaveletCompressed(image=out, table=table)
