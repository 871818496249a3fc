"""Basic image operations: colour, tone, geometry and colour selection.

Every function takes an ``Image`` first and keyword-only parameters, never mutates its input and
returns the input's dtype unless its docstring says otherwise. OpenCV, scikit-image, SciPy and
scikit-learn are imported inside the functions so that discovering operations stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

import numpy as np

from imgstudio.core.spec import operation
from imgstudio.core.types import Image, Labels, Points, Range, check_image, check_points, dtype_max

# -- helpers ----------------------------------------------------------------------------------


def _cast(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Clip float ``values`` (in intensity units of ``dtype``) to its range; round for ints."""
    top = dtype_max(dtype)
    if np.dtype(dtype).kind == "f":
        return np.clip(values, 0.0, top).astype(dtype, copy=False)
    return np.clip(np.rint(values), 0.0, top).astype(dtype)


def _tone(image: np.ndarray, curve: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Apply a tone ``curve`` (intensity units in, intensity units out) to the colour channels.

    Integer images go through an exact lookup table computed in float64; float images are
    mapped directly. An alpha channel is carried through untouched.
    """
    dtype = image.dtype
    if dtype.kind == "f":

        def mapped(x: np.ndarray) -> np.ndarray:
            return _cast(curve(x), dtype)

    else:
        lut = _cast(curve(np.arange(int(dtype_max(dtype)) + 1, dtype=np.float64)), dtype)

        def mapped(x: np.ndarray) -> np.ndarray:
            return lut[x]

    if image.ndim == 3 and image.shape[2] == 4:
        out = image.copy()
        out[..., :3] = mapped(image[..., :3])
        return out
    return mapped(image)


def _as_float(image: np.ndarray) -> np.ndarray:
    """``image`` as float64 in [0, 1]."""
    return image.astype(np.float64) / dtype_max(image.dtype)


def _require_rgb(image: np.ndarray) -> np.ndarray:
    """The RGB channels of an RGB(A) image; ``ValueError`` naming ``image`` for grey."""
    if image.ndim != 3:
        raise ValueError(f"image must be RGB or RGBA (H, W, 3|4); got grey shape {image.shape}")
    return image[..., :3]


def _cv_interp(name: str) -> int:
    import cv2

    return {
        "nearest": cv2.INTER_NEAREST,
        "linear": cv2.INTER_LINEAR,
        "cubic": cv2.INTER_CUBIC,
        "area": cv2.INTER_AREA,
        "lanczos": cv2.INTER_LANCZOS4,
    }[name]


def _finish_warp(warped: np.ndarray, image: np.ndarray) -> np.ndarray:
    """Restore the channel axis OpenCV drops and clip float results to [0, 1]."""
    if image.ndim == 3 and warped.ndim == 2:
        warped = warped[..., None]
    if image.dtype.kind == "f":
        warped = np.clip(warped, 0.0, 1.0)
    return warped.astype(image.dtype, copy=False)


# Geometric ops below call OpenCV on RGB(A) directly: resampling treats every channel alike,
# so the channel order does not matter and no RGB<->BGR conversion is needed.


# -- colour -----------------------------------------------------------------------------------


@operation("basic.grayscale", title="Grayscale", menu="Image/Color")
def grayscale(image: Image) -> Image:
    """Convert to grey with the ITU-R BT.601 luma weights (0.299 R + 0.587 G + 0.114 B).

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image. A grey image is returned as a copy; the alpha of RGBA is dropped.

    Returns
    -------
    (H, W) ndarray
        Luma, same dtype as ``image`` (rounded for integer dtypes).
    """
    image = check_image(image)
    if image.ndim == 2:
        return image.copy()
    rgb = image[..., :3].astype(np.float64)
    luma = rgb @ np.array([0.299, 0.587, 0.114])
    return _cast(luma, image.dtype)


@operation("basic.invert", title="Invert", menu="Image/Adjust")
def invert(image: Image) -> Image:
    """Invert intensities: max - x (max = 255, 65535 or 1.0); alpha is kept.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image.

    Returns
    -------
    ndarray
        Negative of ``image``, same shape and dtype.
    """
    image = check_image(image)
    top = image.dtype.type(dtype_max(image.dtype))
    if image.ndim == 3 and image.shape[2] == 4:
        out = image.copy()
        np.subtract(top, image[..., :3], out=out[..., :3])
        return out
    return np.subtract(top, image)


_SPACES = ("hsv", "lab", "luv", "xyz", "ycrcb", "ycbcr", "yuv", "yiq", "ypbpr", "hed")


@operation("basic.convert_color", title="Convert colour space", menu="Image/Color")
def convert_color(
    image: Image,
    *,
    space: Literal[
        "hsv", "lab", "luv", "xyz", "ycrcb", "ycbcr", "yuv", "yiq", "ypbpr", "hed"
    ] = "hsv",
    channel: Annotated[int, Range(-1, 2)] = -1,
) -> Image:
    """Convert RGB to another colour space, each channel scaled to [0, 1] (float32 output).

    Colour-space values are not intensities, so the result is always float32, and each channel
    is mapped linearly onto [0, 1] from the range it takes over the sRGB gamut:

    ======  ============================  ==========================================
    space   channels                      scaling of the ``skimage.color`` values
    ======  ============================  ==========================================
    hsv     H, S, V                       none (already [0, 1])
    lab     L*, a*, b*                    L/100, (a + 128)/255, (b + 128)/255
    luv     L*, u*, v*                    L/100, (u + 134)/354, (v + 140)/262
    xyz     X, Y, Z (D65)                 divided by the white point (0.9505, 1, 1.0888)
    ycrcb   Y, Cr, Cb (BT.601 studio)     divided by 255 (Y in [16, 235]/255)
    ycbcr   Y, Cb, Cr (BT.601 studio)     divided by 255
    yuv     Y, U, V                       (v - lo)/(hi - lo), lo/hi from the matrix
    yiq     Y, I, Q                       (v - lo)/(hi - lo), lo/hi from the matrix
    ypbpr   Y, Pb, Pr                     Y, Pb + 0.5, Pr + 0.5
    hed     haematoxylin, eosin, DAB      divided by the largest optical density
    ======  ============================  ==========================================

    (lab and luv use the same offsets as OpenCV's 8-bit conversions.) Results are clipped to
    [0, 1] against rounding.

    Parameters
    ----------
    image : (H, W, 3|4) ndarray
        RGB image; alpha is ignored. Grey images raise ``ValueError``.
    space : str
        Target colour space.
    channel : int
        -1 returns all three channels; 0, 1 or 2 returns just that channel as a grey image.

    Returns
    -------
    (H, W, 3) or (H, W) float32 ndarray
    """
    from skimage import color
    from skimage.color import colorconv

    image = check_image(image)
    rgb = _as_float(_require_rgb(image))
    if space not in _SPACES:
        raise ValueError(f"space must be one of {', '.join(_SPACES)}; got {space!r}")
    if not -1 <= channel <= 2:
        raise ValueError(f"channel must be -1, 0, 1 or 2; got {channel!r}")

    def linear(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # bounds of  matrix @ rgb  over the unit cube: sum of negative / positive entries
        return np.minimum(matrix, 0).sum(axis=1), np.maximum(matrix, 0).sum(axis=1)

    if space == "hsv":
        raw, lo, hi = color.rgb2hsv(rgb), np.zeros(3), np.ones(3)
    elif space == "lab":
        raw, lo, hi = color.rgb2lab(rgb), np.array([0, -128, -128]), np.array([100, 127, 127])
    elif space == "luv":
        raw, lo, hi = color.rgb2luv(rgb), np.array([0, -134, -140]), np.array([100, 220, 122])
    elif space == "xyz":
        raw, lo, hi = color.rgb2xyz(rgb), *linear(colorconv.xyz_from_rgb)
    elif space in ("ycbcr", "ycrcb"):
        raw, lo, hi = color.rgb2ycbcr(rgb), np.zeros(3), np.full(3, 255.0)
        if space == "ycrcb":
            raw = raw[..., [0, 2, 1]]
    elif space == "yuv":
        raw, lo, hi = color.rgb2yuv(rgb), *linear(colorconv.yuv_from_rgb)
    elif space == "yiq":
        raw, lo, hi = color.rgb2yiq(rgb), *linear(colorconv.yiq_from_rgb)
    elif space == "ypbpr":
        raw, lo, hi = color.rgb2ypbpr(rgb), *linear(colorconv.ypbpr_from_rgb)
    else:  # hed: optical densities in [0, 1] times hed_from_rgb (stains = od @ matrix)
        raw, lo, hi = color.rgb2hed(rgb), np.zeros(3), np.maximum(colorconv.hed_from_rgb, 0).sum(0)
    out = np.clip((raw - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)
    return out if channel == -1 else np.ascontiguousarray(out[..., channel])


@operation("basic.quantize", title="Quantize colours", menu="Image/Color")
def quantize(
    image: Image,
    *,
    colors: Annotated[int, Range(2, 256)] = 8,
) -> Image:
    """Reduce the image to at most N colours with k-means clustering.

    k-means (scikit-learn, ``random_state=0``, so the result is deterministic) is fitted on at
    most 20,000 pixels drawn with a fixed seed; every pixel then takes its nearest centre.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image; grey images are quantised in intensity, alpha is kept as is.
    colors : int
        Largest number of distinct colours in the result.

    Returns
    -------
    ndarray
        Same shape and dtype as ``image``, with at most ``colors`` distinct colours.
    """
    from sklearn.cluster import KMeans

    image = check_image(image)
    if not 2 <= colors <= 256:
        raise ValueError(f"colors must be in [2, 256]; got {colors!r}")
    color_part = image[..., :3] if image.ndim == 3 else image[..., None]
    pixels = color_part.reshape(-1, color_part.shape[-1]).astype(np.float32)
    rng = np.random.default_rng(0)
    sample = (
        pixels if len(pixels) <= 20_000 else pixels[rng.choice(len(pixels), 20_000, replace=False)]
    )
    distinct = len(np.unique(sample, axis=0))
    k = min(colors, distinct)  # fewer distinct values than clusters would make k-means warn
    km = KMeans(n_clusters=k, n_init=1, random_state=0).fit(sample)
    centres = _cast(km.cluster_centers_, image.dtype)
    quantised = centres[km.predict(pixels)].reshape(color_part.shape)
    out = image.copy()
    if image.ndim == 2:
        out[...] = quantised[..., 0]
    else:
        out[..., :3] = quantised
    return out


# -- tone -------------------------------------------------------------------------------------


@operation("basic.brightness_contrast", title="Brightness / contrast", menu="Image/Adjust")
def brightness_contrast(
    image: Image,
    *,
    brightness: Annotated[float, Range(-1.0, 1.0, step=0.01)] = 0.0,
    contrast: Annotated[float, Range(0.0, 10.0, step=0.05)] = 1.0,
) -> Image:
    """Scale contrast about mid-grey and shift brightness: (x - mid)·contrast + mid + b·max.

    ``max`` is 255, 65535 or 1.0 and ``mid = max / 2``; the result is clipped to the dtype's
    range (and rounded for integer dtypes). Alpha is kept.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image.
    brightness : float
        Shift as a fraction of the full range, in [-1, 1].
    contrast : float
        Gain around mid-grey; 1 leaves the image unchanged, 0 makes it flat grey.

    Returns
    -------
    ndarray
        Same shape and dtype as ``image``.
    """
    image = check_image(image)
    if not -1.0 <= brightness <= 1.0:
        raise ValueError(f"brightness must be in [-1, 1]; got {brightness!r}")
    if contrast < 0:
        raise ValueError(f"contrast must be >= 0; got {contrast!r}")
    top = dtype_max(image.dtype)
    offset = top / 2 * (1.0 - contrast) + brightness * top  # the formula above, expanded
    return _tone(image, lambda x: x * contrast + offset)


@operation("basic.gamma", title="Gamma", menu="Image/Adjust")
def gamma(
    image: Image,
    *,
    gamma: Annotated[float, Range(0.01, 10.0, step=0.01)] = 1.0,
) -> Image:
    """Gamma correction max·(x/max)^(1/gamma): gamma > 1 brightens, gamma < 1 darkens.

    The convention is that of the gamma slider of levels dialogs (and of ``basic.levels``);
    it equals ``skimage.exposure.adjust_gamma(image, 1 / gamma)``. Alpha is kept.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image.
    gamma : float
        Gamma, > 0; 1 leaves the image unchanged.

    Returns
    -------
    ndarray
        Same shape and dtype as ``image`` (rounded for integer dtypes).
    """
    image = check_image(image)
    if not gamma > 0:
        raise ValueError(f"gamma must be > 0; got {gamma!r}")
    top = dtype_max(image.dtype)
    return _tone(image, lambda x: top * (x / top) ** (1.0 / gamma))


@operation("basic.levels", title="Levels", menu="Image/Adjust")
def levels(
    image: Image,
    *,
    black: Annotated[float, Range(0.0, 255.0)] = 0.0,
    white: Annotated[float, Range(0.0, 255.0)] = 255.0,
    gamma: Annotated[float, Range(0.01, 10.0, step=0.01)] = 1.0,
) -> Image:
    """Stretch the input range [black, white] to the full range, then apply a gamma.

    ``out = clip((x - b) / (w - b), 0, 1) ** (1 / gamma) * max`` where ``b`` and ``w`` are
    ``black`` and ``white`` scaled from 8-bit levels to the image's range (``black / 255 *
    max``), so the same settings work for uint8, uint16 and float images. Alpha is kept.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image.
    black : float
        Input level that becomes black, in 8-bit units (0-255).
    white : float
        Input level that becomes white, in 8-bit units; must be greater than ``black``.
    gamma : float
        Mid-tone gamma; > 1 brightens, < 1 darkens.

    Returns
    -------
    ndarray
        Same shape and dtype as ``image``.
    """
    image = check_image(image)
    if not white > black:
        raise ValueError(f"white must be greater than black ({black!r}); got {white!r}")
    if not gamma > 0:
        raise ValueError(f"gamma must be > 0; got {gamma!r}")
    top = dtype_max(image.dtype)
    lo, hi = black / 255.0 * top, white / 255.0 * top
    return _tone(image, lambda x: np.clip((x - lo) / (hi - lo), 0.0, 1.0) ** (1.0 / gamma) * top)


# -- geometry ---------------------------------------------------------------------------------


@operation("basic.crop", title="Crop", menu="Image/Transform")
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


@operation("basic.resize", title="Resize", menu="Image/Transform")
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
    for name, value in (("width", width), ("height", height)):
        if value < 0:
            raise ValueError(f"{name} must be >= 0; got {value!r}")
    if width == 0 and height == 0:
        return image.copy()
    if width == 0:
        width = max(1, round(cols * height / rows))
    elif height == 0:
        height = max(1, round(rows * width / cols))
    out = cv2.resize(
        np.ascontiguousarray(image), (width, height), interpolation=_cv_interp(interpolation)
    )
    return _finish_warp(out, image)


def _fit_canvas(image: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Centre ``image`` on a zero canvas of ``rows`` × ``cols``, cropping where it is larger."""
    out = np.zeros((rows, cols, *image.shape[2:]), dtype=image.dtype)
    r, c = image.shape[:2]
    src_r, dst_r = max(0, (r - rows) // 2), max(0, (rows - r) // 2)
    src_c, dst_c = max(0, (c - cols) // 2), max(0, (cols - c) // 2)
    h, w = min(r, rows), min(c, cols)
    out[dst_r : dst_r + h, dst_c : dst_c + w] = image[src_r : src_r + h, src_c : src_c + w]
    return out


@operation("basic.rotate", title="Rotate", menu="Image/Transform")
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
    centre = ((cols - 1) / 2.0, (rows - 1) / 2.0)
    matrix = cv2.getRotationMatrix2D(centre, angle, 1.0)  # OpenCV: positive = counter-clockwise
    matrix[0, 2] += (new_cols - 1) / 2.0 - centre[0]
    matrix[1, 2] += (new_rows - 1) / 2.0 - centre[1]
    out = cv2.warpAffine(
        np.ascontiguousarray(image),
        matrix,
        (new_cols, new_rows),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )
    return _finish_warp(out, image)


@operation("basic.flip", title="Flip", menu="Image/Transform")
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


def _polygon_area(points: np.ndarray) -> float:
    x, y = points[:, 0], points[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


@operation("basic.perspective", title="Perspective correction", menu="Image/Transform")
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
    if width == 0:
        width = int(round(max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl)))) + 1
    if height == 0:
        height = int(round(max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr)))) + 1
    if width < 1 or height < 1:
        raise ValueError(f"width and height must be >= 1; got {width!r} x {height!r}")
    rect = np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], np.float32)
    matrix = cv2.getPerspectiveTransform(quad.astype(np.float32), rect)
    out = cv2.warpPerspective(
        np.ascontiguousarray(image),
        matrix,
        (width, height),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )
    return _finish_warp(out, image)


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


