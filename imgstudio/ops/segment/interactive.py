"""Seeded segmentation: random walker, GrabCut and region growing from clicked points."""

from __future__ import annotations

import warnings
from typing import Annotated, Literal

import numpy as np

from imgstudio.core.editor import Editor, Seeds
from imgstudio.core.progress import Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import Image, Labels, Points, Range, check_image, check_points
from imgstudio.ops._params import Level8
from imgstudio.ops._pixels import as_labels, colour_part, grey_8bit, to_uint8, token
from imgstudio.ops._sitk import run_sitk
from imgstudio.ops.segment._common import layer, seed_classes

#: Largest image for the direct solver (about 2 GB of LU factors at this size).
BF_MAX_PIXELS = 1_000_000
# skimage warns instead of failing when CG stops early or probabilities overshoot [0, 1]
# (the labels are still the argmax of the probabilities), and about a missing UMFPACK.
_RW_WARNINGS = ("Conjugate gradient", "The probability range", '"cg" mode may be slow')


#: Shown when the op is chosen: what to paint.
RANDOM_WALKER_HINT = ('Random walker: paint seeds on a labels layer (New Labels Layer, Brush), label 1 on the object and 2 on the background (Label box in the toolbar); with Preview on, the result follows each stroke')
GRABCUT_HINT = ('GrabCut: draw a rectangle, then Layer → Labels Layer from Selection (1 = probably object); paint 2 for sure background, 3 for sure object')


# An iterative solve on every pixel: previews run on the whole layer downscaled to about
# 40 000 pixels (about 0.1 s), so a stroke updates the result while painting.
@operation("segment.random_walker", title="Random walker", menu="Segment/Interactive",
           editor=Editor(preview_pixels=40_000))
def random_walker(
    image: Image,
    seeds: Annotated[Labels, Seeds(RANDOM_WALKER_HINT)],
    *,
    beta: Annotated[float, Range(0.0, 10000.0)] = 130.0,
    mode: Literal["cg_j", "cg", "bf"] = "cg_j",
    progress: Progress | None = None,
) -> Labels:
    """Label every pixel by the seed a random walker starting there most likely reaches first.

    ``skimage.segmentation.random_walker(image, seeds, beta, mode)`` (Grady 2006), with
    ``channel_axis=-1`` for colour. Edges between neighbours weigh
    ``exp(-beta · |Δ|² / (10 · std))`` (Δ the intensity step in [0, 1] units, std that of the
    whole image), so walkers rarely cross strong edges. Paint at least two seed labels (e.g. 1 = object,
    2 = background); each result pixel gets the value of its seed label.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image; RGB is used as three channels, alpha is ignored.
    seeds : (H, W) Labels
        Seed strokes: 0 = to be labelled, each positive value one class.
    beta : float
        Edge penalty; larger = walkers stop more at intensity changes.
    mode : str
        Linear solver: ``cg_j`` conjugate gradient with Jacobi preconditioner (the default),
        ``cg`` plain conjugate gradient, ``bf`` direct sparse LU (often faster on small images;
        up to 1 megapixel, as its memory grows faster than the image).

    Returns
    -------
    (H, W) int32 ndarray
        The seed value of the class each pixel belongs to.
    """
    from skimage.segmentation import random_walker as sk_random_walker

    progress = token(progress)
    image = check_image(image)
    if mode not in ("cg_j", "cg", "bf"):
        raise ValueError(f"mode must be one of cg_j, cg, bf; got {mode!r}")
    if mode == "bf" and image.shape[0] * image.shape[1] > BF_MAX_PIXELS:
        raise ValueError(
            f"mode bf (direct solver) is limited to {BF_MAX_PIXELS:,} pixels (its memory grows "
            f"faster than the image); use cg_j for this {image.shape[1]}x{image.shape[0]} image"
        )
    seeds = layer(seeds, image, "seeds")
    values = seed_classes(seeds)
    if seeds.all():  # nothing left to label
        return seeds.copy()
    progress(0.05, "Solving")
    data = colour_part(image)
    if data.min() == data.max():
        # a constant image weighs every edge the same whatever beta, but skimage divides beta
        # by the data's standard deviation (0): use a ramp with beta = 0 (all weights 1)
        data, beta = np.indices(data.shape[:2]).sum(axis=0).astype(np.float64), 0.0
    with warnings.catch_warnings():
        for message in _RW_WARNINGS:
            warnings.filterwarnings("ignore", message=message)
        out = sk_random_walker(
            data, seeds, beta=float(beta), mode=mode,
            channel_axis=-1 if data.ndim == 3 else None,
        )
    progress(1.0, "Done")
    # skimage numbers the classes 1..n in increasing seed order; give back the seed values
    lut = np.concatenate([[0], values]).astype(np.int32)
    return as_labels(lut[out])


