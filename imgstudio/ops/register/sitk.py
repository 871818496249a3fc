"""Intensity-based registration with SimpleITK's ImageRegistrationMethod."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

import numpy as np

from imgstudio.core.progress import Cancelled, Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import Image, Range, Registered
from imgstudio.ops._pixels import grey_unit, token
from imgstudio.ops.register._common import (
    NOT_REGISTERED,
    check_pair,
    invert_matrix,
    warp_to_fixed,
)

#: Multi-resolution schedule: shrink factors and the matching Gaussian sigmas (pixels).
SHRINK_FACTORS = (4, 2, 1)
SMOOTHING_SIGMAS = (2.0, 1.0, 0.0)
#: A coarse level is used only while the shrunk image keeps at least this many pixels a side.
MIN_LEVEL_SIZE = 32
#: Regular-step gradient descent stops when its step falls below this length (pixels).
MIN_STEP = 1e-3


@dataclass(frozen=True, eq=False)
class SitkRegistered(Registered):
    """A :class:`Registered` result with the optimiser's trace.

    ``metric_values`` holds the metric after every optimiser iteration, all resolution levels
    in order (lower is better for every metric SimpleITK minimises); ``stop_condition`` is the
    optimiser's own description of why the last level stopped.
    """

    metric_values: tuple[float, ...] = ()
    stop_condition: str = ""


def _levels(fixed: np.ndarray, moving: np.ndarray) -> tuple[list[int], list[float]]:
    """The shrink factors and sigmas of the schedule that keep each level large enough."""
    side = min(*fixed.shape[:2], *moving.shape[:2])
    pairs = [(f, s) for f, s in zip(SHRINK_FACTORS, SMOOTHING_SIGMAS, strict=True)
             if f == 1 or side // f >= MIN_LEVEL_SIZE]
    return [f for f, _ in pairs], [s for _, s in pairs]


def _initial_transform(sitk, fixed_img, moving_img, transform: str, initializer: str):
    mode = (sitk.CenteredTransformInitializerFilter.GEOMETRY if initializer == "geometry"
            else sitk.CenteredTransformInitializerFilter.MOMENTS)
    base = {
        "translation": sitk.Euler2DTransform,
        "rigid": sitk.Euler2DTransform,
        "similarity": sitk.Similarity2DTransform,
        "affine": lambda: sitk.AffineTransform(2),
    }[transform]()
    try:
        init = sitk.CenteredTransformInitializer(fixed_img, moving_img, base, mode)
    except RuntimeError as exc:
        raise ValueError(f"initializer={initializer!r} failed: {_sitk_message(exc)}") from None
    if transform == "translation":
        # An Euler2D transform with angle 0 is the translation by its translation vector.
        return sitk.TranslationTransform(2, sitk.Euler2DTransform(init).GetTranslation())
    return init


def _sitk_message(exc: BaseException) -> str:
    """The useful part of a SimpleITK/ITK exception text (its last ``ERROR:`` line)."""
    import re

    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    for line in reversed(lines):
        if "ERROR:" in line:
            text = line.split("ERROR:", 1)[1].strip()
            return re.sub(r"^\w+\(0x[0-9a-fA-F]+\):\s*", "", text)
    return lines[-1] if lines else type(exc).__name__


def _affine_of(transform, shape: tuple[int, ...]) -> np.ndarray:
    """The 3×3 matrix of an affine SimpleITK transform, fitted on the grid's corners."""
    rows, cols = shape[:2]
    pts = np.array([[0.0, 0.0], [cols - 1.0, 0.0], [0.0, rows - 1.0], [cols - 1.0, rows - 1.0]])
    pts = np.vstack([pts, pts.mean(axis=0)])
    mapped = np.array([transform.TransformPoint(tuple(float(v) for v in p)) for p in pts])
    design = np.column_stack([pts, np.ones(len(pts))])
    coef, *_ = np.linalg.lstsq(design, mapped, rcond=None)
    out = np.eye(3)
    out[:2] = coef.T
    return out