@operation("basic.affine", title="Affine transform", menu="Image/Transform")
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
    out = cv2.warpAffine(
        np.ascontiguousarray(image),
        forward,
        (cols, rows),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )
    return _finish_warp(out, image)


@operation("basic.elastic", title="Elastic deformation", menu="Image/Transform")
def elastic(
    image: Image,
    *,
    alpha: Annotated[float, Range(0.0, 1000.0)] = 34.0,
    sigma: Annotated[float, Range(0.0, 100.0)] = 4.0,
    seed: Annotated[int, Range(0, 2**31 - 1)] = 0,
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
    if alpha < 0:
        raise ValueError(f"alpha must be >= 0; got {alpha!r}")
    if sigma < 0:
        raise ValueError(f"sigma must be >= 0; got {sigma!r}")
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
        out_planes[..., c] = _cast(warped, image.dtype)
    return out


# -- selection --------------------------------------------------------------------------------


@operation("basic.color_mask", title="Select by colour", menu="Select")
def color_mask(
    image: Image,
    *,
    hue_min: Annotated[float, Range(0.0, 360.0)] = 0.0,
    hue_max: Annotated[float, Range(0.0, 360.0)] = 30.0,
    sat_min: Annotated[float, Range(0.0, 1.0, step=0.01)] = 0.3,
    val_min: Annotated[float, Range(0.0, 1.0, step=0.01)] = 0.2,
) -> Labels:
    """Mask of the pixels whose HSV colour lies in a hue range with enough saturation and value.

    Hue, saturation and value come from ``skimage.color.rgb2hsv``; a pixel is selected when
    ``hue_min <= hue <= hue_max`` (in degrees; when ``hue_min > hue_max`` the range wraps
    through red, e.g. 340..20), ``saturation >= sat_min`` and ``value >= val_min``.

    Parameters
    ----------
    image : (H, W, 3|4) ndarray
        RGB image; alpha is ignored. Grey images raise ``ValueError``.
    hue_min, hue_max : float
        Hue range in degrees, 0-360.
    sat_min : float
        Smallest saturation, 0-1.
    val_min : float
        Smallest value (brightness), 0-1.

    Returns
    -------
    (H, W) uint8 ndarray
        Labels: 1 for selected pixels, 0 elsewhere.
    """
    from skimage.color import rgb2hsv

    image = check_image(image)
    hsv = rgb2hsv(_as_float(_require_rgb(image)))
    for name, value, hi in (
        ("hue_min", hue_min, 360.0),
        ("hue_max", hue_max, 360.0),
        ("sat_min", sat_min, 1.0),
        ("val_min", val_min, 1.0),
    ):
        if not 0.0 <= value <= hi:
            raise ValueError(f"{name} must be in [0, {hi:g}]; got {value!r}")
    hue = hsv[..., 0] * 360.0
    if hue_min <= hue_max:
        in_hue = (hue >= hue_min) & (hue <= hue_max)
    else:
        in_hue = (hue >= hue_min) | (hue <= hue_max)
    selected = in_hue & (hsv[..., 1] >= sat_min) & (hsv[..., 2] >= val_min)
    return selected.astype(np.uint8)
