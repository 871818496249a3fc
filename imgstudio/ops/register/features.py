"""Feature-based registration: keypoints, Lowe's ratio test and a RANSAC homography."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

import numpy as np

from imgstudio.core.progress import Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import Image, Range, Registered, Table
from imgstudio.ops._pixels import grey_unit, rgb_uint8, to_uint8, token
from imgstudio.ops.register._common import (
    NOT_REGISTERED,
    check_pair,
    invert_matrix,
    warp_to_fixed,
)

#: Fewer good matches than this cannot define a homography.
MIN_MATCHES = 4
#: A homography supported by fewer RANSAC inliers than this is rejected as unreliable.
MIN_INLIERS = 10
#: ORB keeps at most this many keypoints per image (SIFT keeps all it finds).
ORB_FEATURES = 5000


@dataclass(frozen=True, eq=False)
class FeaturesRegistered(Registered):
    """A :class:`Registered` result with the evidence behind the homography.

    ``matches`` is an RGB ``uint8`` picture of the two images side by side (moving left, fixed
    right) with the RANSAC inlier matches drawn; ``table`` has one row with the keypoint
    counts (``keypoints_moving``, ``keypoints_fixed``), the matches that passed the ratio test
    (``matches``) and the RANSAC inliers (``inliers``).
    """

    matches: Image
    table: Table

    @property
    def inliers(self) -> int:
        return int(self.table.columns["inliers"][0])


def detect(gray: np.ndarray, detector: str):
    """Keypoints and descriptors of a uint8 grey image, and the descriptors' OpenCV norm."""
    import cv2

    if detector == "sift":
        keypoints, descriptors = cv2.SIFT_create().detectAndCompute(gray, None)
        return keypoints, descriptors, cv2.NORM_L2
    if detector == "orb":
        keypoints, descriptors = cv2.ORB_create(nfeatures=ORB_FEATURES).detectAndCompute(gray, None)
        return keypoints, descriptors, cv2.NORM_HAMMING
    # SIFT keypoints (scale-space extrema) described by 32-byte BRIEF binary strings.
    keypoints = cv2.SIFT_create().detect(gray, None)
    brief = cv2.xfeatures2d.BriefDescriptorExtractor_create(32)
    keypoints, descriptors = brief.compute(gray, keypoints)
    return keypoints, descriptors, cv2.NORM_HAMMING


@operation("register.features", title="Register (features)", menu="Image/Register")
def register_features(
    image: Image,
    fixed: Image,
    *,
    detector: Literal["sift", "orb", "sift_brief"] = "sift",
    ratio: Annotated[float, Range(0.1, 1.0)] = 0.75,
    ransac_threshold: Annotated[float, Range(0.1, 100.0)] = 5.0,
    progress: Progress | None = None,
) -> FeaturesRegistered:
    """Align the image onto the fixed image with a homography fitted to matched keypoints.

    Keypoints are detected on both images (grey, 8-bit), each descriptor of the image is
    matched to its two nearest descriptors of the fixed image (brute force), Lowe's ratio test
    keeps the distinctive matches, and ``cv2.findHomography`` with RANSAC fits the homography
    and rejects the outliers. Handles any viewpoint change of a planar scene (or a camera
    rotating about its centre), rotation and scale included.

    Parameters
    ----------
    image : (H, W[, C]) ndarray
        The moving image.
    fixed : (H', W'[, C']) ndarray
        The fixed image; the result is warped onto its grid.
    detector : str
        ``sift`` (SIFT keypoints and descriptors), ``orb`` (ORB, up to 5000 keypoints; fast,
        binary) or ``sift_brief`` (SIFT keypoints with BRIEF binary descriptors from
        ``cv2.xfeatures2d``; not rotation invariant).
    ratio : float
        Lowe's ratio: a match is kept when its distance is below ``ratio`` times the distance
        to the second-nearest descriptor. Lower is stricter.
    ransac_threshold : float
        Maximum reprojection error, in pixels, of a RANSAC inlier.

    Returns
    -------
    FeaturesRegistered
        ``image``: the moving image warped onto the fixed grid (linear, same dtype and
        channels, 0 outside it); ``matrix``: the 3×3 homography mapping a moving-image point
        ``(x, y, 1)`` onto the fixed image; ``matches``: the inlier matches drawn (RGB
        ``uint8``); ``table``: keypoint, match and inlier counts.

    Raises
    ------
    ValueError
        ``not enough matches (found N)`` when fewer than 4 matches pass the ratio test or
        fewer than 10 of them are RANSAC inliers.
    """
    import cv2

    check_pair(image, fixed)
    progress = token(progress)
    progress(0.0, "detecting keypoints in the image")
    kp_moving, desc_moving, norm = detect(to_uint8(grey_unit(image, np.float32)), detector)
    progress(0.4, "detecting keypoints in the fixed image")
    kp_fixed, desc_fixed, _ = detect(to_uint8(grey_unit(fixed, np.float32)), detector)
    progress(0.8, "matching")
    good = []
    if desc_moving is not None and desc_fixed is not None and len(kp_fixed) >= 2:
        pairs = cv2.BFMatcher(norm).knnMatch(desc_moving, desc_fixed, k=2)
        good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < ratio * p[1].distance]
    if len(good) < MIN_MATCHES:
        raise ValueError(
            f"{NOT_REGISTERED}: not enough matches (found {len(good)} passing the ratio test, need "
            f"{MIN_MATCHES}); the images may not overlap, or try another detector or a higher ratio"
        )
    src = np.float32([kp_moving[m.queryIdx].pt for m in good]).reshape(-1, 1, 2)
    dst = np.float32([kp_fixed[m.trainIdx].pt for m in good]).reshape(-1, 1, 2)
    homography, mask = cv2.findHomography(src, dst, cv2.RANSAC, float(ransac_threshold))
    inliers = int(mask.sum()) if mask is not None else 0
    if homography is None or inliers < MIN_INLIERS:
        raise ValueError(
            f"{NOT_REGISTERED}: not enough matches (found {inliers} RANSAC inliers among {len(good)} matches, "
            f"need {MIN_INLIERS}); the images may not show the same planar scene"
        )
    homography = homography / homography[2, 2]
    progress(0.9, "warping")
    fixed_to_moving = invert_matrix(homography, "register.features")
    inlier_matches = [m for m, keep in zip(good, mask.ravel(), strict=True) if keep]
    cv2.setRNGSeed(0)  # drawMatches colours each match from OpenCV's RNG: same picture every run
    picture = cv2.drawMatches(
        cv2.cvtColor(rgb_uint8(image), cv2.COLOR_RGB2BGR), kp_moving,
        cv2.cvtColor(rgb_uint8(fixed), cv2.COLOR_RGB2BGR), kp_fixed, inlier_matches, None,
        flags=cv2.DrawMatchesFlags_NOT_DRAW_SINGLE_POINTS,
    )
    table = Table({
        "keypoints_moving": [len(kp_moving)],
        "keypoints_fixed": [len(kp_fixed)],
        "matches": [len(good)],
        "inliers": [inliers],
    })
    progress(1.0, "done")
    return FeaturesRegistered(
        image=warp_to_fixed(image, fixed_to_moving, fixed.shape),
        matrix=homography,
        matches=np.ascontiguousarray(cv2.cvtColor(picture, cv2.COLOR_BGR2RGB)),
        table=table,
    )
