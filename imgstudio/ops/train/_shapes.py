"""Synthetic segmentation data: filled shapes pasted onto crops of natural photos, with masks.

``train.unet``'s built-in ``shapes`` dataset, its held-out validation set and the shipped
``unet-default`` model's quality test all come from :func:`shapes`. Every image is

1. a square crop of one of scikit-image's shipped photographs (:data:`PHOTOS`, grey ones
   repeated to RGB), taken at full, half or quarter resolution, at a random place, randomly
   flipped;
2. with 0 to 4 shapes painted on it, each a flat colour: a disc, an ellipse, a rectangle
   (rotated), a triangle or a star-shaped polygon of 5 to 8 vertices, 10 % to 56 % of the side
   across, anywhere (partly outside the frame too). The colour is vivid and high-contrast: a
   random hue with HSV saturation 0.4 to 1, its luma (BT.601) in 0.12 to 0.9 and at least
   :data:`CONTRAST` away from the mean luma of the photo under the shape. Later shapes cover
   earlier ones;
3. with a little Gaussian noise (σ up to 0.03) over the whole image.

The mask is 1 where any shape was painted, 0 elsewhere. A seed gives the same images on any
machine (NumPy's PCG64 generator; the drawing is scikit-image's exact polygon/disc/ellipse
rasterisation).
"""

from __future__ import annotations

import functools

import numpy as np

#: scikit-image's shipped natural photographs used as backgrounds (no download needed), those
#: whose docstrings say public domain, CC0 or "no known copyright restrictions".
PHOTOS = ("astronaut", "camera", "coffee", "chelsea", "rocket", "coins", "grass", "gravel",
          "brick", "immunohistochemistry", "hubble_deep_field", "clock")
#: Least luma difference between a shape and the mean of the photo under it.
CONTRAST = 0.35
#: The lumas a shape may have: neither near black nor near white, which flat parts of the
#: photos are too (shadows, night sky, a white wall).
LUMA_RANGE = (0.12, 0.9)
#: Seed of the fixed validation set ``train.unet`` measures IoU on (not a training seed:
#: training images come from seeds the session's generator draws).
VALIDATION_SEED = 2_000_000_011
DESCRIPTION = ("synthetic shapes: vivid, high-contrast filled discs, ellipses, rectangles, "
               "triangles and polygons on crops of scikit-image's photos")
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


@functools.lru_cache(maxsize=1)
def photos() -> tuple[np.ndarray, ...]:
    """The background photos, float32 RGB in [0, 1], each at full, half and quarter size."""
    import cv2
    import skimage.data

    out = []
    for name in PHOTOS:
        im = np.asarray(getattr(skimage.data, name)())
        if im.ndim == 2:
            im = np.repeat(im[..., None], 3, axis=2)
        im = np.ascontiguousarray(im[..., :3], dtype=np.float32) / 255.0
        for scale in (1.0, 0.5, 0.25):
            if scale == 1.0:
                out.append(im)
            else:
                size = (max(1, round(im.shape[1] * scale)), max(1, round(im.shape[0] * scale)))
                out.append(cv2.resize(im, size, interpolation=cv2.INTER_AREA))
    return tuple(out)


def _crop(rng: np.random.Generator, size: int) -> np.ndarray:
    import cv2

    pool = photos()
    photo = pool[int(rng.integers(len(pool)))]
    h, w = photo.shape[:2]
    if h < size or w < size:  # a quarter-size photo smaller than the crop: enlarge it
        f = size / min(h, w)
        photo = cv2.resize(photo, (max(size, round(w * f)), max(size, round(h * f))),
                           interpolation=cv2.INTER_LINEAR)
        h, w = photo.shape[:2]
    y, x = int(rng.integers(h - size + 1)), int(rng.integers(w - size + 1))
    crop = photo[y:y + size, x:x + size]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    if rng.random() < 0.5:
        crop = crop[::-1]
    return np.array(crop, dtype=np.float32)


