"""faces.morph: piecewise-affine face morphing (average shape, Delaunay triangles, cross-dissolve).

The maths is plain functions, usable by a morphing wizard without the operation machinery:
:func:`average_shape`, :func:`add_border_points`, :func:`delaunay_triangles`,
:func:`morph_frame`, :func:`prepare_pair` (two images and their points made ready for it), and
:func:`morph_sequence` for a whole sequence.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np

from imgstudio.core.editor import Editor, Wizard
from imgstudio.core.progress import Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import Image, Points, Range, check_image, check_points
from imgstudio.ops._pixels import clip_to_dtype, from_unit, luma, to_unit, token
from imgstudio.ops.faces._models import Detector, face_points

#: Landmarks the operation detects when points are not given: dlib's 68-point model.
LANDMARK_MODEL = 68


def average_shape(a: np.ndarray, b: np.ndarray, alpha: float) -> np.ndarray:
    """The shape ``(1 - alpha)·a + alpha·b`` of two corresponding ``(N, 2)`` point sets."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"point sets must have the same shape; got {a.shape} and {b.shape}")
    return (1.0 - alpha) * a + alpha * b


def border_points(shape: tuple[int, ...]) -> np.ndarray:
    """The 8 points on the image border: the corners and the middles of the edges."""
    h, w = shape[:2]
    x1, y1 = w - 1.0, h - 1.0
    return np.array([[0, 0], [x1 / 2, 0], [x1, 0], [x1, y1 / 2], [x1, y1], [x1 / 2, y1],
                     [0, y1], [0, y1 / 2]], dtype=np.float64)


