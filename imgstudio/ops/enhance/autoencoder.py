"""enhance.denoise_autoencoder: remove noise with a trained denoising autoencoder.

The model is a DnCNN-style residual network (:mod:`imgstudio.models.nets.dae`) that predicts
the noise of a grey image; the op subtracts it. The shipped ``dae-default`` was trained by
``scripts/train/dae_default.py`` on scikit-image's shipped photos (``camera`` and
``astronaut`` held out); ``train.dae`` trains others, which this op takes by their model
store name or weights file.

Colour images are denoised one channel at a time (R, G and B with the same grey network):
Gaussian noise that is independent per channel stays so, whereas a luma/chroma transform
would mix it into channels of different strengths the network was not trained for.

The image is processed in tiles of :data:`TILE` pixels, each with the network's receptive
radius (one pixel per layer) of context that is cropped off, so a tiled result equals the
untiled one (up to float rounding), memory stays bounded, and the job can be cancelled
between tiles.
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np

from imgstudio.core.progress import Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import Image, Range, check_image
from imgstudio.ops._pixels import as_unit, from_unit, join_alpha, split_alpha, token

#: Tile side in pixels (before the context margin). One 256² tile of the default network
#: takes about 0.2 s on one CPU core (0.3 s on a loaded one).
TILE = 256


def load_denoiser(model: str) -> tuple[Any, Any, int, bool]:
    """The cached network of ``model`` (a store name or a weights file with its card), its
    lock, its receptive radius and whether this call loaded it."""
    from imgstudio.models import loading, store
    from imgstudio.ops._training import find_trained, sub_state

    loaded = find_trained(model, "dncnn-residual")
    dev = loading.device("enhance.denoise_autoencoder")

    def build() -> Any:
        from imgstudio.models.nets import dae

        net = dae.build(loaded.config, f"model {loaded.name!r}")
        try:
            net.load_state_dict(sub_state(loaded.tensors, "net"))
        except (RuntimeError, ValueError) as exc:
            raise ValueError(f"model: {loaded.name!r} does not fit its card's config "
                             f"{loaded.config} ({str(exc).splitlines()[0]})") from None
        return net.to(dev).eval()

    key = ("enhance.denoise_autoencoder", str(loaded.path), loaded.sha256, str(dev))
    net, lock, built = store.cached(key, build)
    from imgstudio.models.nets.dae import receptive_radius

    return net, lock, receptive_radius(loaded.config), built


def _spans(n: int, tile: int) -> list[tuple[int, int]]:
    """``[start, stop)`` spans covering ``0..n`` in ``ceil(n / tile)`` nearly equal pieces."""
    count = max(1, -(-n // tile))
    edges = [round(i * n / count) for i in range(count + 1)]
    return list(zip(edges[:-1], edges[1:], strict=True))


def predict_noise(planes: np.ndarray, net: Any, lock: Any, radius: int, tile: int,
                  progress: Progress) -> np.ndarray:
    """The noise ``net`` sees in each ``(H, W)`` float32 plane of ``planes`` ``(C, H, W)``,
    tile by tile with ``radius`` pixels of context; progress and cancellation per tile."""
    from imgstudio.models import loading

    torch = loading.torch("enhance.denoise_autoencoder")
    c, h, w = planes.shape
    out = np.empty_like(planes)
    rows, cols = _spans(h, tile), _spans(w, tile)
    total = c * len(rows) * len(cols)
    done = 0
    dev = next(net.parameters()).device
    for k in range(c):
        for y0, y1 in rows:
            for x0, x1 in cols:
                progress.check()
                progress(done / total, f"tile {done + 1}/{total}")
                ey0, ey1 = max(0, y0 - radius), min(h, y1 + radius)
                ex0, ex1 = max(0, x0 - radius), min(w, x1 + radius)
                x = torch.from_numpy(np.ascontiguousarray(planes[k, ey0:ey1, ex0:ex1]))
                with lock, torch.no_grad():
                    noise = net.noise(x[None, None].to(dev))[0, 0].cpu().numpy()
                out[k, y0:y1, x0:x1] = noise[y0 - ey0:y1 - ey0, x0 - ex0:x1 - ex0]
                done += 1
    progress.check()
    return out


@operation("enhance.denoise_autoencoder", title="Denoise (autoencoder)", menu="Filters/Denoise")
def denoise_autoencoder(
    image: Image,
    *,
    model: str = "dae-default",
    strength: Annotated[float, Range(0.0, 1.0, step=0.05)] = 1.0,
    progress: Progress | None = None,
) -> Image:
    """Remove noise with a trained denoising autoencoder (a residual CNN), no noise level needed.

    The network (DnCNN-style: 3×3 convolutions that predict the noise, which is subtracted;
    see :mod:`imgstudio.models.nets.dae`) is *blind*: the shipped ``dae-default`` was trained
    on grey photo tiles with Gaussian noise of σ 5 to 50 (8-bit levels), so it estimates the
    noise level itself. Measured on photos it never saw, with Gaussian noise (PSNR, dB):

    ===================  =====  =======  =======  =============
    photo, σ             noisy  this op  TV best  Gaussian best
    ===================  =====  =======  =======  =============
    camera, 15           24.8   30.1     30.9     29.3
    camera, 25           20.6   28.5     28.7     27.3
    camera, 40           16.9   26.8     26.5     25.4
    astronaut (RGB), 25  20.9   28.9     28.0     26.8
    ===================  =====  =======  =======  =============

    (TV: ``enhance.tv_denoise`` at its best weight; Gaussian: ``enhance.gaussian`` at its
    best σ.) Colour images are denoised per channel (R, G, B). It learned white Gaussian
    noise: other noise (JPEG blocks, banding, salt and pepper) it largely leaves, and a σ far
    above 50 it only partly removes.

    Integer images are read as [0, 1] fractions of their range and the result is rounded
    back to their dtype; float32 values are clipped to [0, 1]. Alpha is kept. The image is
    processed in tiles of 256 pixels (plus context that is cropped off): the result is the
    same as in one piece, and the job can be cancelled between tiles.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image.
    model : str
        The denoiser: a model store name (``dae-default``, or one trained with
        ``train.dae``) or the path of a weights file with its card beside it.
    strength : float
        Fraction of the predicted noise taken away: 1 removes it all, lower values keep some
        grain (and detail the network took for noise); 0 returns the image unchanged.
    progress : Progress, optional
        Progress per tile; cancellation between tiles.

    Returns
    -------
    ndarray
        The denoised image, same shape and dtype.
    """
    image = check_image(image)
    if not isinstance(model, str) or not model.strip():
        raise ValueError(f"model must be a model store name or a weights file; got {model!r}")
    if isinstance(strength, bool) or not isinstance(strength, (int, float, np.floating)) \
            or not 0.0 <= float(strength) <= 1.0:
        raise ValueError(f"strength must be a number in [0, 1]; got {strength!r}")
    progress = token(progress)
    net, lock, radius, built = load_denoiser(model.strip())
    if built:
        progress(0.0, f"loaded model {model}")
    colour, alpha = split_alpha(image)
    unit = np.clip(as_unit(colour, np.float32), 0.0, 1.0)
    planes = unit[None] if unit.ndim == 2 else np.moveaxis(unit, 2, 0)
    noise = predict_noise(np.ascontiguousarray(planes), net, lock, radius, TILE,
                          progress.sub(0.0, 0.98))
    noise *= np.float32(strength)
    clean = planes - noise
    clean = clean[0] if unit.ndim == 2 else np.moveaxis(clean, 0, 2)
    out = from_unit(clean, image.dtype)
    progress(1.0, "done")
    return join_alpha(out, alpha)