#: grabcut mask values -> OpenCV classes (see the grabcut docstring)
_GC_OUTSIDE, _GC_PROBABLY_FG, _GC_SURE_BG, _GC_SURE_FG, _GC_PROBABLY_BG = range(5)


@operation("segment.grabcut", title="GrabCut", menu="Segment/Interactive",
           editor=Editor(preview_pixels=250_000))
def grabcut(
    image: Image,
    mask: Annotated[Labels, Seeds(GRABCUT_HINT)],
    *,
    iterations: Annotated[int, Range(1, 30)] = 5,
    progress: Progress | None = None,
) -> Labels:
    """Cut the object out of a rectangle or strokes with GrabCut (colour GMMs + graph cut).

    ``cv2.grabCut(..., GC_INIT_WITH_MASK)`` then one ``GC_EVAL`` call per further iteration
    (identical to a single call with ``iterCount=iterations``; the split lets you cancel).
    OpenCV's RNG is seeded with 0 first, so the result is deterministic.

    The ``mask`` layer says what is known, value by value:

    =====  ===================================================================
    value  meaning
    =====  ===================================================================
    0      outside the region of interest: sure background
    1      the region of interest (the painted rectangle): probably foreground
    2      background strokes: sure background
    3      foreground strokes: sure foreground
    4      probably background (optional, for touch-ups)
    =====  ===================================================================

    Strokes only: when the mask has no 1 or 4 at all, unpainted pixels (0) are taken as
    "probably background" instead, so a few 3 (object) and 2 (background) strokes are enough.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image, processed as 8-bit RGB (grey is replicated; alpha is ignored).
    mask : (H, W) Labels
        Region of interest and strokes, values 0-4 as above.
    iterations : int
        GrabCut iterations (re-estimate colour models, cut again).

    Returns
    -------
    (H, W) int32 ndarray
        1 = foreground, 0 = background.
    """
    import cv2

    progress = token(progress)
    image = check_image(image)
    mask = layer(mask, image, "mask")
    if mask.size and mask.max() > 4:
        raise ValueError(f"mask values must be 0-4 (see the docstring); got {mask.max()}")
    outside = cv2.GC_PR_BGD if not np.isin(mask, (1, 4)).any() else cv2.GC_BGD
    lut = np.array([outside, cv2.GC_PR_FGD, cv2.GC_BGD, cv2.GC_FGD, cv2.GC_PR_BGD], np.uint8)
    gc_mask = lut[mask]
    n_fg = int(np.isin(gc_mask, (cv2.GC_FGD, cv2.GC_PR_FGD)).sum())
    n_bg = gc_mask.size - n_fg
    # OpenCV fits a 5-component GMM to each side and needs at least 5 pixels per side
    if n_fg < 5:
        raise ValueError("mask must mark at least 5 foreground pixels (values 1 or 3)")
    if n_bg < 5:
        raise ValueError("mask must leave at least 5 background pixels (values 0, 2 or 4)")
    rgb = to_uint8(colour_part(image), np.float64)
    bgr = np.ascontiguousarray(
        cv2.cvtColor(rgb, cv2.COLOR_GRAY2BGR) if rgb.ndim == 2 else rgb[..., ::-1]
    )
    bgd_model = np.zeros((1, 65), np.float64)
    fgd_model = np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(0)
    for i in range(iterations):
        mode = cv2.GC_INIT_WITH_MASK if i == 0 else cv2.GC_EVAL
        cv2.grabCut(bgr, gc_mask, None, bgd_model, fgd_model, 1, mode)
        progress((i + 1) / iterations, f"Iteration {i + 1}/{iterations}")
    return as_labels(np.isin(gc_mask, (cv2.GC_FGD, cv2.GC_PR_FGD)))