@operation("register.sitk", title="Register (SimpleITK)", menu="Image/Register")
def register_sitk(
    image: Image,
    fixed: Image,
    *,
    transform: Literal["translation", "rigid", "similarity", "affine"] = "similarity",
    metric: Literal["mattes", "correlation", "mean_squares"] = "mattes",
    bins: Annotated[int, Range(4, 256)] = 50,
    optimizer: Literal["gradient_descent", "regular_step", "lbfgsb"] = "regular_step",
    learning_rate: Annotated[float, Range(0.01, 100.0)] = 4.0,
    iterations: Annotated[int, Range(1, 5000)] = 300,
    sampling: Annotated[float, Range(0.01, 1.0)] = 1.0,
    initializer: Literal["geometry", "moments"] = "geometry",
    progress: Progress | None = None,
) -> SitkRegistered:
    """Align the image onto the fixed image by optimising an intensity metric (SimpleITK).

    SimpleITK's ``ImageRegistrationMethod`` runs a three-level pyramid (shrink factors 4, 2, 1
    with Gaussian sigmas 2, 1, 0 pixels; coarse levels are skipped when they would be smaller
    than 32 pixels) from a centred initial transform (``CenteredTransformInitializer``), with
    optimiser scales estimated from physical shifts and linear interpolation. The metric sees
    grey images in [0, 1] (RGB is converted with ITU-R 601 luma weights, alpha is ignored);
    the resampled output keeps every channel of the moving image.

    With Mattes mutual information the images may come from different modalities (an
    intensity-inverted copy registers as well as the original). The defaults recover a
    rotation of 5–15°, a scale of 0.9–1.1 and a shift of 20 pixels on a 256 × 256 image to a
    small fraction of a pixel (see the tests).

    Parameters
    ----------
    image : (H, W[, C]) ndarray
        The moving image.
    fixed : (H', W'[, C']) ndarray
        The fixed (reference) image; the result is resampled onto its grid.
    transform : str
        ``translation`` (2 parameters), ``rigid`` (rotation + shift), ``similarity``
        (rotation, isotropic scale, shift) or ``affine`` (6 parameters).
    metric : str
        ``mattes`` (Mattes mutual information: any monotonic or multi-modal intensity
        relation), ``correlation`` (squared normalised cross-correlation: a linear relation of either
        sign) or
        ``mean_squares`` (same intensities).
    bins : int
        Histogram bins of the Mattes metric (ignored by the others).
    optimizer : str
        ``regular_step`` (regular-step gradient descent: the step starts at
        ``learning_rate`` pixels and halves whenever the gradient turns back; robust),
        ``gradient_descent`` (plain gradient descent; its rate is estimated once per level so
        that the first step moves no pixel more than ``learning_rate`` pixels; stops when the
        metric flattens, often early; less robust, use ``learning_rate`` ≈ 1) or ``lbfgsb`` (L-BFGS-B, quasi-Newton;
        ``learning_rate`` is not used and, as ITK's L-BFGS-B supports no parameter scales,
        it is best for ``translation``).
    learning_rate : float
        Initial step length in pixels (see ``optimizer``).
    iterations : int
        Maximum optimiser iterations per resolution level.
    sampling : float
        Fraction of the fixed image's pixels the metric samples (1.0 = all, deterministic;
        below 1, a fixed-seed random subset: faster, less robust).
    initializer : str
        Initial alignment of the image centres: ``geometry`` (the centres of the grids) or
        ``moments`` (the intensity centroids; only meaningful for same-modality images).

    Returns
    -------
    SitkRegistered
        ``image``: the moving image resampled onto the fixed grid (linear, same dtype and
        channels as the moving image, 0 outside it); ``matrix``: the 3×3 matrix mapping a
        moving-image point ``(x, y, 1)`` onto the fixed image; ``metric_values``: the metric
        after each iteration; ``stop_condition``: why the optimiser stopped.

    Raises
    ------
    ValueError
        When SimpleITK cannot register the images (e.g. they do not overlap enough).
    """
    import SimpleITK as sitk

    check_pair(image, fixed, min_size=4)
    progress = token(progress)
    fixed_img = sitk.GetImageFromArray(grey_unit(fixed, np.float32))
    moving_img = sitk.GetImageFromArray(grey_unit(image, np.float32))

    reg = sitk.ImageRegistrationMethod()
    if metric == "mattes":
        reg.SetMetricAsMattesMutualInformation(numberOfHistogramBins=int(bins))
    elif metric == "correlation":
        reg.SetMetricAsCorrelation()
    else:
        reg.SetMetricAsMeanSquares()
    if sampling >= 1.0:
        reg.SetMetricSamplingStrategy(reg.NONE)
    else:
        reg.SetMetricSamplingStrategy(reg.RANDOM)
        reg.SetMetricSamplingPercentage(float(sampling), 1)  # fixed seed: reproducible
    reg.SetInterpolator(sitk.sitkLinear)

    if optimizer == "regular_step":
        reg.SetOptimizerAsRegularStepGradientDescent(
            learningRate=float(learning_rate), minStep=min(MIN_STEP, learning_rate / 2),
            numberOfIterations=int(iterations), relaxationFactor=0.5,
            gradientMagnitudeTolerance=1e-8,
        )
    elif optimizer == "gradient_descent":
        reg.SetOptimizerAsGradientDescent(
            learningRate=float(learning_rate), numberOfIterations=int(iterations),
            convergenceMinimumValue=1e-6, convergenceWindowSize=10,
            estimateLearningRate=reg.Once, maximumStepSizeInPhysicalUnits=float(learning_rate),
        )
    else:
        reg.SetOptimizerAsLBFGSB(
            gradientConvergenceTolerance=1e-5, numberOfIterations=int(iterations),
            maximumNumberOfCorrections=5, maximumNumberOfFunctionEvaluations=4 * int(iterations),
            costFunctionConvergenceFactor=1e7,
        )
    if optimizer != "lbfgsb":  # ITK's L-BFGS-B ignores scales (and warns on stderr)
        reg.SetOptimizerScalesFromPhysicalShift()

    shrink, sigmas = _levels(fixed, image)
    reg.SetShrinkFactorsPerLevel(shrink)
    reg.SetSmoothingSigmasPerLevel(sigmas)
    reg.SmoothingSigmasAreSpecifiedInPhysicalUnitsOn()  # spacing is 1: physical = pixels
    reg.SetInitialTransform(_initial_transform(sitk, fixed_img, moving_img, transform, initializer),
                            inPlace=False)

    values: list[float] = []
    valid_points = -1
    cancelled = False
    n_levels = len(shrink)

    def on_iteration() -> None:
        # Raising inside a SimpleITK command only surfaces as a RuntimeError (with a traceback
        # on stderr), so cancellation sets a flag and asks the optimiser to stop; each later
        # level then stops at its first iteration.
        nonlocal cancelled, valid_points
        values.append(float(reg.GetMetricValue()))
        valid_points = reg.GetMetricNumberOfValidPoints()
        if cancelled:
            reg.StopRegistration()
            return
        level = reg.GetCurrentLevel()
        done = min(reg.GetOptimizerIteration() / max(iterations, 1), 1.0)
        try:
            progress((level + done) / n_levels,
                     f"level {level + 1}/{n_levels}, iteration {reg.GetOptimizerIteration()}, metric {values[-1]:.9g}")
        except Cancelled:
            cancelled = True
            reg.StopRegistration()

    reg.AddCommand(sitk.sitkIterationEvent, on_iteration)
    progress(0.0, "registering")
    try:
        final = reg.Execute(fixed_img, moving_img)
    except RuntimeError as exc:
        if cancelled:
            raise Cancelled("cancelled by the user") from None
        message = _sitk_message(exc)
        if "outside moving image buffer" in message:
            message += " (try a smaller learning_rate or another initializer)"
        raise ValueError(f"{NOT_REGISTERED}: {message}") from None
    if cancelled:
        raise Cancelled("cancelled by the user")
    if valid_points == 0:
        raise ValueError(f"{NOT_REGISTERED}: the optimiser moved the image "
                         "off the fixed image (no overlap left); try a smaller learning_rate")

    fixed_to_moving = _affine_of(final, fixed.shape)
    matrix = invert_matrix(fixed_to_moving, "register.sitk")
    out = warp_to_fixed(image, fixed_to_moving, fixed.shape)
    progress(1.0, "done")
    return SitkRegistered(
        image=out, matrix=matrix, metric_values=tuple(values),
        stop_condition=reg.GetOptimizerStopConditionDescription(),
    )
