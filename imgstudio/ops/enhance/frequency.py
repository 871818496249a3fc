"""Frequency-domain filtering with ideal, Gaussian and Butterworth transfer functions."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np

from imgstudio.core.editor import Editor, Spectrum
from imgstudio.core.progress import Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import Image, Range, check_image
from imgstudio.ops._pixels import as_unit, from_unit, join_alpha, split_alpha, token
from imgstudio.ops.enhance._spectrum import spectrum_rings, spectrum_view

FilterKind = Literal[
    "ideal_lowpass",
    "gaussian_lowpass",
    "butterworth_lowpass",
    "ideal_highpass",
    "gaussian_highpass",
    "butterworth_highpass",
    "notch",
]


def transfer(kind: str, distance: np.ndarray, cutoff: float, order: int,
             width: float) -> np.ndarray:
    """The transfer function H(D) of ``kind`` at distances ``distance`` from zero frequency.

    Lowpass: ideal ``D <= D0``, Gaussian ``exp(-D² / 2D0²)``, Butterworth
    ``1 / (1 + (D/D0)^2n)``; each highpass is ``1 - lowpass``; notch is the Butterworth
    band-reject ``1 / (1 + (D·W / (D² - D0²))^2n)`` (0 on the ring ``D = D0``, 1 at D = 0).
    """
    d = distance
    with np.errstate(divide="ignore", over="ignore"):
        return _transfer(kind, d, cutoff, order, width)


def _transfer(kind: str, d: np.ndarray, cutoff: float, order: int, width: float) -> np.ndarray:
    if kind.endswith("_highpass"):
        return 1.0 - _transfer(kind.replace("_highpass", "_lowpass"), d, cutoff, order, width)
    if kind == "ideal_lowpass":
        return (d <= cutoff).astype(np.float32)
    if kind == "gaussian_lowpass":
        return np.exp(-(d * d) / np.float32(2.0 * cutoff * cutoff))
    if kind == "butterworth_lowpass":
        return 1.0 / (1.0 + (d / np.float32(cutoff)) ** (2 * order))
    if kind == "notch":
        q = np.abs(d * np.float32(width) / (d * d - np.float32(cutoff * cutoff)))
        return 1.0 / (1.0 + q ** (2 * order))
    raise ValueError(f"kind must be one of {', '.join(FilterKind.__args__)}; got {kind!r}")


@operation("enhance.frequency_filter", title="Frequency filter", menu="Filters/Frequency",
           editor=Editor(views=(Spectrum(spectrum_view, spectrum_rings),)))
def frequency_filter(
    image: Image,
    *,
    kind: FilterKind = "gaussian_lowpass",
    cutoff: Annotated[float, Range(0.5, 10000.0, step=0.5)] = 30.0,
    order: Annotated[int, Range(1, 10)] = 2,
    width: Annotated[float, Range(0.5, 1000.0, step=0.5)] = 10.0,
    progress: Progress | None = None,
) -> Image:
    """Filter in the Fourier domain: multiply the spectrum by a radial transfer function H(D).

    D is the distance from zero frequency in the centred spectrum of the image, in pixels of
    that spectrum (cycles per image height and width): D0 = ``cutoff``. To avoid the
    wrap-around of a periodic FFT, each channel is extended by mirror symmetry to twice its
    size before filtering; since H is real and even this is computed exactly, and 4× cheaper,
    as a DCT-II (``scipy.fft.dctn``) with H sampled at D = k/2. Highpass results are offset
    by mid-grey (half the full range) so that negative values show: their mean is mid-grey.
    ``notch`` rejects the ring of frequencies at D0 (``width`` wide), e.g. periodic noise.
    The result is clipped and rounded back to the input dtype; alpha is kept.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image.
    kind : str
        ideal_lowpass, gaussian_lowpass, butterworth_lowpass, the three matching highpass
        filters (1 − lowpass), or notch (Butterworth band-reject).
    cutoff : float
        D0, the cut-off (ideal), sigma (Gaussian), half-power radius (Butterworth) or rejected
        ring radius (notch), in pixels of the centred spectrum.
    order : int
        Order n of the Butterworth and notch filters (steepness).
    width : float
        Width W of the rejected ring of the notch filter, in spectrum pixels.
    progress : Progress, optional
        Progress and cancellation token.

    Returns
    -------
    ndarray
        Filtered image, same shape and dtype.
    """
    from scipy import fft

    image = check_image(image)
    h, w = image.shape[:2]
    ky = np.arange(h, dtype=np.float32) / 2
    kx = np.arange(w, dtype=np.float32) / 2
    gain = transfer(kind, np.sqrt(ky[:, None] ** 2 + kx[None, :] ** 2), cutoff, order, width)
    gain = gain.astype(np.float32, copy=False)
    offset = np.float32(0.5 if kind.endswith("_highpass") else 0.0)
    progress = token(progress)
    colour, alpha = split_alpha(image)
    unit = as_unit(colour)
    planes = [unit] if unit.ndim == 2 else [unit[..., c] for c in range(unit.shape[2])]
    out = np.empty(unit.shape, np.float32)
    for c, plane in enumerate(planes):
        progress(c / len(planes), "Frequency filter")
        spectrum = fft.dctn(plane, type=2, norm="ortho", workers=-1)
        spectrum *= gain
        filtered = fft.idctn(spectrum, type=2, norm="ortho", workers=-1, overwrite_x=True)
        filtered += offset
        if unit.ndim == 2:
            out = filtered
        else:
            out[..., c] = filtered
    progress(1.0, "Frequency filter")
    return join_alpha(from_unit(out, image.dtype), alpha)
