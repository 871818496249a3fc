"""faces.overlay: an RGBA accessory (glasses, moustache...) placed on every detected face."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np

from imgstudio.core.editor import Editor
from imgstudio.core.progress import Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import Image, Range, check_image
from imgstudio.ops._pixels import from_unit, luma, to_unit, token
from imgstudio.ops.faces._models import (
    MOUTH_68,
    Detector,
    detect_faces,
    eye_centres_5,
    shape_of,
    to_rgb8,
)

Anchor = Literal["eyes", "nose", "mouth"]
#: Overlay width at scale 1, in eye-to-eye distances (glasses span the face, ~2 pupil spans).
WIDTH_FACTOR = {"eyes": 2.0, "nose": 1.0, "mouth": 1.2}


def placement(points5: np.ndarray, mouth: np.ndarray | None, anchor: str, scale: float,
              overlay_shape: tuple[int, ...]) -> np.ndarray:
    """The 2×3 affine mapping overlay pixels onto the image for one face.

    The overlay's centre goes to the anchor (midpoint of the eye centres; base of the nose;
    centre of the mouth), its horizontal axis along the eye line, its width to
    ``scale × WIDTH_FACTOR[anchor] ×`` the eye-to-eye distance (aspect ratio kept).
    """
    left, right = eye_centres_5(points5)
    dx, dy = right - left
    eye_distance = float(np.hypot(dx, dy))
    angle = float(np.arctan2(dy, dx))
    oh, ow = overlay_shape[:2]
    s = scale * WIDTH_FACTOR[anchor] * eye_distance / ow
    if anchor == "eyes":
        target = (left + right) / 2
    elif anchor == "nose":
        target = points5[4]
    else:
        target = mouth
    rot = s * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    centre = np.array([(ow - 1) / 2, (oh - 1) / 2])
    return np.hstack([rot, (target - rot @ centre)[:, None]])


def _as_rgba_float(overlay: np.ndarray) -> np.ndarray:
    """The overlay as premultiplied float32 RGBA in [0, 1] (no alpha channel = opaque)."""
    vals = to_unit(overlay, np.float32)
    if vals.ndim == 2:
        vals = np.dstack([vals, vals, vals, np.ones_like(vals)])
    elif vals.shape[2] == 3:
        vals = np.dstack([vals, np.ones(vals.shape[:2], np.float32)])
    vals = np.clip(vals, 0.0, 1.0)
    vals[..., :3] *= vals[..., 3:]
    return vals


def composite(image: np.ndarray, overlay_premult: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``image`` with the premultiplied RGBA overlay warped by ``matrix`` composited over it
    (Porter–Duff "over"). Only the overlay's bounding box is touched; keeps dtype/channels."""
    import cv2

    h, w = image.shape[:2]
    oh, ow = overlay_premult.shape[:2]
    corners = np.array([[0, 0], [ow - 1, 0], [ow - 1, oh - 1], [0, oh - 1]], np.float64)
    mapped = corners @ matrix[:, :2].T + matrix[:, 2]
    x0, y0 = np.floor(mapped.min(axis=0) - 1).astype(int)
    x1, y1 = np.ceil(mapped.max(axis=0) + 2).astype(int)
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 <= x0 or y1 <= y0:
        return image
    shifted = matrix.copy()
    shifted[:, 2] -= (x0, y0)
    warped = cv2.warpAffine(overlay_premult, shifted, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    src_rgb, src_a = warped[..., :3], warped[..., 3:]
    region = to_unit(image[y0:y1, x0:x1], np.float32)
    if image.ndim == 2:
        out = luma(src_rgb) + region * (1.0 - src_a[..., 0])
    elif image.shape[2] == 3:
        out = src_rgb + region * (1.0 - src_a)
    else:
        dst_a = region[..., 3:]
        out_a = src_a + dst_a * (1.0 - src_a)
        premult = src_rgb + region[..., :3] * dst_a * (1.0 - src_a)
        colour = np.divide(premult, out_a, out=np.zeros_like(premult), where=out_a > 0)
        out = np.dstack([colour, out_a])
    result = image.copy()
    result[y0:y1, x0:x1] = from_unit(out, image.dtype)
    return result


# Landmarks are found on the whole face: a crop of the view may cut it.
@operation("faces.overlay", title="Face accessory", menu="Faces",
           editor=Editor(preview="whole"))
def overlay(
    image: Image,
    overlay: Image,
    *,
    anchor: Anchor = "eyes",
    scale: Annotated[float, Range(0.1, 5.0, step=0.05)] = 1.0,
    detector: Detector = "hog",
    progress: Progress | None = None,
) -> Image:
    """Place an accessory image (glasses, moustache...) on every detected face.

    For each face the overlay is scaled from the eye-to-eye distance, rotated to the eye line
    and alpha-composited ("over") with its centre on the anchor. Eye centres (mean of the
    two corners) and the base of the nose come from dlib's 5-point model; the mouth centre
    (mean of the 20 mouth points) from the 68-point model (iBUG 300-W: non-commercial
    licence, see ``faces.landmarks``).

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Image with faces.
    overlay : (h, w[, 3|4]) ndarray
        The accessory, drawn upright and centred; its alpha channel says where it is opaque
        (without alpha it is an opaque rectangle). Any dtype: values are normalised by it.
    anchor : {"eyes", "nose", "mouth"}
        Where the overlay's centre goes: the midpoint of the eye centres (glasses), the base
        of the nose, or the centre of the mouth.
    scale : float
        Overlay width in units of the default: 2 × the eye-to-eye distance for ``eyes``,
        1 × for ``nose``, 1.2 × for ``mouth``. The aspect ratio is kept.
    detector : {"hog", "cnn", "haar"}
        Face detector (see ``faces.detect``).
    progress : Progress, optional
        Progress and cancellation.

    Returns
    -------
    ndarray
        Same shape and dtype as ``image``; on a gray image the overlay's luma (BT.601) is
        composited; on RGBA the alpha channels combine as in "over".

    Raises
    ------
    ValueError
        "no face found".
    """
    image = check_image(image)
    overlay = check_image(overlay, "overlay")
    if anchor not in WIDTH_FACTOR:
        raise ValueError(f"anchor must be one of eyes, nose, mouth; got {anchor!r}")
    progress = token(progress)
    progress(0.0, "detecting faces")
    rgb8 = to_rgb8(image)
    faces = detect_faces(rgb8, detector, progress=progress.sub(0.0, 0.8))
    if not faces:
        raise ValueError("no face found in image")
    premult = _as_rgba_float(overlay)
    out = image
    for k, face in enumerate(faces):
        progress(0.8 + 0.2 * k / len(faces), f"face {k + 1} of {len(faces)}")
        points5 = shape_of(rgb8, face.rect, 5)[1]
        mouth = shape_of(rgb8, face.rect, 68)[1][MOUTH_68].mean(axis=0) if anchor == "mouth" else None
        out = composite(out, premult, placement(points5, mouth, anchor, scale, overlay.shape))
    progress(1.0, f"{len(faces)} face(s)")
    return out if out is not image else image.copy()
