"""Denoising: non-local means, Perona–Malik diffusion, total variation, wavelet shrinkage.

Alpha is carried through untouched; the colour channels are processed as floats in [0, 1]
(non-local means: as uint8) and rounded back to the input dtype.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np

from imgstudio.core.progress import Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import Image, Range, check_image
from imgstudio.ops._params import Kappa
from imgstudio.ops._pixels import as_unit, from_unit, join_alpha, split_alpha, to_uint8, token
from imgstudio.ops.enhance._common import in_strips

#: OpenCV's recommended patch and search window sizes for non-local means.
_NLM_TEMPLATE = 7
_NLM_SEARCH = 21


@operation("enhance.nl_means", title="Non-local means", menu="Filters/Denoise")
def nl_means(
    image: Image,
    *,
    h: Annotated[float, Range(0.5, 100.0, step=0.5)] = 10.0,
    progress: Progress | None = None,
) -> Image:
    """Non-local means denoising: average similar 7×7 patches found within 21×21 pixels.

    ``cv2.fastNlMeansDenoising`` for grey images and ``cv2.fastNlMeansDenoisingColored`` (which
    works in Lab, with ``hColor = h``) for colour ones. OpenCV's colour version takes only
    8-bit images, so uint16 and float32 images are converted to uint8, denoised and converted
    back: **their result has 8-bit precision**. Alpha is kept.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image.
    h : float
        Filter strength in 8-bit grey levels: about the noise standard deviation. Larger
        values remove more noise and more detail.
    progress : Progress, optional
        Progress and cancellation token.

    Returns
    -------
    ndarray
        Denoised image, same shape and dtype.
    """
    import cv2

    image = check_image(image)
    colour, alpha = split_alpha(image)
    x8 = to_uint8(colour)
    t, s = _NLM_TEMPLATE, _NLM_SEARCH
    if x8.ndim == 2:

        def fn(x: np.ndarray) -> np.ndarray:
            return cv2.fastNlMeansDenoising(x, None, h, t, s)

    else:

        def fn(x: np.ndarray) -> np.ndarray:
            bgr = cv2.cvtColor(x, cv2.COLOR_RGB2BGR)
            out = cv2.fastNlMeansDenoisingColored(bgr, None, h, h, t, s)
            return cv2.cvtColor(out, cv2.COLOR_BGR2RGB)

    out8 = in_strips(x8, fn, halo=t // 2 + s // 2, cost=0.4 * t * s * s,
                     progress=token(progress), message="Non-local means")
    out = out8 if image.dtype == np.uint8 else from_unit(as_unit(out8), image.dtype)
    return join_alpha(out, alpha)


@operation("enhance.anisotropic_diffusion", title="Anisotropic diffusion (Perona–Malik)",
           menu="Filters/Denoise")
def anisotropic_diffusion(
    image: Image,
    *,
    kappa: Kappa = 20.0,
    niter: Annotated[int, Range(1, 200)] = 20,
    gamma: Annotated[float, Range(0.01, 0.25, step=0.01)] = 0.1,
    option: Literal[1, 2] = 1,
    progress: Progress | None = None,
) -> Image:
    """Perona–Malik anisotropic diffusion: smooth within regions, stop at edges.

    Each of ``niter`` explicit steps adds ``gamma · Σ c(∇I) ∇I`` over the four neighbours
    (no flux across the image border, so the mean is preserved), with the conduction
    ``c(x) = exp(−(x/kappa)²)`` (``option=1``, favours high-contrast edges) or
    ``c(x) = 1 / (1 + (x/kappa)²)`` (``option=2``, favours wide regions). Colour channels
    diffuse independently. Written in NumPy: SimpleITK's gradient anisotropic diffusion has
    only the exponential conduction and its own time-step and kappa conventions. Alpha is kept.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image.
    kappa : float
        Edge threshold in 8-bit grey levels: gradients well above it are kept.
    niter : int
        Number of iterations.
    gamma : float
        Step size; at most 0.25 for stability.
    option : {1, 2}
        Conduction function (Perona–Malik equation 1 or 2).
    progress : Progress, optional
        Progress and cancellation token.

    Returns
    -------
    ndarray
        Diffused image, same shape and dtype.
    """
    image = check_image(image)
    if option not in (1, 2):
        raise ValueError(f"option must be 1 or 2; got {option!r}")
    progress = token(progress)
    colour, alpha = split_alpha(image)
    u = as_unit(colour).astype(np.float32, copy=True)
    inv_k = np.float32(255.0 / kappa)
    g = np.float32(gamma)
    step = np.empty_like(u)
    for i in range(niter):
        progress(i / niter, "Anisotropic diffusion")
        for axis in (0, 1):
            delta = np.diff(u, axis=axis)
            c = delta * inv_k
            c *= c
            if option == 1:
                np.exp(np.negative(c, out=c), out=c)
            else:
                c += 1.0
                np.reciprocal(c, out=c)
            c *= delta  # flux towards the next pixel along the axis
            lo = (slice(None),) * axis + (slice(None, -1),)
            hi = (slice(None),) * axis + (slice(1, None),)
            if axis == 0:  # the first axis initialises step: no zero fill needed
                step[lo] = c
                step[-1] = 0.0
            else:
                step[lo] += c
            step[hi] -= c
        step *= g
        u += step
    progress(1.0, "Anisotropic diffusion")
    return join_alpha(from_unit(u, image.dtype), alpha)


def _tv_chambolle(f: np.ndarray, weight: float, eps: float, max_iter: int,
                  progress: Progress) -> np.ndarray:
    """Chambolle's projection algorithm for 2-D ROF denoising.

    The same steps, in the same order, as ``skimage.restoration._denoise._denoise_tv_chambolle_nd``
    (so the result equals ``denoise_tv_chambolle``), rewritten only to report progress and
    honour cancellation between iterations, which a single library call cannot.
    """
    p = np.zeros((2,) + f.shape, dtype=f.dtype)
    g = np.zeros_like(p)
    d = np.zeros_like(f)
    out = f
    e_init = e_prev = 0.0
    tau = 1.0 / 4.0
    for i in range(max_iter):
        progress(i / max_iter)
        if i > 0:
            d = -p.sum(0)
            d[1:, :] += p[0, :-1, :]
            d[:, 1:] += p[1, :, :-1]
            out = f + d
        else:
            out = f
        energy = (d**2).sum()
        g[0, :-1, :] = np.diff(out, axis=0)
        g[1, :, :-1] = np.diff(out, axis=1)
        norm = np.sqrt((g**2).sum(axis=0))[np.newaxis, ...]
        energy += weight * norm.sum()
        norm *= tau / weight
        norm += 1.0
        p -= tau * g
        p /= norm
        energy /= float(f.size)
        if i == 0:
            e_init = e_prev = energy
        elif np.abs(e_prev - energy) < eps * e_init:
            break
        else:
            e_prev = energy
    return out


@operation("enhance.tv_denoise", title="Total-variation denoise", menu="Filters/Denoise")
def tv_denoise(
    image: Image,
    *,
    weight: Annotated[float, Range(0.001, 10.0, step=0.01)] = 0.1,
    progress: Progress | None = None,
) -> Image:
    """Total-variation (ROF) denoising with Chambolle's algorithm: flat regions, sharp edges.

    Equals ``skimage.restoration.denoise_tv_chambolle(x, weight, eps=2e-4, max_num_iter=200,
    channel_axis=-1)`` on the image ``x`` as float32 in [0, 1] (colour channels
    independently), rounded back to the input dtype. Alpha is kept.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image.
    weight : float
        Denoising weight (1/lambda) for intensities in [0, 1]: larger removes more.
    progress : Progress, optional
        Progress and cancellation token.

    Returns
    -------
    ndarray
        Denoised image, same shape and dtype.
    """
    image = check_image(image)
    progress = token(progress)
    colour, alpha = split_alpha(image)
    f = as_unit(colour)
    if f.ndim == 2:
        out = _tv_chambolle(f, weight, 2.0e-4, 200, progress)
    else:
        out = np.empty(f.shape, np.float32)
        for c in range(f.shape[2]):
            out[..., c] = _tv_chambolle(np.ascontiguousarray(f[..., c]), weight, 2.0e-4, 200,
                                        progress.sub(c / 3, (c + 1) / 3))
    progress(1.0)
    return join_alpha(from_unit(out, image.dtype), alpha)


def _wavelet_shrink(plane: np.ndarray, wavelet: str, mode: str,
                    sigma: float | None) -> np.ndarray:
    """BayesShrink wavelet denoising of one 2-D plane.

    The steps of ``skimage.restoration.denoise_wavelet`` for a float plane (its private
    ``_wavelet_threshold`` with ``method="BayesShrink"``, same levels, estimator and
    thresholds), written out because that function returns all-NaN when the noise level is 0
    or cannot be estimated (``sigma=0``, or a plane with no fine diagonal detail such as a
    gradient); here such a plane is returned unchanged.
    """
    import pywt
    from scipy.special import ndtri

    levels = max(pywt.dwtn_max_level(plane.shape, wavelet) - 3, 1)
    coeffs = pywt.wavedecn(plane, wavelet=wavelet, level=levels)
    details = coeffs[1:]
    if sigma is None:
        finest = details[-1]["dd"]
        finest = finest[np.nonzero(finest)]
        if finest.size == 0:
            return plane.copy()
        sigma = np.median(np.abs(finest)) / ndtri(0.75)
    if not sigma > 0:
        return plane.copy()
    var = sigma**2
    eps = np.finfo(plane.dtype).eps
    shrunk = []
    for level in details:
        out = {}
        for key, band in level.items():
            thresh = var / np.sqrt(max(np.mean(band * band) - var, eps))
            # a threshold that underflowed to 0 means no shrinkage (pywt's soft gives 0/0 then)
            out[key] = pywt.threshold(band, value=thresh, mode=mode) if thresh > 0 else band
        shrunk.append(out)
    rec = pywt.waverecn([coeffs[0]] + shrunk, wavelet)
    return rec[: plane.shape[0], : plane.shape[1]].astype(plane.dtype)


#: Orthogonal wavelets (thresholding assumes an orthogonal transform).
Wavelet = Literal[
    "db1", "db2", "db3", "db4", "db5", "db6", "db7", "db8", "haar",
    "sym2", "sym3", "sym4", "sym5", "sym6", "sym7", "sym8",
    "coif1", "coif2", "coif3", "coif4", "coif5",
]


@operation("enhance.wavelet_denoise", title="Wavelet denoise", menu="Filters/Denoise")
def wavelet_denoise(
    image: Image,
    *,
    wavelet: Wavelet = "db1",
    mode: Literal["soft", "hard"] = "soft",
    sigma: Annotated[float, Range(0.0, 1.0, step=0.005)] | None = None,
    progress: Progress | None = None,
) -> Image:
    """Wavelet shrinkage denoising (BayesShrink thresholds on the detail coefficients).

    Equals ``skimage.restoration.denoise_wavelet(x, sigma, wavelet, mode,
    method="BayesShrink", channel_axis=-1)`` on the image ``x`` as float32 in [0, 1] (each
    colour channel separately, no YCbCr conversion, three levels fewer than the maximum),
    clipped and rounded back to the input dtype; unlike it, a zero noise level (``sigma=0``,
    or an estimate of 0 on a plane without fine diagonal detail) returns the plane unchanged
    instead of NaN. Alpha is kept.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image.
    wavelet : str
        Orthogonal PyWavelets wavelet.
    mode : {"soft", "hard"}
        Thresholding: soft shrinks every coefficient, hard zeroes the small ones.
    sigma : float or None
        Noise standard deviation as a fraction of the full range (0.1 = 25.5 grey levels in
        8 bits); None estimates it per channel from the finest diagonal details.
    progress : Progress, optional
        Progress and cancellation token.

    Returns
    -------
    ndarray
        Denoised image, same shape and dtype.
    """
    import pywt

    image = check_image(image)
    if mode not in ("soft", "hard"):
        raise ValueError(f"mode must be 'soft' or 'hard'; got {mode!r}")
    try:
        filt = pywt.Wavelet(wavelet)
    except ValueError:
        raise ValueError(f"wavelet must be a PyWavelets wavelet name; got {wavelet!r}") from None
    if not filt.orthogonal:
        raise ValueError(f"wavelet must be orthogonal; got {wavelet!r}")
    if pywt.dwtn_max_level(image.shape[:2], filt) < 1:
        raise ValueError(
            f"image {image.shape[:2]} is too small for wavelet {wavelet}: both sides need at "
            f"least {filt.dec_len - 1} pixels"
        )
    progress = token(progress)
    colour, alpha = split_alpha(image)
    f = as_unit(colour)
    planes = [f] if f.ndim == 2 else [f[..., c] for c in range(f.shape[2])]
    results = []
    for i, plane in enumerate(planes):
        progress(i / len(planes), "Wavelet denoise")
        results.append(_wavelet_shrink(plane, wavelet, mode, sigma))
    progress(1.0, "Wavelet denoise")
    out = results[0] if f.ndim == 2 else np.stack(results, axis=-1)
    return join_alpha(from_unit(out, image.dtype), alpha)
