"""Stitch overlapping images into one mosaic with OpenCV's stitching pipeline (cv2.detail)."""

from __future__ import annotations

from typing import Literal

import numpy as np

from imgstudio.core.limits import check_pixels
from imgstudio.core.progress import Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import Image, check_image
from imgstudio.ops._pixels import as_unit, from_unit, rgb_uint8, token

#: Resolutions (megapixels) of registration and seam estimation, as cv2.Stitcher uses.
WORK_MEGAPIX = 0.6
SEAM_MEGAPIX = 0.1
#: Pairwise matches with a confidence below this do not link two images.
CONF_THRESH = 1.0
#: A mosaic larger than this many times the inputs' total area means a degenerate estimate.
MAX_AREA_FACTOR = 16


def _scaled_k(camera, factor: float) -> np.ndarray:
    k = camera.K().astype(np.float32)
    k[0, 0] *= factor
    k[0, 2] *= factor
    k[1, 1] *= factor
    k[1, 2] *= factor
    return k


def _resize(image: np.ndarray, scale: float) -> np.ndarray:
    import cv2

    if scale == 1.0:
        return image
    return cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR_EXACT)


def _prepare(images: list[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """8-bit BGR copies of the images and their masks (alpha > 0, or everything)."""
    import cv2

    bgr, masks = [], []
    for i, image in enumerate(images):
        if min(image.shape[:2]) < 2:
            raise ValueError(f"images[{i}] is too small to stitch: {image.shape}")
        bgr.append(np.ascontiguousarray(cv2.cvtColor(rgb_uint8(image), cv2.COLOR_RGB2BGR)))
        if image.ndim == 3 and image.shape[2] == 4:
            masks.append(np.where(image[..., 3] > 0, 255, 0).astype(np.uint8))
        else:
            masks.append(np.full(image.shape[:2], 255, np.uint8))
    return bgr, masks


def _cameras(bgr: list[np.ndarray], scans: bool, work_scale: float, progress: Progress):
    """Features, pairwise matches and refined cameras (the registration stage)."""
    import cv2

    finder = cv2.SIFT_create()
    features = []
    for i, image in enumerate(bgr):
        progress.check()
        features.append(cv2.detail.computeImageFeatures2(finder, _resize(image, work_scale)))
        progress(0.3 * (i + 1) / len(bgr), f"features of image {i + 1}/{len(bgr)}")
    if scans:
        matcher = cv2.detail_AffineBestOf2NearestMatcher(False, False, 0.65)
    else:
        matcher = cv2.detail_BestOf2NearestMatcher(False, 0.65)
    pairwise = matcher.apply2(features)
    matcher.collectGarbage()
    progress(0.4, "matching")
    kept = [int(i) for i in np.ravel(cv2.detail.leaveBiggestComponent(features, pairwise, CONF_THRESH))]
    if len(kept) < len(bgr):
        lost = [i for i in range(len(bgr)) if i not in kept]
        names = ", ".join(f"images[{i}]" for i in lost)
        raise ValueError(
            f"not enough overlap: {names} could not be matched to the other images "
            "(remove them, or give images that overlap by at least ~20 %; exact duplicates "
            "are not matched either)"
        )
    estimator = cv2.detail_AffineBasedEstimator() if scans else cv2.detail_HomographyBasedEstimator()
    ok, cameras = estimator.apply(features, pairwise, None)
    if not ok:
        raise ValueError("could not estimate camera parameters (homography estimation failed)")
    for cam in cameras:
        cam.R = cam.R.astype(np.float32)
    adjuster = cv2.detail_BundleAdjusterAffinePartial() if scans else cv2.detail_BundleAdjusterRay()
    adjuster.setConfThresh(CONF_THRESH)
    refine = np.zeros((3, 3), np.uint8)
    refine[0, :] = 1  # fx, skew, ppx
    refine[1, 1:] = 1  # aspect, ppy
    adjuster.setRefinementMask(refine)
    ok, cameras = adjuster.apply(features, pairwise, cameras)
    if not ok or not all(np.all(np.isfinite(c.R)) and np.isfinite(c.focal) for c in cameras):
        raise ValueError("could not estimate camera parameters (bundle adjustment failed)")
    if not scans:
        rmats = cv2.detail.waveCorrect([np.copy(c.R) for c in cameras], cv2.detail.WAVE_CORRECT_HORIZ)
        for cam, rmat in zip(cameras, rmats, strict=True):
            cam.R = rmat
    progress(0.5, "cameras estimated")
    return cameras


@operation("register.stitch", title="Stitch", menu="Image/Register")
def stitch(
    images: list[Image],
    *,
    mode: Literal["panorama", "scans"] = "panorama",
    warper: Literal["plane", "cylindrical", "spherical"] = "cylindrical",
    progress: Progress | None = None,
) -> Image:
    """Stitch overlapping images into one mosaic (OpenCV stitching pipeline).

    The pipeline of ``cv2.Stitcher``, assembled from ``cv2.detail`` so that the projection
    can be chosen: SIFT features at 0.6 MP, best-of-2-nearest matching, camera estimation
    and bundle adjustment, wave correction (panorama), warping, exposure compensation
    (panorama), graph-cut seams and multi-band blending at full resolution.

    Parameters
    ----------
    images : list of (H, W[, C]) ndarray
        Two or more overlapping images (any sizes; grey, RGB or RGBA).
    mode : str
        ``panorama``: photos taken by a camera rotating about its centre (homographies,
        ray bundle adjustment, projected with ``warper``). ``scans``: flat documents or
        images shifted/rotated in their plane (affine model; ``warper`` is not used).
    warper : str
        Projection surface of a panorama: ``plane`` (straight lines stay straight; for
        narrow fields of view), ``cylindrical`` (wide horizontal panoramas) or ``spherical``.

    Returns
    -------
    (H'', W''[, C]) ndarray
        The mosaic in the dtype of ``images[0]`` (computed at 8 bits per channel); grey when
        every input is grey, RGBA when any has alpha (output alpha = coverage; input pixels
        with alpha 0 are left out), otherwise RGB. Uncovered pixels are 0.

    Raises
    ------
    ValueError
        Fewer than two images; images that do not overlap enough; camera parameters that
        cannot be estimated.
    """
    import cv2

    if len(images) < 2:
        raise ValueError(f"images: need more images: at least 2 to stitch; got {len(images)}")
    for i, image in enumerate(images):
        check_image(image, f"images[{i}]")
    progress = token(progress)
    scans = mode == "scans"
    bgr, masks = _prepare(images)
    area = max(im.shape[0] * im.shape[1] for im in bgr)
    work_scale = min(1.0, float(np.sqrt(WORK_MEGAPIX * 1e6 / area)))
    seam_scale = min(1.0, float(np.sqrt(SEAM_MEGAPIX * 1e6 / area)))
    try:
        cameras = _cameras(bgr, scans, work_scale, progress)
        focals = sorted(float(c.focal) for c in cameras)
        mid = len(focals) // 2
        scale = focals[mid] if len(focals) % 2 else (focals[mid - 1] + focals[mid]) / 2
        warp_type = "affine" if scans else warper

        # Seams at low resolution.
        seam_aspect = seam_scale / work_scale
        seam_warper = cv2.PyRotationWarper(warp_type, scale * seam_aspect)
        smalls = [_resize(image, seam_scale) for image in bgr]
        seam_ks = [_scaled_k(cam, seam_aspect) for cam in cameras]
        _check_rois(seam_warper, smalls, seam_ks, cameras)  # before allocating anything big
        corners, warped, warped_masks = [], [], []
        for small, mask, cam, k in zip(smalls, masks, cameras, seam_ks, strict=True):
            small_mask = cv2.resize(mask, (small.shape[1], small.shape[0]),
                                    interpolation=cv2.INTER_NEAREST)
            corner, img_w = seam_warper.warp(small, k, cam.R, cv2.INTER_LINEAR, cv2.BORDER_REFLECT)
            _, mask_w = seam_warper.warp(small_mask, k, cam.R, cv2.INTER_NEAREST,
                                         cv2.BORDER_CONSTANT)
            corners.append(corner)
            warped.append(img_w)
            warped_masks.append(mask_w)
        progress.check()
        compensator = cv2.detail.ExposureCompensator_createDefault(
            cv2.detail.ExposureCompensator_NO if scans
            else cv2.detail.ExposureCompensator_GAIN_BLOCKS)
        compensator.feed(corners=corners, images=warped, masks=warped_masks)
        seam_finder = cv2.detail_GraphCutSeamFinder("COST_COLOR")
        seam_masks = seam_finder.find([w.astype(np.float32) for w in warped], corners,
                                      warped_masks)
        progress(0.6, "seams found")

        # Compose at full resolution.
        compose_aspect = 1.0 / work_scale
        full_warper = cv2.PyRotationWarper(warp_type, scale * compose_aspect)
        ks = [_scaled_k(cam, compose_aspect) for cam in cameras]
        full_corners, sizes = _check_rois(full_warper, bgr, ks, cameras)
        dst_roi = cv2.detail.resultRoi(corners=full_corners, sizes=sizes)
        blend_width = np.sqrt(dst_roi[2] * dst_roi[3]) * 5 / 100
        if blend_width < 1:
            blender = cv2.detail.Blender_createDefault(cv2.detail.Blender_NO)
        else:
            blender = cv2.detail_MultiBandBlender()
            blender.setNumBands(max(1, int(np.log2(blend_width) - 1)))
        blender.prepare(dst_roi)
        for i, (image, mask, cam, k) in enumerate(zip(bgr, masks, cameras, ks, strict=True)):
            progress.check()
            corner, img_w = full_warper.warp(image, k, cam.R, cv2.INTER_LINEAR, cv2.BORDER_REFLECT)
            _, mask_w = full_warper.warp(mask, k, cam.R, cv2.INTER_NEAREST, cv2.BORDER_CONSTANT)
            compensator.apply(i, corner, img_w, mask_w)
            seam = cv2.resize(cv2.dilate(seam_masks[i], None), (mask_w.shape[1], mask_w.shape[0]),
                              interpolation=cv2.INTER_LINEAR_EXACT)
            blender.feed(img_w.astype(np.int16), cv2.bitwise_and(seam, mask_w), corner)
            progress(0.6 + 0.35 * (i + 1) / len(bgr), f"blending image {i + 1}/{len(bgr)}")
        mosaic, coverage = blender.blend(None, None)
    except cv2.error as exc:
        raise ValueError(f"stitching failed: {str(exc).strip().splitlines()[-1]}") from None
    progress(1.0, "done")
    return _finish(mosaic, coverage, images)


def _check_rois(warper, images, ks, cameras):
    """Corners and sizes of the warped images; ``ValueError`` if the mosaic would be absurd.

    A degenerate camera estimate (e.g. images that only overlap in a flat region) can ask for
    a mosaic of millions of pixels a side; refuse before anything is allocated.
    """
    rois = [warper.warpRoi((im.shape[1], im.shape[0]), k, cam.R)
            for im, k, cam in zip(images, ks, cameras, strict=True)]
    corners = [(int(r[0]), int(r[1])) for r in rois]
    sizes = [(int(r[2]), int(r[3])) for r in rois]
    x0 = min(c[0] for c in corners)
    y0 = min(c[1] for c in corners)
    x1 = max(c[0] + s[0] for c, s in zip(corners, sizes, strict=True))
    y1 = max(c[1] + s[1] for c, s in zip(corners, sizes, strict=True))
    input_area = sum(im.shape[0] * im.shape[1] for im in images)
    if (x1 - x0) * (y1 - y0) > MAX_AREA_FACTOR * input_area:
        raise ValueError(
            f"could not estimate camera parameters: the mosaic would be {x1 - x0}×{y1 - y0} "
            "pixels, far larger than the inputs (try mode='scans' or another warper)"
        )
    check_pixels(y1 - y0, x1 - x0, what="images (the mosaic they make)", channels=3)
    return corners, sizes


def _finish(mosaic: np.ndarray, coverage: np.ndarray, images: list[np.ndarray]) -> np.ndarray:
    """Convert the blender's int16 BGR output to the caller's dtype and channels."""
    import cv2

    rgb = cv2.cvtColor(np.clip(mosaic, 0, 255).astype(np.uint8), cv2.COLOR_BGR2RGB)
    covered = coverage > 0
    rgb[~covered] = 0
    if all(im.ndim == 2 for im in images):
        out = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    elif any(im.ndim == 3 and im.shape[2] == 4 for im in images):
        out = np.dstack([rgb, np.where(covered, 255, 0).astype(np.uint8)])
    else:
        out = rgb
    dtype = images[0].dtype
    if dtype == np.uint8:
        return np.ascontiguousarray(out)
    return np.ascontiguousarray(from_unit(as_unit(out), dtype))
