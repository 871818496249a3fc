"""Degradation (blur, noise) and deconvolution: Wiener, unsupervised Wiener, pseudo-inverse, CLS.

The deconvolutions work in the Fourier domain, whose implicit boundary is periodic. A real
photograph is not periodic, and the jump between its opposite borders rings through the whole
result, so each colour plane is first extended by mirror symmetry to twice its size (numpy
``"symmetric"`` padding to the bottom and right), deconvolved, and cropped back. The extended
plane is periodic without jumps; for a PSF symmetric about both axes (gaussian, box of odd
size, motion at 0° or 90°) a plane blurred by ``restore.blur`` (mirror boundary) is then exactly
a circular convolution of the mirrored sharp plane, so the Fourier model holds exactly and only
noise and the frequencies the PSF erases limit the restoration. The extension costs four times
the work and memory of the plane (about 2.5 GB at the peak for a 12-megapixel plane).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

import numpy as np

from imgstudio.core.progress import Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import Image, Range, check_image
from imgstudio.ops._params import Seed
from imgstudio.ops._pixels import colour_part, from_unit_like, token
from imgstudio.ops.restore._common import LAPLACIAN, PSF, fitting_psf, make_psf, per_channel

_SIZE = Annotated[int, Range(1, 99)]
_ANGLE = Annotated[float, Range(-180.0, 180.0)]


def _mirror(plane: np.ndarray) -> np.ndarray:
    """``plane`` extended by mirror symmetry to ``(2H, 2W)``: periodic without jumps."""
    h, w = plane.shape
    return np.pad(plane, ((0, h), (0, w)), mode="symmetric")


def _otf(kernel: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Real-FFT transfer function of ``kernel`` centred at ``kernel.shape // 2`` on ``shape``.

    The same convention as ``skimage.restoration.uft.ir2tf`` and ``scipy.ndimage.convolve``.
    """
    padded = np.zeros(shape)
    kh, kw = kernel.shape
    padded[:kh, :kw] = kernel
    padded = np.roll(padded, (-(kh // 2), -(kw // 2)), axis=(0, 1))
    return np.fft.rfft2(padded)


#: Restores one mirror-extended plane: ``(plane, psf kernel, progress) -> plane``.
_Restore = Callable[[np.ndarray, np.ndarray, Progress], np.ndarray]


def _deconvolve(image: np.ndarray, psf: str, size: int, angle: float, restore: _Restore,
                progress: Progress | None, message: str) -> np.ndarray:
    """Deconvolve each colour channel of ``image`` (the [0, 1] scale) with the PSF of
    :func:`fitting_psf`: ``restore`` works on the mirror-extended channel (see the module
    notes), whose restored top-left quarter is the result. Alpha is carried through."""
    image = check_image(image)
    kernel = fitting_psf(image, psf, size, angle)

    def channel(plane: np.ndarray, sub: Progress) -> np.ndarray:
        h, w = plane.shape
        return restore(_mirror(plane), kernel, sub)[:h, :w]

    return per_channel(image, channel, progress, message)


def _fourier_filter(gain: Callable[[np.ndarray, tuple[int, int]], np.ndarray]) -> _Restore:
    """The ``restore`` of :func:`_deconvolve` that multiplies the spectrum of a plane by
    ``gain(H, shape)``, ``H`` being the PSF's transfer function on the plane's ``shape``."""

    def restore(big: np.ndarray, kernel: np.ndarray, _progress: Progress) -> np.ndarray:
        spectrum = np.fft.rfft2(big) * gain(_otf(kernel, big.shape), big.shape)
        return np.fft.irfft2(spectrum, s=big.shape)

    return restore


# -- degradation ------------------------------------------------------------------------------


@operation("restore.blur", title="Blur (PSF)", menu="Filters/Restore")
def blur(
    image: Image,
    *,
    psf: PSF = "gaussian",
    size: _SIZE = 9,
    angle: _ANGLE = 0.0,
    progress: Progress | None = None,
) -> Image:
    """Convolve with a point spread function (Gaussian, box or linear motion) to make test cases.

    Each colour channel is convolved with the PSF of :func:`make_psf` (mirror boundary, like
    ``scipy.ndimage.convolve(mode="reflect")``); alpha is carried through.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image.
    psf : {"gaussian", "box", "motion"}
        Shape of the PSF: a sampled Gaussian of σ = 0.3·((size − 1)/2 − 1) + 0.8 (OpenCV's
        rule for a ``size`` kernel), a uniform square, or a straight motion segment of length
        ``size`` pixels.
    size : int
        Side of the PSF in pixels.
    angle : float
        Direction of the motion segment in degrees, counter-clockwise from the horizontal
        (only used by ``motion``).

    Returns
    -------
    ndarray
        The blurred image, same shape and dtype as ``image``.
    """
    import cv2

    image = check_image(image)
    kernel = make_psf(psf, size, angle)
    # cv2.filter2D correlates; the flipped kernel with this anchor is scipy's convolution.
    flipped = kernel[::-1, ::-1]
    anchor = (size - 1 - size // 2,) * 2

    def convolve(plane: np.ndarray, _progress: Progress) -> np.ndarray:
        return cv2.filter2D(plane, cv2.CV_64F, flipped, anchor=anchor,
                            borderType=cv2.BORDER_REFLECT)

    return per_channel(image, convolve, progress, "Blurring")


@operation("restore.add_noise", title="Add noise", menu="Filters/Restore")
def add_noise(
    image: Image,
    *,
    mode: Literal["gaussian", "s&p", "poisson", "speckle"] = "gaussian",
    amount: Annotated[float, Range(0.0, 1.0, step=0.01)] = 0.05,
    seed: Seed = 0,
    progress: Progress | None = None,
) -> Image:
    """Add random noise (Gaussian, salt & pepper, Poisson or speckle) with a fixed seed.

    Equals ``skimage.util.random_noise(image, mode, rng=seed, clip=True, ...)`` on the colour
    channels (all of them in one call), cast back to the input dtype (rounded for integers);
    alpha is carried through. The same seed gives the same output.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image.
    mode : {"gaussian", "s&p", "poisson", "speckle"}
        ``gaussian``: x + n; ``speckle``: x + x·n, with n normal of standard deviation
        ``amount`` (variance ``amount²``) on the [0, 1] scale. ``s&p``: a fraction ``amount``
        of the samples set to 0 or full scale. ``poisson``: Poisson noise whose level follows
        from the intensities (as in scikit-image); ``amount`` is not used.
    amount : float
        Noise level, see ``mode``.
    seed : int
        Seed of the random generator.

    Returns
    -------
    ndarray
        The noisy image, same shape and dtype as ``image``.
    """
    from skimage.util import random_noise

    image = check_image(image)
    progress = token(progress)
    progress(0.0, "Adding noise")
    colour = colour_part(image)
    if mode in ("gaussian", "speckle"):
        kwargs = {"var": amount**2}
    elif mode == "s&p":
        kwargs = {"amount": amount}
    else:
        kwargs = {}
    noisy = from_unit_like(random_noise(colour, mode=mode, rng=seed, clip=True, **kwargs), image)
    progress(1.0, "Adding noise")
    return noisy


# -- deconvolution ----------------------------------------------------------------------------


@operation("restore.wiener", title="Wiener deconvolution", menu="Filters/Restore")
def wiener(
    image: Image,
    *,
    psf: PSF = "box",
    size: _SIZE = 5,
    angle: _ANGLE = 0.0,
    balance: Annotated[float, Range(0.001, 100.0)] = 0.25,
    progress: Progress | None = None,
) -> Image:
    """Wiener–Hunt deconvolution with a known PSF (scikit-image's restoration.wiener).

    Each colour channel, on the [0, 1] scale and mirror-extended to twice its size (see the
    module notes), goes through ``skimage.restoration.wiener(plane, psf, balance)``; the result
    is cropped back and cast to the input dtype. Alpha is carried through.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Blurred image.
    psf : {"gaussian", "box", "motion"}
        PSF shape, as in ``restore.blur``.
    size : int
        Side of the PSF in pixels; at most the image's smaller side.
    angle : float
        Motion direction in degrees (``motion`` only).
    balance : float
        Regularisation: weight of the Laplacian prior against data fidelity; larger values
        give smoother, less noisy results.

    Returns
    -------
    ndarray
        The restored image, same shape and dtype as ``image``.
    """
    from skimage import restoration

    def restore(big: np.ndarray, kernel: np.ndarray, _progress: Progress) -> np.ndarray:
        return restoration.wiener(big, kernel, balance)

    return _deconvolve(image, psf, size, angle, restore, progress, "Wiener deconvolution")


@operation("restore.unsupervised_wiener", title="Unsupervised Wiener", menu="Filters/Restore")
def unsupervised_wiener(
    image: Image,
    *,
    psf: PSF = "box",
    size: _SIZE = 5,
    angle: _ANGLE = 0.0,
    seed: Seed = 0,
    progress: Progress | None = None,
) -> Image:
    """Wiener–Hunt deconvolution with noise and prior levels estimated by Gibbs sampling.

    Each colour channel, on the [0, 1] scale and mirror-extended to twice its size (see the
    module notes), goes through ``skimage.restoration.unsupervised_wiener(plane, psf,
    rng=seed)`` (the posterior mean; 30 to 200 iterations); the result is cropped back and cast
    to the input dtype. Alpha is carried through. The same seed gives the same output.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Blurred image.
    psf : {"gaussian", "box", "motion"}
        PSF shape, as in ``restore.blur``.
    size : int
        Side of the PSF in pixels; at most the image's smaller side.
    angle : float
        Motion direction in degrees (``motion`` only).
    seed : int
        Seed of the Gibbs sampler.

    Returns
    -------
    ndarray
        The restored image, same shape and dtype as ``image``.
    """
    from skimage import restoration

    max_iter = 200

    def restore(big: np.ndarray, kernel: np.ndarray, sub: Progress) -> np.ndarray:
        done = [0]

        def step(_sample: np.ndarray) -> None:  # called once per Gibbs iteration
            done[0] += 1
            sub(done[0] / max_iter, "Unsupervised Wiener (Gibbs sampling)")

        params = {"max_num_iter": max_iter, "callback": step}
        out, _chains = restoration.unsupervised_wiener(big, kernel, user_params=params, rng=seed)
        return out

    return _deconvolve(image, psf, size, angle, restore, progress, "Unsupervised Wiener")


@operation("restore.pseudo_inverse", title="Pseudo-inverse filter", menu="Filters/Restore")
def pseudo_inverse(
    image: Image,
    *,
    psf: PSF = "box",
    size: _SIZE = 4,
    angle: _ANGLE = 0.0,
    epsilon: Annotated[float, Range(1e-6, 1.0)] = 0.25,
    progress: Progress | None = None,
) -> Image:
    """Truncated inverse filter: divide the spectrum by H where abs(H) ≥ epsilon, zero elsewhere.

    ``F = G / H`` where ``|H| >= epsilon`` and ``F = 0`` elsewhere, with ``G`` the spectrum of
    each colour channel (on the [0, 1] scale, mirror-extended, see the module notes) and ``H``
    the transfer function of the PSF. Alpha is carried through.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Blurred image.
    psf : {"gaussian", "box", "motion"}
        PSF shape, as in ``restore.blur``.
    size : int
        Side of the PSF in pixels; at most the image's smaller side.
    angle : float
        Motion direction in degrees (``motion`` only).
    epsilon : float
        Frequencies where the PSF's gain ``|H|`` (at most 1) is below this are dropped;
        smaller values restore more detail and amplify more noise.

    Returns
    -------
    ndarray
        The restored image, same shape and dtype as ``image``.
    """

    def inverse(h: np.ndarray, _shape: tuple[int, int]) -> np.ndarray:
        keep = np.abs(h) >= epsilon
        return np.where(keep, 1.0 / np.where(keep, h, 1.0), 0.0)

    return _deconvolve(image, psf, size, angle, _fourier_filter(inverse), progress,
                       "Pseudo-inverse filter")


@operation("restore.cls", title="Constrained least squares", menu="Filters/Restore")
def cls(
    image: Image,
    *,
    psf: PSF = "box",
    size: _SIZE = 4,
    angle: _ANGLE = 0.0,
    lam: Annotated[float, Range(1e-6, 1000.0)] = 2.0,
    progress: Progress | None = None,
) -> Image:
    """Constrained least-squares filter conj(H) / (abs(H)² + lam·abs(C)²), C a Laplacian.

    ``C`` is the transfer function of the Laplacian ``[[0, ¼, 0], [¼, −1, ¼], [0, ¼, 0]]``
    (so ``lam`` = 16 × scikit-image's Wiener ``balance`` with its default regulariser) and
    ``H`` that of the PSF. Applied to each colour channel on the [0, 1] scale, mirror-extended
    (see the module notes). Alpha is carried through.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Blurred image.
    psf : {"gaussian", "box", "motion"}
        PSF shape, as in ``restore.blur``.
    size : int
        Side of the PSF in pixels; at most the image's smaller side.
    angle : float
        Motion direction in degrees (``motion`` only).
    lam : float
        Weight of the smoothness constraint; larger values give smoother results.

    Returns
    -------
    ndarray
        The restored image, same shape and dtype as ``image``.
    """

    def constrained(h: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
        c = _otf(LAPLACIAN, shape)
        return np.conj(h) / (np.abs(h) ** 2 + lam * np.abs(c) ** 2)

    return _deconvolve(image, psf, size, angle, _fourier_filter(constrained), progress,
                       "Constrained least squares")


__all__ = ["add_noise", "blur", "cls", "pseudo_inverse", "unsupervised_wiener", "wiener"]