def add_border_points(points: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``points`` followed by the 8 :func:`border_points` of an image of ``shape``.

    With them the triangulation covers the whole image, so the background morphs too.
    """
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return np.vstack([points, border_points(shape)])


def delaunay_triangles(points: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Delaunay triangles of ``points`` as ``(T, 3)`` indices into it (``scipy.spatial.Delaunay``).

    ``shape`` is the image's: points must lie inside it (with half a pixel of slack). Points
    that coincide with an earlier one are left out by Qhull; triangles of zero area dropped.
    """
    from scipy.spatial import Delaunay, QhullError

    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    h, w = shape[:2]
    if len(points) < 3:
        raise ValueError(f"points: need at least 3 to triangulate; got {len(points)}")
    outside = ((points[:, 0] < -0.5) | (points[:, 0] > w - 0.5)
               | (points[:, 1] < -0.5) | (points[:, 1] > h - 0.5))
    if outside.any():
        raise ValueError(f"points must lie inside the {w}×{h} image; "
                         f"{points[outside][0].tolist()} does not")
    try:
        triangles = Delaunay(points).simplices.astype(np.int64)
    except QhullError:
        raise ValueError("points are collinear or too few to triangulate") from None
    p0, p1, p2 = (points[triangles[:, k]] for k in range(3))
    area = (p1[:, 0] - p0[:, 0]) * (p2[:, 1] - p0[:, 1]) - (p1[:, 1] - p0[:, 1]) * (p2[:, 0] - p0[:, 0])
    return triangles[np.abs(area) > 1e-9]


def _triangle_maps(dst: np.ndarray, srcs: list[np.ndarray], triangles: np.ndarray,
                   shape: tuple[int, int]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Backward maps (for ``cv2.remap``) of the piecewise-affine warps ``srcs[k]`` → ``dst``.

    Every output pixel is assigned to one triangle of ``dst`` (rasterised with
    ``cv2.fillConvexPoly``; a pixel on a shared edge belongs to the last triangle drawn) and
    mapped by that triangle's affine transform (``cv2.getAffineTransform``) into each source.
    Evaluating these per-pixel maps with numpy, instead of warping every triangle's bounding
    box and pasting it through a mask, gives the same warp without seams and one remap per
    image.
    """
    import cv2

    h, w = shape
    owner = np.full((h, w), -1, dtype=np.int32)
    for t, tri in enumerate(triangles):
        corners = np.rint(dst[tri] * 16).astype(np.int32)  # 4 fractional bits (shift=4)
        cv2.fillConvexPoly(owner, corners, int(t), lineType=cv2.LINE_8, shift=4)
    if (owner < 0).any():
        # pixels left between slivers, or outside the points' hull: the nearest triangle's
        # affine map (the warp is continuous, so extrapolating it a little is harmless)
        from scipy import ndimage

        if (owner >= 0).any():
            _, (iy, ix) = ndimage.distance_transform_edt(owner < 0, return_indices=True)
            owner = owner[iy, ix]
        else:
            owner[:] = 0
    xs = np.arange(w, dtype=np.float64)[None, :]
    maps = []
    for src in srcs:
        coeffs = np.array([cv2.getAffineTransform(dst[tri].astype(np.float32),
                                                  src[tri].astype(np.float32))
                           for tri in triangles], dtype=np.float64).reshape(-1, 6)
        map_x = np.empty((h, w), dtype=np.float32)
        map_y = np.empty((h, w), dtype=np.float32)
        for r0 in range(0, h, 256):  # row blocks keep the temporaries small on big images
            rows = slice(r0, min(r0 + 256, h))
            c = coeffs[owner[rows]]
            ys = np.arange(rows.start, rows.stop, dtype=np.float64)[:, None]
            map_x[rows] = c[..., 0] * xs + c[..., 1] * ys + c[..., 2]
            map_y[rows] = c[..., 3] * xs + c[..., 4] * ys + c[..., 5]
        maps.append((map_x, map_y))
    return maps


def morph_frame(img_a: np.ndarray, img_b: np.ndarray, pts_a: np.ndarray, pts_b: np.ndarray,
                alpha: float) -> np.ndarray:
    """One morph frame between two same-shape, same-dtype images.

    Both images are warped piecewise-affinely onto the average shape
    ``(1 - alpha)·pts_a + alpha·pts_b`` (Delaunay triangles of that shape) and cross-dissolved
    with weights ``1 - alpha`` and ``alpha``. ``alpha = 0`` gives ``img_a``, 1 gives ``img_b``
    (each warped onto its own points: the identity). Include :func:`add_border_points` in the
    point sets to morph the whole image rather than the points' convex hull.

    Returns an array of ``img_a``'s shape and dtype (integers rounded).
    """
    import cv2

    if img_a.shape != img_b.shape or img_a.dtype != img_b.dtype:
        raise ValueError(f"images must have the same shape and dtype; got {img_a.shape} "
                         f"{img_a.dtype} and {img_b.shape} {img_b.dtype}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1]; got {alpha!r}")
    pts_a = np.asarray(pts_a, dtype=np.float64)
    pts_b = np.asarray(pts_b, dtype=np.float64)
    for name, pts in (("pts_a", pts_a), ("pts_b", pts_b)):
        if not np.all(np.isfinite(pts)):
            raise ValueError(f"{name} must contain only finite coordinates")
    avg = average_shape(pts_a, pts_b, alpha)
    triangles = delaunay_triangles(avg, img_a.shape)
    (ax, ay), (bx, by) = _triangle_maps(avg, [pts_a, pts_b], triangles, img_a.shape[:2])
    flags, border = cv2.INTER_LINEAR, cv2.BORDER_REPLICATE
    frame = np.zeros(img_a.shape, dtype=np.float32)
    if alpha < 1.0:
        warped = cv2.remap(img_a, ax, ay, flags, borderMode=border).reshape(img_a.shape)
        frame += np.float32(1.0 - alpha) * warped.astype(np.float32)
    if alpha > 0.0:
        warped = cv2.remap(img_b, bx, by, flags, borderMode=border).reshape(img_b.shape)
        frame += np.float32(alpha) * warped.astype(np.float32)
    return clip_to_dtype(frame, img_a.dtype)


def _match_layout(other: np.ndarray, image: np.ndarray) -> np.ndarray:
    """``other`` resized to ``image``'s size and converted to its dtype and channels."""
    import cv2

    h, w = image.shape[:2]
    vals = to_unit(other, np.float32)
    if vals.shape[:2] != (h, w):
        vals = cv2.resize(vals, (w, h), interpolation=cv2.INTER_AREA
                          if vals.shape[0] * vals.shape[1] > h * w else cv2.INTER_LINEAR)
        if other.ndim == 3 and vals.ndim == 2:
            vals = vals[..., None]
    want = 1 if image.ndim == 2 else image.shape[2]
    have = 1 if vals.ndim == 2 else vals.shape[2]
    colour = vals if vals.ndim == 2 else vals[..., :3]
    alpha = vals[..., 3] if have == 4 else np.ones((h, w), np.float32)
    if want == 1:
        if colour.ndim == 3:
            colour = luma(colour)
        out = colour
    else:
        if colour.ndim == 2:
            colour = np.repeat(colour[..., None], 3, axis=2)
        out = colour if want == 3 else np.dstack([colour, alpha])
    return from_unit(out, image.dtype)


def _prepare(
    image: np.ndarray,
    other: np.ndarray,
    points_a: np.ndarray | None,
    points_b: np.ndarray | None,
    detector: str,
    progress: Progress | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, Progress]:
    """Checked inputs of the operation: both images in one layout and two point sets with
    the border points."""
    image = check_image(image)
    other = check_image(other, "other")
    progress = token(progress)
    if points_a is None:
        progress(0.0, "finding landmarks in image")
        points_a = face_points(image, model=LANDMARK_MODEL, detector=detector,
                               progress=progress.sub(0.0, 0.3))
    else:
        points_a = check_points(points_a, "points_a")
    if points_b is None:
        progress(0.3, "finding landmarks in other")
        points_b = face_points(other, model=LANDMARK_MODEL, detector=detector, name="other",
                               progress=progress.sub(0.3, 0.6))
    else:
        points_b = check_points(points_b, "points_b")
    if len(points_a) != len(points_b):
        raise ValueError(f"points_a and points_b must have the same number of points; got "
                         f"{len(points_a)} and {len(points_b)}")
    h, w = image.shape[:2]
    oh, ow = other.shape[:2]
    for name, pts, (ph, pw) in (("points_a", points_a, (h, w)), ("points_b", points_b, (oh, ow))):
        if len(pts) and (pts.min() < -0.5 or np.any(pts.max(axis=0) > (pw - 0.5, ph - 0.5))):
            raise ValueError(f"{name} must lie inside its {pw}×{ph} image")
    if h < 2 or w < 2:
        raise ValueError(f"image must be at least 2×2 pixels to morph; got {w}×{h}")
    # other's points follow it when it is resized onto image's grid (pixel-centre convention)
    scale = np.array([w / ow, h / oh])
    points_b = (points_b + 0.5) * scale - 0.5
    other = _match_layout(other, image)
    return (image, other, add_border_points(points_a, image.shape),
            add_border_points(points_b, image.shape), progress)


def prepare_pair(
    image: np.ndarray, other: np.ndarray, points_a: np.ndarray, points_b: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The inputs of :func:`morph_frame` as ``faces.morph`` makes them from given points.

    ``other`` is resized to ``image``'s size and converted to its dtype and channels (its
    points scaled with it); both point sets get the 8 :func:`border_points`. Returns
    ``(image, other, pts_a, pts_b)``; point sets of different lengths or outside their image
    raise ``ValueError``.
    """
    image, other, pts_a, pts_b, _ = _prepare(image, other, points_a, points_b, "hog", None)
    return image, other, pts_a, pts_b


def morph_sequence(
    image: np.ndarray,
    other: np.ndarray,
    points_a: np.ndarray | None = None,
    points_b: np.ndarray | None = None,
    *,
    frames: int = 20,
    detector: str = "hog",
    progress: Progress | None = None,
) -> list[np.ndarray]:
    """``frames`` morph frames from ``image`` (alpha 0) to ``other`` (alpha 1), evenly spaced.

    Same inputs and conventions as the ``faces.morph`` operation; landmarks are detected once.
    """
    if frames < 2:
        raise ValueError(f"frames must be >= 2; got {frames}")
    image, other, pts_a, pts_b, progress = _prepare(image, other, points_a, points_b,
                                                    detector, progress)
    out = []
    for k, alpha in enumerate(np.linspace(0.0, 1.0, frames)):
        progress(0.6 + 0.4 * k / frames, f"frame {k + 1} of {frames}")
        out.append(morph_frame(image, other, pts_a, pts_b, float(alpha)))
    progress(1.0, f"{frames} frames")
    return out


def wizard_triangulation(a: np.ndarray, b: np.ndarray, pts_a: np.ndarray, pts_b: np.ndarray,
                         progress: Progress) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For the face-morph wizard: the average shape at alpha 0.5 (border points included),
    its Delaunay triangles and the morph at 0.5, with B fitted to A as ``faces.morph`` does."""
    progress(0.0, "average shape")
    image, other, pa, pb = prepare_pair(a, b, pts_a, pts_b)
    shape = average_shape(pa, pb, 0.5)
    triangles = delaunay_triangles(shape, image.shape)
    progress(0.3, "warping both faces onto it")
    middle = morph_frame(image, other, pa, pb, 0.5)
    progress(1.0, f"{len(triangles)} triangles")
    return shape, triangles, middle


def wizard_frames(a: np.ndarray, b: np.ndarray, pts_a: np.ndarray, pts_b: np.ndarray,
                  alphas: list[float], progress: Progress) -> dict[float, np.ndarray]:
    """For the face-morph wizard: :func:`morph_frame` at each alpha, as ``faces.morph``
    makes it (border points added, B fitted to A)."""
    image, other, pa, pb = prepare_pair(a, b, pts_a, pts_b)
    out = {}
    for k, alpha in enumerate(alphas):
        progress(k / len(alphas), f"frame {k + 1} of {len(alphas)} (alpha {alpha:.2f})")
        out[alpha] = morph_frame(image, other, pa, pb, alpha)
    progress(1.0, f"{len(alphas)} frame(s)")
    return out


FACE_MORPH_WIZARD = Wizard(
    "face_morph", "&Face Morph…",
    ops={"detect": "faces.detect", "landmarks": "faces.landmarks"},
    functions={"triangulate": wizard_triangulation, "frames": wizard_frames},
    tip="Morph one face into another: landmarks, frames, GIF/MP4")


@operation("faces.morph", title="Morph faces", menu="Faces",
           editor=Editor(wizard=FACE_MORPH_WIZARD))
def morph(
    image: Image,
    other: Image,
    points_a: Points | None = None,
    points_b: Points | None = None,
    *,
    frames: Annotated[int, Range(2, 240)] = 20,
    alpha: Annotated[float, Range(0.0, 1.0, step=0.01)] = 0.5,
    detector: Detector = "hog",
    progress: Progress | None = None,
) -> Image:
    """Morph one face into another: the in-between frame at ``alpha``.

    Both images are warped onto the average shape ``(1 - alpha)·A + alpha·B`` of their
    corresponding points — piecewise affine over the shape's Delaunay triangles — and
    cross-dissolved ``(1 - alpha)·image + alpha·other``. Points not given are detected:
    dlib's 68 landmarks of the most confident face (iBUG 300-W model: non-commercial
    licence, see ``faces.landmarks``). The 8 border points (corners and edge middles) are
    always added to both sets so the whole picture morphs.

    ``other`` is resized to ``image``'s size (its points scaled with it) and converted to its
    dtype and channels (gray ↔ RGB by BT.601 luma / replication, missing alpha = opaque).

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Start of the morph (alpha 0).
    other : (H', W'[, C]) ndarray
        End of the morph (alpha 1).
    points_a : (N, 2) ndarray, optional
        Points (x, y) in ``image``; detected when not given.
    points_b : (N, 2) ndarray, optional
        The corresponding points in ``other`` (in its own pixel grid); detected when not
        given. Must have as many points as ``points_a``.
    frames : int
        Number of frames of the sequence the morph wizard and export make
        (``morph_sequence``: alphas 0, 1/(frames-1), ..., 1); the operation itself returns
        the single frame at ``alpha``.
    alpha : float
        Position in the morph, 0 = ``image``, 1 = ``other``.
    detector : {"hog", "cnn", "haar"}
        Face detector for the automatic landmarks (see ``faces.detect``).
    progress : Progress, optional
        Progress and cancellation.

    Returns
    -------
    ndarray
        Same shape and dtype as ``image``.

    Raises
    ------
    ValueError
        "no face found" where points must be detected; point sets of different lengths or
        outside their images.
    """
    image, other, pts_a, pts_b, progress = _prepare(image, other, points_a, points_b,
                                                    detector, progress)
    progress(0.6, f"morphing (alpha {alpha:g})")
    out = morph_frame(image, other, pts_a, pts_b, alpha)
    progress(1.0, "morphed")
    return out
