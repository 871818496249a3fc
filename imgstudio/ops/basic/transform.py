"""Basic geometry: crop, resize, rotate, flip, perspective, affine, elastic."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np

from imgstudio.core.editor import Editor
from imgstudio.core.limits import check_pixels
from imgstudio.core.spec import operation
from imgstudio.core.types import Image, Points, Range, check_image, check_points
from imgstudio.ops._params import Seed
from imgstudio.ops._pixels import clip_to_dtype, warped_like
from imgstudio.ops.basic._common import _cv_interp

# Geometric ops below call OpenCV on RGB(A) directly: resampling treats every channel alike,
# so the channel order does not matter and no RGB<->BGR conversion is needed.


#: Pixels move: a crop of the input is not a crop of the output.
GEOMETRY = Editor(geometry=True)


@operation("basic.crop", title="Crop", menu="Image/Transform",
           editor=Editor(geometry=True, region=("x", "y", "width", "height")))
def crop(
    image: Image,
    *,
    x: Annotated[int, Range(0, None)] = 0,
    y: Annotated[int, Range(0, None)] = 0,
    width: Annotated[int, Range(1, None)],
    height: Annotated[int, Range(1, None)],
) -> Image:
    """Cut out the width × height rectangle whose top-left pixel is (x, y).

    Parameters
    ----------
    image : (H, W[, C]) ndarray
        Input image.
    x, y : int
        Column and row of the rectangle's top-left pixel (>= 0).
    width, height : int
        Size of the rectangle (>= 1); it must lie inside the image.

    Returns
    -------
    (height, width[, C]) ndarray
        A copy of ``image[y:y + height, x:x + width]``.
    """
    image = check_image(image)
    rows, cols = image.shape[:2]
    for name, value, lo, size in (("x", x, 0, cols), ("y", y, 0, rows)):
        if not lo <= value < size:
            raise ValueError(f"{name} must be in [0, {size - 1}] for this image; got {value!r}")
    if not 1 <= width <= cols - x:
        raise ValueError(f"width must be in [1, {cols - x}] (x + width <= {cols}); got {width!r}")
    if not 1 <= height <= rows - y:
        raise ValueError(
            f"height must be in [1, {rows - y}] (y + height <= {rows}); got {height!r}"
        )
    return image[y : y + height, x : x + width].copy()


@operation("basic.resize", title="Resize", menu="Image/Transform", editor=GEOMETRY)
def resize(
    image: Image,
    *,
    width: Annotated[int, Range(0, 65535)] = 0,
    height: Annotated[int, Range(0, 65535)] = 0,
    interpolation: Literal["area", "nearest", "linear", "cubic", "lanczos"] = "area",
) -> Image:
    """Resample to width × height pixels with cv2.resize.

    A size of 0 is computed from the other one keeping the aspect ratio; with both 0 the
    image keeps its size (a copy is returned).

    Parameters
    ----------
    image : (H, W[, C]) ndarray
        Input image.
    width, height : int
        New size in pixels; 0 means "keep the aspect ratio".
    interpolation : str
        ``area`` (best for shrinking), ``nearest``, ``linear``, ``cubic`` or ``lanczos``.

    Returns
    -------
    (height, width[, C]) ndarray
        Same dtype as ``image`` (float results clipped to [0, 1]).
    """
    import cv2

    image = check_image(image)
    rows, cols = image.shape[:2]
    if width == 0 and height == 0:
        return image.copy()
    if width == 0:
        width = max(1, round(cols * height / rows))
    elif height == 0:
        height = max(1, round(rows * width / cols))
    _check_size(image, height, width, "width and height")
    out = cv2.resize(
        np.ascontiguousarray(image), (width, height), interpolation=_cv_interp(interpolation)
    )
    return warped_like(out, image)


def _check_size(image: np.ndarray, rows: int, cols: int, what: str) -> None:
    """The one size guard (:func:`~imgstudio.core.limits.check_pixels`) on an output of
    ``rows`` × ``cols`` pixels like ``image``, before it is allocated."""
    check_pixels(rows, cols, what=what, channels=1 if image.ndim == 2 else image.shape[2],
                 itemsize=image.dtype.itemsize)


def _warp(image: np.ndarray, matrix: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``image`` resampled into ``size`` (width, height) by a 2×3 affine or 3×3 perspective
    ``matrix`` (input → output): bilinear, 0 outside the input, the input's layout and dtype."""
    import cv2

    warp = cv2.warpPerspective if matrix.shape[0] == 3 else cv2.warpAffine
    out = warp(np.ascontiguousarray(image), matrix, size, flags=cv2.INTER_LINEAR,
               borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return warped_like(out, image)


def _fit_canvas(image: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Centre ``image`` on a zero canvas of ``rows`` × ``cols``, cropping where it is larger."""
    out = np.zeros((rows, cols, *image.shape[2:]), dtype=image.dtype)
    r, c = image.shape[:2]
    src_r, dst_r = max(0, (r - rows) // 2), max(0, (rows - r) // 2)
    src_c, dst_c = max(0, (c - cols) // 2), max(0, (cols - c) // 2)
    h, w = min(r, rows), min(c, cols)
    out[dst_r : dst_r + h, dst_c : dst_c + w] = image[src_r : src_r + h, src_c : src_c + w]
    return out


@operation("basic.rotate", title="Rotate", menu="Image/Transform", editor=GEOMETRY)
def rotate(
    image: Image,
    *,
    angle: Annotated[float, Range(-360.0, 360.0)] = 90.0,
    expand: bool = True,
) -> Image:
    """Rotate by angle degrees counter-clockwise about the image centre.

    Multiples of 90° are exact (``numpy.rot90``, no resampling). Other angles use
    ``cv2.warpAffine`` with bilinear interpolation; uncovered pixels are 0 (transparent for
    RGBA).

    Parameters
    ----------
    image : (H, W[, C]) ndarray
        Input image.
    angle : float
        Rotation in degrees; positive is counter-clockwise.
    expand : bool
        If True the canvas grows to hold the whole rotated image: a 90° turn swaps width and
        height, other angles give ``ceil(W·|cos| + H·|sin|)`` × ``ceil(W·|sin| + H·|cos|)``
        (width × height). If False it keeps the input size and the rotated image is centred on it,
        cropped where it sticks out and padded with 0 where it does not cover (for a
        non-square image turned by 90° that is the ``rot90`` result centre-cropped/padded).

    Returns
    -------
    ndarray
        Same dtype as ``image``.
    """
    import cv2

    image = check_image(image)
    rows, cols = image.shape[:2]
    quarter = angle / 90.0
    if abs(quarter - round(quarter)) < 1e-9:
        turned = np.rot90(image, int(round(quarter)) % 4)
        if expand or turned.shape == image.shape:
            return turned.copy()
        return _fit_canvas(turned, rows, cols)
    theta = np.deg2rad(angle)
    cos, sin = abs(np.cos(theta)), abs(np.sin(theta))
    if expand:
        new_cols = int(np.ceil(cols * cos + rows * sin - 1e-6))
        new_rows = int(np.ceil(cols * sin + rows * cos - 1e-6))
    else:
        new_cols, new_rows = cols, rows
    _check_size(image, new_rows, new_cols, "expand (the rotated canvas)")
    centre = ((cols - 1) / 2.0, (rows - 1) / 2.0)
    matrix = cv2.getRotationMatrix2D(centre, angle, 1.0)  # OpenCV: positive = counter-clockwise
    matrix[0, 2] += (new_cols - 1) / 2.0 - centre[0]
    matrix[1, 2] += (new_rows - 1) / 2.0 - centre[1]
    return _warp(image, matrix, (new_cols, new_rows))


@operation("basic.flip", title="Flip", menu="Image/Transform", editor=GEOMETRY)
def flip(
    image: Image,
    *,
    axis: Literal["horizontal", "vertical"] = "horizontal",
) -> Image:
    """Mirror the image left↔right (horizontal) or top↔bottom (vertical).

    Parameters
    ----------
    image : (H, W[, C]) ndarray
        Input image.
    axis : str
        ``horizontal`` mirrors left↔right (``numpy.fliplr``), ``vertical`` top↔bottom.

    Returns
    -------
    ndarray
        Same shape and dtype as ``image``.
    """
    image = check_image(image)
    if axis == "horizontal":
        return np.fliplr(image).copy()
    if axis == "vertical":
        return np.flipud(image).copy()
    raise ValueError(f"axis must be horizontal or vertical; got {axis!r}")


def _edge(length: float) -> int:
    """Pixels along an output edge of ``length``; huge lengths stay huge (for the size guard)
    rather than overflowing."""
    return int(round(min(float(length), 2.0**62))) + 1


def _polygon_area(points: np.ndarray) -> float:
    x, y = points[:, 0], points[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


@operation("basic.perspective", title="Perspective correction", menu="Image/Transform", editor=GEOMETRY)
def perspective(
    image: Image,
    corners: Points,
    *,
    width: Annotated[int, Range(0, 65535)] = 0,
    height: Annotated[int, Range(0, 65535)] = 0,
) -> Image:
    """Rectify the quadrilateral given by four corners onto a width × height rectangle.

    ``cv2.getPerspectiveTransform`` maps the corners onto the centres of the output's corner
    pixels, (0, 0), (width-1, 0), (width-1, height-1), (0, height-1); ``cv2.warpPerspective``
    resamples bilinearly, with 0 outside the input.

    Parameters
    ----------
    image : (H, W[, C]) ndarray
        Input image.
    corners : (4, 2) ndarray
        The quadrilateral in (x, y) pixel coordinates, in the order top-left, top-right,
        bottom-right, bottom-left.
    width, height : int
        Output size; 0 means the longer of the two opposite edges of the quadrilateral.

    Returns
    -------
    (height, width[, C]) ndarray
        Same dtype as ``image``.
    """
    import cv2

    image = check_image(image)
    quad = check_points(corners, "corners")
    if not np.all(np.isfinite(quad)):
        raise ValueError("corners must be finite numbers")
    if quad.shape != (4, 2):
        raise ValueError(f"corners must be exactly 4 points (x, y); got {len(quad)}")
    if _polygon_area(quad) < 1e-6:
        raise ValueError("corners must span a non-degenerate quadrilateral")
    tl, tr, br, bl = quad
    what = "width and height"
    if width == 0 or height == 0:
        what = "width and height (0: from the corners)"
    if width == 0:
        width = _edge(max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl)))
    if height == 0:
        height = _edge(max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr)))
    if width < 1 or height < 1:
        raise ValueError(f"width and height must be >= 1; got {width!r} x {height!r}")
    _check_size(image, height, width, what)
    rect = np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], np.float32)
    matrix = cv2.getPerspectiveTransform(quad.astype(np.float32), rect)
    return _warp(image, matrix, (width, height))


def _parse_matrix(text: str) -> np.ndarray:
    """Parse ``"a b c; d e f"`` (commas also allowed) into a 2×3 float array."""
    rows = [r for r in text.replace(",", " ").split(";") if r.strip()]
    try:
        values = [[float(v) for v in r.split()] for r in rows]
        matrix = np.array(values, dtype=np.float64)
    except ValueError:
        raise ValueError(f"matrix must be 6 numbers as 'a b c; d e f'; got {text!r}") from None
    if matrix.shape != (2, 3) or not np.all(np.isfinite(matrix)):
        raise ValueError(f"matrix must be 6 numbers as 'a b c; d e f'; got {text!r}")
    return matrix


@operation("basic.affine", title="Affine transform", menu="Image/Transform", editor=GEOMETRY)
def affine(
    image: Image,
    src: Points | None = None,
    dst: Points | None = None,
    *,
    matrix: str = "",
) -> Image:
    """Warp with the affine map taking 3 src points onto 3 dst points (or a 2×3 matrix).

    The map comes from ``cv2.getAffineTransform(src, dst)``, or, when no points are given,
    from ``matrix``. The output keeps the input size; ``cv2.warpAffine`` resamples bilinearly
    with 0 outside the input.

    Parameters
    ----------
    image : (H, W[, C]) ndarray
        Input image.
    src : (3, 2) ndarray, optional
        Three non-collinear points (x, y) in the input.
    dst : (3, 2) ndarray, optional
        Where those points go in the output.
    matrix : str
        Used when ``src``/``dst`` are not given: the 2×3 matrix mapping input (x, y, 1) to
        output (x, y) as text ``"a b c; d e f"``.

    Returns
    -------
    ndarray
        Same shape and dtype as ``image``.
    """
    import cv2

    image = check_image(image)
    if src is None and dst is None:
        if not matrix.strip():
            raise ValueError("matrix is empty and src/dst points are not given; give one of them")
        forward = _parse_matrix(matrix)
    else:
        if src is None or dst is None:
            missing = "src" if src is None else "dst"
            raise ValueError(f"{missing} is required when the other point set is given")
        pts = {}
        for name, value in (("src", src), ("dst", dst)):
            arr = check_points(value, name)
            if arr.shape != (3, 2) or not np.all(np.isfinite(arr)):
                raise ValueError(f"{name} must be exactly 3 finite points (x, y); got {arr!r}")
            pts[name] = arr
        if _polygon_area(pts["src"]) < 1e-6:
            raise ValueError("src points must not be collinear")
        forward = cv2.getAffineTransform(
            pts["src"].astype(np.float32), pts["dst"].astype(np.float32)
        )
    rows, cols = image.shape[:2]
    return _warp(image, forward, (cols, rows))


@operation("basic.elastic", title="Elastic deformation", menu="Image/Transform", editor=GEOMETRY)
def elastic(
    image: Image,
    *,
    alpha: Annotated[float, Range(0.0, 1000.0)] = 34.0,
    sigma: Annotated[float, Range(0.0, 100.0)] = 4.0,
    seed: Seed = 0,
) -> Image:
    """Warp with a random smooth displacement field (Simard et al. 2003).

    Each displacement component is uniform noise in [-1, 1] (``numpy.random.default_rng
    (seed)``) smoothed by a Gaussian of ``sigma`` and scaled by ``alpha``; every channel
    (alpha included) is resampled bilinearly (``scipy.ndimage.map_coordinates``, reflecting
    at the border). The same seed gives the same output; ``alpha = 0`` is the identity.

    Parameters
    ----------
    image : (H, W[, C]) ndarray
        Input image.
    alpha : float
        Strength of the displacement, in pixels before smoothing.
    sigma : float
        Smoothness of the field (Gaussian standard deviation, pixels).
    seed : int
        Seed of the random field.

    Returns
    -------
    ndarray
        Same shape and dtype as ``image``.
    """
    from scipy import ndimage

    image = check_image(image)
    rows, cols = image.shape[:2]
    rng = np.random.default_rng(seed)
    dy, dx = (
        ndimage.gaussian_filter(rng.uniform(-1.0, 1.0, (rows, cols)), sigma, mode="constant")
        * alpha
        for _ in range(2)
    )
    yy, xx = np.meshgrid(
        np.arange(rows, dtype=np.float64), np.arange(cols, dtype=np.float64), indexing="ij"
    )
    coords = np.stack([yy + dy, xx + dx])
    planes = image[..., None] if image.ndim == 2 else image
    out = np.empty_like(image)
    out_planes = out[..., None] if image.ndim == 2 else out
    for c in range(planes.shape[2]):
        warped = ndimage.map_coordinates(
            planes[..., c].astype(np.float64), coords, order=1, mode="reflect"
        )
        out_planes[..., c] = clip_to_dtype(warped, image.dtype)
    return out


# -- selection --------------------------------------------------------------------------------
