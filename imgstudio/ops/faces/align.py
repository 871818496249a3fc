"""faces.align: an upright face chip (eyes on dlib's face template) or a face aligned onto a reference."""

from __future__ import annotations

from typing import Annotated

import numpy as np

from imgstudio.core.editor import Editor
from imgstudio.core.progress import Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import Image, Range, check_image
from imgstudio.ops._pixels import token, warped_like
from imgstudio.ops.faces._models import (
    Detector,
    FaceIndex,
    detect_faces,
    eye_centres_5,
    pick_face,
    shape_of,
    to_rgb8,
)

# Eye centres of dlib's 5-point face template (``get_face_chip_details``: means of its two
# eye-corner points), in units of the template square: image-left eye, image-right eye.
TEMPLATE_EYES = np.array([[(0.1205750620789 + 0.3340850613712) / 2,
                           (0.2137274526848 + 0.2290642403242) / 2],
                          [(0.8595674595992 + 0.6460604764104) / 2,
                           (0.2134981538014 + 0.2289674387677) / 2]])


def chip_eyes(size: int, padding: float) -> np.ndarray:
    """Where :func:`align` puts the eye centres in a ``size`` chip: dlib's template eyes,
    level (their heights differ by 0.0002 of the template), padded like dlib's chips."""
    eyes = TEMPLATE_EYES.copy()
    eyes[:, 1] = eyes[:, 1].mean()
    return (padding + eyes) / (1 + 2 * padding) * size


def warp_similarity(image: np.ndarray, matrix: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``cv2.warpAffine`` of ``image`` by the image → output ``matrix`` into ``size`` (w, h).

    A strong reduction first shrinks the image with area averaging (as dlib's chip extractor
    does with its pyramid) so the result does not alias. Bilinear; outside is 0 (transparent
    for RGBA). Keeps dtype and channels.
    """
    import cv2

    matrix = np.asarray(matrix, dtype=np.float64)
    scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
    src = image
    if scale < 0.5:
        h, w = image.shape[:2]
        new_w, new_h = max(1, round(w * scale * 1.5)), max(1, round(h * scale * 1.5))
        src = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_AREA)
        rx, ry = new_w / w, new_h / h
        # resized pixel x' sits at x = (x' + 0.5) / rx - 0.5 in the original (OpenCV's convention)
        back = np.array([[1 / rx, 0, 0.5 / rx - 0.5], [0, 1 / ry, 0.5 / ry - 0.5], [0, 0, 1]])
        matrix = matrix @ back
    out = cv2.warpAffine(src, matrix, size, flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return warped_like(out, image)


def similarity_matrix(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (rotation, uniform scale, shift) taking ``src`` onto ``dst``.

    ``cv2.estimateAffinePartial2D`` with a RANSAC threshold so large that every point is an
    inlier, so its Levenberg–Marquardt refinement gives the least-squares fit.
    """
    import cv2

    src = np.asarray(src, dtype=np.float32)
    dst = np.asarray(dst, dtype=np.float32)
    span = float(np.ptp(np.vstack([src, dst]), axis=0).max()) + 1.0
    matrix, _ = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC,
                                            ransacReprojThreshold=100.0 * span, refineIters=100)
    if matrix is None:
        raise ValueError("the landmarks are degenerate; cannot fit a similarity transform")
    return matrix.astype(np.float64)


# The face is found in the whole image and the output is a chip of its own size.
@operation("faces.align", title="Align face", menu="Faces", editor=Editor(preview="whole"))
def align(
    image: Image,
    reference: Image | None = None,
    *,
    size: Annotated[int, Range(16, 2048)] = 256,
    padding: Annotated[float, Range(0.0, 2.0, step=0.05)] = 0.25,
    face: FaceIndex = 0,
    detector: Detector = "hog",
    progress: Progress | None = None,
) -> Image:
    """Rotate, scale and crop a face so that its eyes are level at a fixed position.

    Without ``reference``: a square chip like dlib's face chips, but fitted to the eyes
    alone: the similarity that puts the two eye centres (means of the 5-point model's eye
    corners) exactly on the eye centres of dlib's face template, made level. Every aligned
    face therefore has its eyes on one horizontal line at the same place: for size 256 and
    padding 0.25 at (81.5, 80.4) and (171.1, 80.4); in general at
    ``(padding + (0.2273, 0.2214)) / (1 + 2·padding) · size`` and
    ``(padding + (0.7528, 0.2214)) / (1 + 2·padding) · size``.

    With ``reference``: the similarity transform (rotation, uniform scale, shift) that best
    maps this face's 5 landmarks onto those of the reference's most confident face
    (least squares, ``cv2.estimateAffinePartial2D``), applied to the whole image; the result
    has the reference's size and ``size``/``padding`` are not used.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Image with the face to align.
    reference : (H', W'[, C]) ndarray, optional
        Image with the face to align onto.
    size : int
        Side of the square chip, pixels.
    padding : float
        Margin around dlib's face template, as a fraction of its size (0.25 shows the whole
        face and some hair; 0 crops to eyebrows–chin).
    face : int
        Which face of ``image``: 0 is the most confident detection.
    detector : {"hog", "cnn", "haar"}
        Face detector (see ``faces.detect``).
    progress : Progress, optional
        Progress and cancellation.

    Returns
    -------
    ndarray
        ``(size, size[, C])``, or the reference's height and width, in ``image``'s dtype and
        channels. Pixels from outside ``image`` are 0 (transparent for RGBA).

    Raises
    ------
    ValueError
        "no face found" in ``image`` or ``reference``; ``face`` beyond the faces found.
    """
    image = check_image(image)
    if reference is not None:
        reference = check_image(reference, "reference")
    progress = token(progress)
    progress(0.0, "detecting the face")
    rgb8 = to_rgb8(image)
    span = (0.0, 0.5) if reference is not None else (0.0, 0.9)
    chosen = pick_face(detect_faces(rgb8, detector, progress=progress.sub(*span)), face)
    points = shape_of(rgb8, chosen.rect, 5)[1]
    if reference is None:
        matrix = similarity_matrix(np.array(eye_centres_5(points)), chip_eyes(size, padding))
        out_size = (size, size)
    else:
        progress(0.5, "detecting the reference face")
        ref8 = to_rgb8(reference, "reference")
        ref_face = pick_face(detect_faces(ref8, detector, progress=progress.sub(0.5, 0.9)), 0,
                             "reference")
        ref_points = shape_of(ref8, ref_face.rect, 5)[1]
        matrix = similarity_matrix(points, ref_points)
        out_size = (reference.shape[1], reference.shape[0])
    progress(0.9, "warping")
    out = warp_similarity(image, matrix, out_size)
    progress(1.0, "aligned")
    return out
