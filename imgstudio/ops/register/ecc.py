"""Registration by maximising the enhanced correlation coefficient (OpenCV's ECC)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

import numpy as np

from imgstudio.core.progress import Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import Image, Range, Registered
from imgstudio.ops._pixels import grey_unit, token
from imgstudio.ops.register._common import (
    NOT_REGISTERED,
    check_pair,
    invert_matrix,
    warp_to_fixed,
)

#: OpenCV is called for this many iterations at a time (progress and cancel in between).
CHUNK = 25
#: A final correlation below this means ECC settled on an unrelated alignment (unrelated
#: natural images reach ~0.13; an aligned noisy copy ~0.96).
MIN_CORRELATION = 0.3


@dataclass(frozen=True, eq=False)
class EccRegistered(Registered):
    """A :class:`Registered` result with the final enhanced correlation coefficient."""

    correlation: float


def _ecc_error(exc: Exception, gauss_filt_size: int) -> ValueError:
    text = str(exc)
    if "convergence" in text or "uncorrelated" in text:
        return ValueError(
            f"{NOT_REGISTERED}: ECC did not converge: the images may be uncorrelated or not "
            "overlap enough (try a simpler motion, a larger gauss_filt_size or a rough "
            "pre-alignment)"
        )
    if "NaN encountered" in text:
        return ValueError(
            f"{NOT_REGISTERED}: ECC's correlation became undefined (NaN): the images may be "
            f"too small or too flat once smoothed with gauss_filt_size={gauss_filt_size} "
            "(try a smaller gauss_filt_size)"
        )
    return ValueError(f"{NOT_REGISTERED}: ECC failed: {text.strip().splitlines()[-1]}")


@operation("register.ecc", title="Register (ECC)", menu="Image/Register")
def register_ecc(
    image: Image,
    fixed: Image,
    *,
    motion: Literal["translation", "euclidean", "affine", "homography"] = "euclidean",
    iterations: Annotated[int, Range(1, 100_000)] = 5000,
    eps: Annotated[float, Range(1e-12, 1.0)] = 1e-6,
    gauss_filt_size: Annotated[int, Range(1, 31, step=2)] = 5,
    progress: Progress | None = None,
) -> EccRegistered:
    """Align the image onto the fixed image by maximising their correlation (cv2.findTransformECC).

    The enhanced correlation coefficient (Evangelidis & Psarakis, 2008) is invariant to
    brightness and contrast changes, so exposures may differ; it is a local optimiser started
    from the identity, so the images must already roughly overlap (shifts of a few percent of
    the image size, rotations up to ~15°). Grey images in [0, 1] are compared (RGB →
    ITU-R 601 luma, alpha ignored); the warp is applied to every channel of the image.

    Parameters
    ----------
    image : (H, W[, C]) ndarray
        The moving image.
    fixed : (H', W'[, C']) ndarray
        The fixed (template) image; the result is resampled onto its grid.
    motion : str
        ``translation``, ``euclidean`` (rotation + shift), ``affine`` or ``homography``.
    iterations : int
        Maximum number of ECC iterations.
    eps : float
        Stop when the correlation coefficient improves by less than this.
    gauss_filt_size : int
        Size (odd) of the Gaussian filter both images are smoothed with first; 1 = none.

    Notes
    -----
    OpenCV runs in chunks of :data:`CHUNK` iterations, each started from the previous warp,
    so that progress is reported and a cancel takes effect between chunks; the run stops when
    a chunk changes the correlation coefficient by less than ``eps`` or the iterations are
    spent.

    Returns
    -------
    EccRegistered
        ``image``: the moving image warped onto the fixed grid (linear, same dtype and
        channels, 0 outside it); ``matrix``: the 3×3 matrix mapping a moving-image point
        ``(x, y, 1)`` onto the fixed image; ``correlation``: the final correlation
        coefficient (1 = perfect).

    Raises
    ------
    ValueError
        When ECC does not converge or ends with a correlation below 0.3 (the images are
        unrelated or do not overlap enough).
    """
    import cv2

    check_pair(image, fixed, min_size=4)
    if gauss_filt_size % 2 == 0:
        raise ValueError(f"gauss_filt_size must be odd; got {gauss_filt_size}")
    template = grey_unit(fixed, np.float32)
    moving = grey_unit(image, np.float32)
    motion_type = {
        "translation": cv2.MOTION_TRANSLATION,
        "euclidean": cv2.MOTION_EUCLIDEAN,
        "affine": cv2.MOTION_AFFINE,
        "homography": cv2.MOTION_HOMOGRAPHY,
    }[motion]
    warp = np.eye(3 if motion == "homography" else 2, 3, dtype=np.float32)
    progress = token(progress)
    done, rho, last_rho = 0, 0.0, None
    while done < iterations:
        progress.check()
        chunk = min(CHUNK, iterations - done)
        criteria = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, chunk, float(eps))
        try:
            # ECC finds W with image(W(x)) ≈ fixed(x): W maps fixed points into the moving image.
            rho, warp = cv2.findTransformECC(template, moving, warp, motion_type, criteria, None,
                                             int(gauss_filt_size))
        except cv2.error as exc:
            raise _ecc_error(exc, gauss_filt_size) from None
        done += chunk
        progress(done / iterations, f"ECC iteration {done}, correlation {rho:.4f}")
        if last_rho is not None and abs(rho - last_rho) < eps:
            break
        last_rho = rho
    fixed_to_moving = np.eye(3)
    fixed_to_moving[: warp.shape[0]] = warp
    if not np.all(np.isfinite(fixed_to_moving)):
        raise ValueError(f"{NOT_REGISTERED}: ECC did not converge: the estimated warp is not "
                         "finite")
    if rho < MIN_CORRELATION:
        raise ValueError(
            f"{NOT_REGISTERED}: ECC did not converge to a match: final correlation {rho:.3f} < {MIN_CORRELATION} "
            "(the images may be unrelated or need a rough pre-alignment)"
        )
    matrix = invert_matrix(fixed_to_moving, "register.ecc")
    progress(1.0, "done")
    return EccRegistered(image=warp_to_fixed(image, fixed_to_moving, fixed.shape), matrix=matrix,
                         correlation=float(rho))
