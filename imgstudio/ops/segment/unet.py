"""segment.unet: a foreground mask from a small U-Net trained by ``train.unet`` (or the
shipped ``unet-default``). torch is imported only when it runs."""

from __future__ import annotations

import math
from typing import Annotated, Any

import numpy as np

from imgstudio.core.editor import Editor
from imgstudio.core.progress import Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import Image, Labels, Range, check_image
from imgstudio.ops._pixels import as_unit, colour_part, token

#: Images up to this many pixels high and wide run in one pass; bigger ones in tiles.
TILE = 512
#: Context each tile gets on every side beyond the part it writes (a multiple of every
#: network's stride up to 2**5).
MARGIN = 64


def rgb_unit(image: np.ndarray) -> np.ndarray:
    """The image as the network sees it: (H, W, 3) float32 RGB in [0, 1] (grey repeated,
    alpha dropped, integers divided by their maximum)."""
    rgb = np.asarray(as_unit(colour_part(image), np.float32))
    if rgb.ndim == 2:
        rgb = np.repeat(rgb[..., None], 3, axis=2)
    return np.ascontiguousarray(np.clip(rgb, 0.0, 1.0), dtype=np.float32)


def _starts(length: int, core: int) -> list[int]:
    """Where the written parts of the tiles along one side begin: every ``core`` pixels, the
    last moved back so it ends at ``length`` (tiles overlap rather than run past the edge)."""
    count = math.ceil(length / core)
    return sorted({min(i * core, length - core) for i in range(count)})


