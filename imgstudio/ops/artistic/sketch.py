"""Sketch effects: colour dodge, DoG, XDoG, anisotropic lines and OpenCV's pencil sketch.

The sketches return a grey ``(H, W)`` image in the input's dtype (white paper, dark lines);
their grey is the BT.601 luma (as ``basic.grayscale``) and alpha is ignored.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np

from imgstudio.core.progress import Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import Image, Range, check_image, dtype_max
from imgstudio.ops._params import Kappa
from imgstudio.ops._pixels import (
    from_uint8,
    from_unit_cv,
    grey_cv,
    grey_unit_cv,
    join_alpha,
    split_alpha,
    to_uint8,
    token,
)
from imgstudio.ops.artistic._common import (
    Niter,
    SigmaR,
    SigmaS,
    check_odd,
    edge_strength,
    gaussian,
    perona_malik,
)

#: The two Gaussians of the DoG sketches: the narrow one's sigma, the wide one's ratio to it.
_DOG_SIGMA = Annotated[float, Range(0.1, 20.0)]
_DOG_K = Annotated[float, Range(1.0, 10.0)]


@operation("artistic.sketch_dodge", title="Sketch (colour dodge)", menu="Filters/Artistic")
def sketch_dodge(
    image: Image,
    *,
    ksize: Annotated[int, Range(1, 201, step=2)] = 21,
) -> Image:
    """Pencil sketch by colour-dodging the grey image with its blurred negative.

    ``out = clip(grey / (max − blur(max − grey)) · 256/255 · max)`` with ``max`` = 255, 65535
    or 1.0 — for 8-bit images exactly the classic ``cv2.divide(grey, 255 − blur(255 − grey),
    scale=256)``. ``blur`` is ``cv2.GaussianBlur`` with a ksize × ksize kernel (sigma from
    ksize). Where the denominator is 0 the result is white, or black where grey is 0 too.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image (grey from BT.601 luma; alpha is ignored).
    ksize : int
        Odd size of the Gaussian kernel; larger gives softer, thicker strokes.

    Returns
    -------
    (H, W) ndarray
        Grey sketch, same dtype as ``image``.
    """
    import cv2

    image = check_image(image)
    check_odd("ksize", ksize)
    top = dtype_max(image.dtype)
    grey = grey_cv(image)
    if image.dtype.kind == "f":
        blurred = cv2.GaussianBlur(np.float32(1.0) - grey, (ksize, ksize), 0)
        denominator = np.float32(1.0) - blurred
        smallest = np.finfo(np.float32).tiny
    else:
        denominator = cv2.bitwise_not(cv2.GaussianBlur(cv2.bitwise_not(grey), (ksize, ksize), 0))
        smallest = 1
    # A zero denominator becomes the smallest positive value, so x / 0 saturates to white for
    # x > 0 and stays black for x = 0 (OpenCV alone gives 0 for integers, inf/nan for floats).
    # cv2.max of the single-channel denominator with a scalar: 10× faster than np.maximum here
    cv2.max(denominator, float(smallest), dst=denominator)
    out = cv2.divide(grey, denominator, scale=top * 256.0 / 255.0)
    if image.dtype.kind == "f":
        np.clip(out, 0.0, 1.0, out=out)
    return out


@operation("artistic.sketch_dog", title="Sketch (difference of Gaussians)", menu="Filters/Artistic")
def sketch_dog(
    image: Image,
    *,
    sigma: _DOG_SIGMA = 0.5,
    k: _DOG_K = 1.6,
    threshold: Annotated[float, Range(0.0, 1.0, step=0.001)] = 0.01,
) -> Image:
    """Black lines where the difference of Gaussians G(σ) − G(k·σ) of the grey is below −threshold.

    ``D = G(sigma) − G(k·sigma)`` on the grey image in [0, 1] (Gaussian as
    ``scipy.ndimage.gaussian_filter``: mode 'reflect', truncated at 4 σ). ``D`` is negative on
    the dark side of an edge; pixels with ``D < −threshold`` are ink (0), the rest paper (max).

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image (grey from BT.601 luma; alpha is ignored).
    sigma : float
        Standard deviation of the narrow Gaussian, in pixels.
    k : float
        Ratio of the wide Gaussian's sigma to ``sigma``.
    threshold : float
        How much darker than its surround (fraction of full range) a pixel must be to be ink.

    Returns
    -------
    (H, W) ndarray
        Binary sketch (0 or max), same dtype as ``image``.
    """
    image = check_image(image)
    grey = grey_unit_cv(image)
    dog = gaussian(grey, sigma) - gaussian(grey, k * sigma)
    out = np.full(grey.shape, dtype_max(image.dtype), image.dtype)
    out[dog < np.float32(-threshold)] = 0
    return out


@operation("artistic.sketch_xdog", title="Sketch (XDoG)", menu="Filters/Artistic")
def sketch_xdog(
    image: Image,
    *,
    sigma: _DOG_SIGMA = 0.8,
    k: _DOG_K = 1.6,
    gamma: Annotated[float, Range(0.0, 1.0, step=0.01)] = 0.98,
    epsilon: Annotated[float, Range(-1.0, 1.0, step=0.01)] = -0.1,
    phi: Annotated[float, Range(0.0, 1000.0)] = 200.0,
    binarize: bool = False,
) -> Image:
    """Extended difference of Gaussians (XDoG, Winnemöller 2012): soft ink-like lines.

    On the grey image in [0, 1]: ``D = G(sigma) − gamma·G(k·sigma)`` (Gaussian as
    ``scipy.ndimage.gaussian_filter``: mode 'reflect', truncated at 4 σ); ``T = 1`` where
    ``D < epsilon``, else ``1 + tanh(phi·D)``; ``T`` is rescaled to [0, 1] by its minimum and
    maximum (a constant ``T`` gives white). With ``binarize`` the result is 1 where
    ``T >= skimage.filters.threshold_otsu(T)``, else 0. Finally [0, 1] maps to the dtype's range.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image (grey from BT.601 luma; alpha is ignored).
    sigma : float
        Standard deviation of the narrow Gaussian, in pixels.
    k : float
        Ratio of the wide Gaussian's sigma to ``sigma``.
    gamma : float
        Weight of the wide Gaussian.
    epsilon : float
        Threshold on ``D`` below which the tone is flat (1 before rescaling).
    phi : float
        Steepness of the tanh soft threshold.
    binarize : bool
        Threshold the result with Otsu's method into black and white.

    Returns
    -------
    (H, W) ndarray
        Grey sketch, same dtype as ``image``.
    """
    import cv2

    image = check_image(image)
    grey = grey_unit_cv(image)
    diff = gaussian(grey, sigma)
    diff -= np.float32(gamma) * gaussian(grey, k * sigma)
    # 1 + tanh(x) = 2 / (1 + exp(-2x)): OpenCV's vectorised exp is several times faster than
    # numpy's tanh; exp overflowing to inf gives the correct limit 0
    tone = cv2.exp(diff * np.float32(-2.0 * phi))
    tone += np.float32(1.0)
    tone = np.float32(2.0) / tone
    tone[diff < np.float32(epsilon)] = 1.0
    lo, hi = float(tone.min()), float(tone.max())
    if hi <= lo:
        return np.full(grey.shape, dtype_max(image.dtype), image.dtype)
    tone -= np.float32(lo)
    tone *= np.float32(1.0 / (hi - lo))
    if binarize:
        from skimage.filters import threshold_otsu

        tone = (tone >= threshold_otsu(tone)).astype(np.float32)
    return from_unit_cv(tone, image.dtype)


@operation("artistic.sketch_anisotropic", title="Sketch (anisotropic)", menu="Filters/Artistic")
def sketch_anisotropic(
    image: Image,
    *,
    kappa: Kappa = 20.0,
    niter: Niter = 20,
    gamma: Annotated[float, Range(0.01, 0.125, step=0.005)] = 0.1,
    progress: Progress | None = None,
) -> Image:
    """Line drawing of the edges that survive Perona–Malik diffusion of the grey image.

    1. Perona–Malik diffusion of the 8-bit BT.601 grey (``cv2.ximgproc.anisotropicDiffusion``):
       ``niter`` steps of size ``gamma`` over 8 neighbours with conduction
       ``exp(−(Δ/kappa)²)``, Δ the grey difference in 8-bit levels — texture and noise below
       ``kappa`` fade while stronger edges stay sharp;
    2. edge emphasis: ink ``= min(1, e / kappa)`` with ``e = |Sobel| / 4`` of the diffused grey
       (the step height across an edge, in 8-bit levels); the sketch is ``1 − ink`` (white
       paper, black where an edge reaches ``kappa``).

    uint16 and float32 images are diffused at 8 bits. Long-running: reports progress, can be
    cancelled.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image (alpha is ignored).
    kappa : float
        Edge threshold in 8-bit grey levels, for the diffusion and for full-black lines.
    niter : int
        Number of diffusion steps.
    gamma : float
        Diffusion step size (at most 1/8 for the 8-neighbour scheme to stay stable).

    Returns
    -------
    (H, W) ndarray
        Grey sketch, same dtype as ``image``.
    """
    image = check_image(image)
    progress = token(progress)
    grey = to_uint8(grey_cv(image) if image.dtype == np.uint8 else grey_unit_cv(image))
    smooth = perona_malik(grey, kappa=kappa, niter=niter, gamma=gamma,
                          progress=progress.sub(0.0, 0.95))
    progress(0.95, "edges")
    ink = edge_strength(smooth)
    ink *= np.float32(1.0 / kappa)
    paper = np.float32(1.0) - np.minimum(ink, np.float32(1.0))
    progress(1.0, "sketch")
    return from_unit_cv(paper, image.dtype)


@operation("artistic.pencil", title="Pencil sketch", menu="Filters/Artistic")
def pencil(
    image: Image,
    *,
    sigma_s: SigmaS = 60.0,
    sigma_r: SigmaR = 0.07,
    shade: Annotated[float, Range(0.0, 0.1, step=0.005)] = 0.05,
    color: bool = False,
    progress: Progress | None = None,
) -> Image:
    """Pencil drawing with OpenCV's domain-transform pencil sketch (cv2.pencilSketch).

    Runs ``cv2.pencilSketch(bgr, sigma_s, sigma_r, shade_factor=shade)`` on the 8-bit image
    (grey input is replicated into three channels) and returns its grey sketch, or with
    ``color`` its colour sketch. uint16 and float32 images are rounded to 8 bits and the result
    scaled back (×257, /255). Slow on large images (several seconds at 12 MP); the single OpenCV
    call cannot be interrupted once started.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image.
    sigma_s : float
        Spatial extent of the smoothing, in pixels.
    sigma_r : float
        Range (edge) sensitivity: smaller keeps more edges.
    shade : float
        Darkness of the pencil strokes (OpenCV's shade_factor; 0 gives a black page).
    color : bool
        Return the colour sketch instead of the grey one.

    Returns
    -------
    ndarray
        ``(H, W)`` grey sketch, or with ``color`` an image of ``image``'s shape (grey input
        stays grey; alpha is carried through). Same dtype as ``image``.
    """
    import cv2

    image = check_image(image)
    progress = token(progress)
    colour, alpha = split_alpha(image)
    base = to_uint8(colour)
    bgr = cv2.cvtColor(base, cv2.COLOR_GRAY2BGR if base.ndim == 2 else cv2.COLOR_RGB2BGR)
    progress(0.05, "pencil sketch")
    grey_sketch, colour_sketch = cv2.pencilSketch(
        bgr, sigma_s=sigma_s, sigma_r=sigma_r, shade_factor=shade
    )
    progress(0.95, "pencil sketch")
    if not color:
        out = from_uint8(grey_sketch, image.dtype)
    else:
        code = cv2.COLOR_BGR2GRAY if base.ndim == 2 else cv2.COLOR_BGR2RGB
        out = join_alpha(from_uint8(cv2.cvtColor(colour_sketch, code), image.dtype), alpha)
    progress(1.0, "pencil sketch")
    return out