def _shape_mask(rng: np.random.Generator, size: int) -> np.ndarray:
    from skimage import draw

    mask = np.zeros((size, size), dtype=bool)
    r = rng.uniform(0.05, 0.28) * size  # half the extent: 10 % to 56 % of the side across
    cy, cx = rng.uniform(-0.05, 1.05, 2) * size
    kind = int(rng.integers(5))
    angle = rng.uniform(0, np.pi)
    if kind == 0:
        rr, cc = draw.disk((cy, cx), r, shape=mask.shape)
    elif kind == 1:
        rr, cc = draw.ellipse(cy, cx, r, r * rng.uniform(0.35, 0.9), shape=mask.shape,
                              rotation=angle)
    else:
        if kind == 2:  # a rectangle: four corners at ±half sides, rotated
            half = np.array([r, r * rng.uniform(0.3, 1.0)])
            corners = np.array([[-1, -1], [-1, 1], [1, 1], [1, -1]]) * half
        elif kind == 3:  # a triangle: three angles around the centre
            t = np.sort(rng.uniform(0, 2 * np.pi, 3))
            t[1:] = np.maximum(t[1:], t[:-1] + 0.6)
            corners = np.stack([np.cos(t), np.sin(t)], 1) * r
        else:  # a star-shaped polygon: 5 to 8 vertices at random radii
            n = int(rng.integers(5, 9))
            t = np.linspace(0, 2 * np.pi, n, endpoint=False) + rng.uniform(0, 0.5, n)
            corners = np.stack([np.cos(t), np.sin(t)], 1) * r * rng.uniform(0.45, 1.0, (n, 1))
        c, s = np.cos(angle), np.sin(angle)
        pts = corners @ np.array([[c, -s], [s, c]]) + [cy, cx]
        rr, cc = draw.polygon(pts[:, 0], pts[:, 1], shape=mask.shape)
    mask[rr, cc] = True
    return mask


def _colour(rng: np.random.Generator, under: float) -> np.ndarray:
    """A vivid colour (a random hue, HSV saturation 0.4 to 1) whose luma lies in
    :data:`LUMA_RANGE` and at least :data:`CONTRAST` from ``under``."""
    import colorsys

    lo, hi = LUMA_RANGE
    if under < 0.5:
        target = rng.uniform(under + CONTRAST, hi)
    else:
        target = rng.uniform(lo, under - CONTRAST)
    hue, saturation = rng.uniform(0.0, 1.0), rng.uniform(0.4, 1.0)
    colour = np.array(colorsys.hsv_to_rgb(hue, saturation, 1.0), dtype=np.float32)
    colour *= target / float(colour @ _LUMA)
    for _ in range(4):  # too bright for the hue: clip and lift the other channels
        colour = np.clip(colour, 0.0, 1.0)
        colour = np.clip(colour + (target - float(colour @ _LUMA)), 0.0, 1.0)
    return colour


def shapes(count: int, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` synthetic images ``(count, size, size, 3)`` float32 in [0, 1] and their masks
    ``(count, size, size)`` uint8 (1 = shape), made from ``seed`` (see the module docstring)."""
    return draw(np.random.default_rng(int(seed)), count, size)


def draw(rng: np.random.Generator, count: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The next ``count`` images and masks of the stream ``rng``: drawing 10 then 6 gives the
    16 that :func:`shapes` gives for the seed ``rng`` was made from."""
    x = np.empty((count, size, size, 3), dtype=np.float32)
    y = np.zeros((count, size, size), dtype=np.uint8)
    for i in range(count):
        image = _crop(rng, size)
        for _ in range(int(rng.choice(5, p=[0.04, 0.32, 0.28, 0.2, 0.16]))):
            mask = _shape_mask(rng, size)
            if not mask.any():
                continue
            image[mask] = _colour(rng, float(image[mask].mean(0) @ _LUMA))
            y[i][mask] = 1
        sigma = rng.uniform(0.0, 0.03)
        if sigma > 0:
            image += rng.normal(0.0, sigma, image.shape).astype(np.float32)
        x[i] = np.clip(image, 0.0, 1.0)
    return x, y