def probabilities(net: Any, rgb: np.ndarray, stride: int, progress: Progress | None = None,
                  tile: int = TILE, margin: int = MARGIN) -> np.ndarray:
    """The network's foreground probability per pixel of ``rgb`` ((H, W, 3) float32 in
    [0, 1]), as (H, W) float32.

    The image is first mirrored out at the bottom and right to a multiple of ``stride`` (the
    network halves the size ``log2(stride)`` times), so the network's pooling grid starts at
    the image's first pixel however it is run. Up to ``tile`` pixels on both sides it runs
    once and the padding is cropped off. A bigger image is cut into tiles of ``tile`` pixels
    square at most, each writing its central ``tile - 2 * margin`` pixels and seeing up to
    ``margin`` pixels of the image around them (a tile at the image's edge sees the edge, as
    one pass would); every tile starts at a multiple of ``stride``, so tiles agree with one
    pass but where the context a tile lacks matters. ``progress`` is called per tile, so a
    cancel stops between tiles.
    """
    from imgstudio.models import loading

    torch = loading.torch("segment.unet")

    progress = token(progress)
    h, w = rgb.shape[:2]

    def run(window: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(np.ascontiguousarray(window.transpose(2, 0, 1)))[None]
        with torch.no_grad():
            return torch.sigmoid(net(x))[0, 0].numpy()

    full_h, full_w = h + (-h % stride), w + (-w % stride)
    padded = np.pad(rgb, ((0, full_h - h), (0, full_w - w), (0, 0)), mode="symmetric")
    if full_h <= tile and full_w <= tile:
        progress(0.1, "running network")
        return np.ascontiguousarray(run(padded)[:h, :w], dtype=np.float32)
    if tile % stride or margin % stride or tile <= 2 * margin:
        raise ValueError(f"tile {tile} and margin {margin} must be multiples of the stride "
                         f"{stride}, with tile > 2 × margin")
    core_h, core_w = min(tile - 2 * margin, full_h), min(tile - 2 * margin, full_w)
    ys, xs = _starts(full_h, core_h), _starts(full_w, core_w)  # multiples of the stride
    out = np.empty((full_h, full_w), dtype=np.float32)
    total = len(ys) * len(xs)
    for k, (y, x) in enumerate((y, x) for y in ys for x in xs):
        progress(0.05 + 0.9 * k / total, f"tile {k + 1}/{total}")
        y0, x0 = max(0, y - margin), max(0, x - margin)
        y1, x1 = min(full_h, y + core_h + margin), min(full_w, x + core_w + margin)
        prob = run(padded[y0:y1, x0:x1])
        out[y: y + core_h, x: x + core_w] = prob[y - y0: y - y0 + core_h, x - x0: x - x0 + core_w]
    return np.ascontiguousarray(out[:h, :w])


def load_net(model: str, param: str = "model") -> tuple[Any, Any, int, bool]:
    """The network of ``model`` (a store name, or a ``.pt`` file with its card beside it),
    in eval mode and cached per process: ``(net, lock, stride, loaded_now)``."""
    from imgstudio.models import loading, store
    from imgstudio.ops._training import find_trained, sub_state

    loading.torch("segment.unet")
    from imgstudio.models.nets import unet as nets

    found = find_trained(model, nets.ARCHITECTURE, param=param)
    try:
        config = nets.check_config(found.config)
    except ValueError as exc:
        raise ValueError(f"{param}: model {found.name!r} has a damaged card ({exc})") from None

    def build() -> Any:
        net = nets.build(config)
        try:
            net.load_state_dict(sub_state(found.tensors, "unet"))
        except (RuntimeError, ValueError) as exc:
            raise ValueError(f"{param}: the weights of model {found.name!r} do not fit its "
                             f"U-Net settings {config} ({str(exc).splitlines()[0]})") from None
        return net.eval()

    net, lock, built = store.cached(("segment.unet", str(found.path), found.sha256), build)
    return net, lock, nets.stride(config), built


@operation("segment.unet", title="Segment with a U-Net", menu="Segment/Deep learning",
           editor=Editor(preview="region"))
def unet(
    image: Image,
    *,
    model: str = "unet-default",
    threshold: Annotated[float, Range(0.0, 1.0, step=0.05)] = 0.5,
    progress: Progress | None = None,
) -> Labels:
    """Foreground mask by a small U-Net: the shipped model, or one trained with ``train.unet``.

    The network (:mod:`imgstudio.models.nets.unet`) gives every pixel a foreground
    probability; pixels above ``threshold`` are 1. The image is read as RGB in [0, 1] (grey
    repeated, alpha ignored, 16-bit divided by 65,535), mirrored out to a multiple of the
    network's stride and cropped back, so any size works; images over 512 pixels on a side
    run in overlapping tiles of up to 512 pixels (64 pixels of context each side), with
    progress and Cancel between tiles.

    What the shipped ``unet-default`` segments: it was trained
    (``scripts/train/unet_default.py``, about 8 minutes on one CPU core) on the synthetic
    ``shapes`` dataset only: flat, vivid, high-contrast discs, ellipses, rectangles,
    triangles and polygons pasted onto crops of scikit-image's photographs. On held-out
    images of that kind its IoU is about 0.87 (0.869 on 256 validation crops of 64×64; its
    card records the numbers). It finds such shapes and nothing else: it does not know cells,
    objects or people, and dark or pale shapes on busy backgrounds are the ones it misses.
    For a real task, train a model on your own image/mask pairs with ``train.unet`` (Tools ▸
    Train) and pick it here by its name.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image, grey or RGB(A), 8-bit, 16-bit or float in [0, 1].
    model : str
        Model store name of a U-Net (``unet-default``, or the ``name`` given to
        ``train.unet``), or the path of a weights file with its model card beside it.
    threshold : float
        Probability above which a pixel is foreground (0.5: the more likely class).
    progress : Progress, optional
        Progress and cancellation (checked per tile).

    Returns
    -------
    (H, W) int32 ndarray
        1 = foreground, 0 = background, the image's size.
    """
    image = check_image(image)
    if not isinstance(model, str) or not model.strip():
        raise ValueError(f"model must be a model store name or a model file; got {model!r}")
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.floating)) \
            or not 0.0 <= float(threshold) <= 1.0:
        raise ValueError(f"threshold must be a number in [0, 1]; got {threshold!r}")
    progress = token(progress)
    progress(0.0, "loading model")
    net, lock, stride, _ = load_net(model.strip())
    progress.check()
    rgb = rgb_unit(image)
    with lock:
        prob = probabilities(net, rgb, stride, progress.sub(0.05, 0.95))
    labels = (prob > float(threshold)).astype(np.int32)
    progress(1.0, f"{int(labels.sum())} foreground pixel(s)")
    return labels