@operation("segment.region_grow", title="Region growing", menu="Segment/Interactive")
def region_grow(
    image: Image,
    seeds: Points,
    *,
    lower: Level8 | None = None,
    upper: Level8 | None = None,
    multiplier: Annotated[float, Range(0.0, 20.0)] = 2.5,
    iterations: Annotated[int, Range(0, 20)] = 1,
    radius: Annotated[int, Range(0, 20)] = 1,
    progress: Progress | None = None,
) -> Labels:
    """Grow a region from clicked points (SimpleITK connected / confidence-connected).

    With ``lower`` or ``upper`` set: ``SimpleITK.ConnectedThreshold`` keeps the pixels
    4-connected to a seed whose grey value lies in [lower, upper] (a missing bound is 0 or 255).
    With both unset: ``SimpleITK.ConfidenceConnected`` takes the mean m and standard deviation
    s of a (2·radius+1)² neighbourhood around the seeds, keeps the connected pixels in
    [m − multiplier·s, m + multiplier·s], and re-estimates m and s from the region
    ``iterations`` times.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image; regions grow on its BT.601 luma scaled to [0, 255] whatever the dtype
        (alpha is ignored).
    seeds : (N, 2) Points
        Seed points in (x, y) pixel coordinates (rounded to the nearest pixel).
    lower, upper : float, optional
        Grey range on the 8-bit scale; None = confidence-connected mode.
    multiplier : float
        Confidence mode: width of the accepted range in standard deviations.
    iterations : int
        Confidence mode: re-estimations of the statistics from the grown region.
    radius : int
        Confidence mode: radius of the initial neighbourhood around each seed.

    Returns
    -------
    (H, W) int32 ndarray
        1 = grown region, 0 = elsewhere.
    """
    import SimpleITK as sitk

    image = check_image(image)
    points = check_points(seeds, "seeds")
    if len(points) == 0:
        raise ValueError("seeds is empty: place at least one seed point")
    h, w = image.shape[:2]
    index = np.rint(points).astype(np.int64)
    outside = (index[:, 0] < 0) | (index[:, 0] >= w) | (index[:, 1] < 0) | (index[:, 1] >= h)
    if outside.any():
        x, y = points[np.flatnonzero(outside)[0]]
        raise ValueError(f"seeds must lie inside the {w}x{h} image; got ({x}, {y})")
    # Points are (x, y) = (column, row), which is SimpleITK's index order for a 2-D image
    seed_list = [(int(x), int(y)) for x, y in index]
    progress = token(progress)
    if lower is not None or upper is not None:
        lo = 0.0 if lower is None else float(lower)
        hi = 255.0 if upper is None else float(upper)
        if lo > hi:
            raise ValueError(f"lower must be <= upper; got lower={lo}, upper={hi}")
        grow = sitk.ConnectedThresholdImageFilter()
        grow.SetLower(lo)
        grow.SetUpper(hi)
    else:
        # grey on colour images too: VectorConfidenceConnected's 3x3 covariance from a few
        # noisy pixels is often near-singular and then grows nothing, not even the seed
        grow = sitk.ConfidenceConnectedImageFilter()
        grow.SetNumberOfIterations(int(iterations))
        grow.SetMultiplier(float(multiplier))
        grow.SetInitialNeighborhoodRadius(int(radius))
    grow.SetSeedList(seed_list)
    grow.SetReplaceValue(1)
    progress(0.0, "Grey")
    grey = sitk.GetImageFromArray(grey_8bit(image))
    out = run_sitk(grow, (grey,), progress.sub(0.2, 1.0), "Growing")
    return as_labels(sitk.GetArrayFromImage(out))
