"""train.dae: train a denoising autoencoder (a DnCNN-style residual network) on clean images
with synthetic Gaussian noise, for ``enhance.denoise_autoencoder``.

Data. Every image of the dataset is turned grey (BT.601 luma, values in [0, 1]) and cut into
non-overlapping square tiles of ``patch_size`` pixels (or of the smallest image side, when an
image is smaller: scikit-learn's digits give one 8×8 tile each, Fashion-MNIST one 28×28 tile).
A seeded split keeps 10 % of the tiles (at most :data:`MAX_VAL`) for validation; they are
never trained on. Built-in datasets: ``digits``, ``fashion_mnist`` (see
:mod:`imgstudio.ops._training`), and ``photos``: the photographs that ship inside
scikit-image (:data:`PHOTOS`; ``camera`` and ``astronaut`` are left out, so they stay unseen
test images). Any other value is a folder of images (read at their own size, not resized).

Training. Each epoch visits the training tiles in a seeded random order (or
``patches_per_epoch`` of them), each tile flipped and transposed at random (the 8 symmetries
of the square), with fresh Gaussian noise of ``noise_sigma`` 8-bit levels added and the result
clipped to [0, 1], as an 8-bit photo's noise is. With ``noise_min`` set, each tile's σ is drawn
uniformly between ``noise_min`` and ``noise_sigma`` (a *blind* denoiser, for unknown noise).
The network learns to give back the clean tile (mean squared error, Adam). All randomness
comes from one seeded generator, so a seed gives the same weights and a resumed training the
same result as an uninterrupted one.

Each epoch reports its mean training loss (``loss``, squared error in [0, 1] units) and
``val_psnr``: the PSNR in dB of the denoised validation tiles against the clean ones, with
fixed noise of ``noise_sigma`` (the noisy tiles' own PSNR, ``val_psnr_noisy``, is the
baseline the card records), and a preview of three validation tiles: noisy | denoised | clean.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import numpy as np

from imgstudio.core.editor import Editor, Training
from imgstudio.core.progress import Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import Range, Trained
from imgstudio.ops._params import Seed, user_path
from imgstudio.ops._pixels import token

#: scikit-image's shipped photographs the ``photos`` dataset trains on (``skimage.data``
#: function names; each CC0, public domain or "no known copyright restrictions" by
#: scikit-image's notes). Not used: ``cat`` (it is ``chelsea`` again), ``clock`` (motion
#: blurred), ``stereo_motorcycle`` (a benchmark's images without a stated licence), and the
#: synthetic, binary or medical images.
PHOTOS = ("brick", "chelsea", "coffee", "coins", "grass", "gravel", "immunohistochemistry",
          "moon", "page", "rocket", "text")
#: Photos kept out of ``photos`` so that they test the model on images it has never seen.
HELD_OUT = ("camera", "astronaut")
BUILTIN = ("digits", "fashion_mnist", "photos")
#: Fraction of the tiles kept for validation, and their most.
VAL_FRACTION = 0.1
MAX_VAL = 256
#: The smallest tile side a dataset may give.
MIN_TILE = 8
#: Validation tiles in the per-epoch preview.
PREVIEW_TILES = 3


@dataclass
class Tiles:
    """The dataset as grey tiles: ``train`` and ``val`` (N, s, s) float32 in [0, 1]."""

    train: np.ndarray
    val: np.ndarray
    description: str


def photo(name: str) -> np.ndarray:
    """A scikit-image shipped photograph as grey floats in [0, 1] (BT.601 luma)."""
    import skimage.data

    from imgstudio.ops._pixels import grey_unit

    return grey_unit(np.ascontiguousarray(getattr(skimage.data, name)()), np.float32)


def _images(dataset: str, limit: int | None) -> tuple[list[np.ndarray], str]:
    """The dataset's images as grey float32 arrays and the description the card records."""
    from imgstudio.ops import _training as tr

    name = str(dataset).strip()
    if name in ("digits", "fashion_mnist"):
        ds = tr.load_images(name, limit=limit)
        return list(ds.x), ds.description + (f", first {len(ds.x)}" if limit else "")
    if name == "photos":
        names = PHOTOS[:limit] if limit else PHOTOS
        return [photo(n) for n in names], ("scikit-image's shipped photos " + ", ".join(names)
                                           + " (grey; camera and astronaut held out)")
    folder = user_path(name, "dataset")
    if not folder.is_dir():
        raise ValueError(f"dataset must be one of {', '.join(BUILTIN)} or a folder of images; "
                         f"{name!r} is neither")
    files = tr.image_files(folder)
    if not files:
        raise ValueError(f"dataset: no images in folder {folder}")
    files = files[:limit] if limit else files
    from imgstudio.core.io import load_image

    out = []
    for path in files:
        try:
            out.append(tr.unit_image(load_image(str(path)), False))
        except (OSError, ValueError) as exc:
            raise ValueError(f"dataset: cannot read {path} ({exc})") from None
    return out, f"folder {folder} ({len(files)} images, grey)"


def cut_tiles(images: list[np.ndarray], patch_size: int) -> np.ndarray:
    """Non-overlapping ``s × s`` tiles of every image, ``s`` = ``patch_size`` or the smallest
    image side if smaller; each image's grid of tiles is centred on it."""
    side = min(patch_size, *(min(im.shape[:2]) for im in images))
    if side < MIN_TILE:
        raise ValueError(f"dataset: its smallest image side is {side} pixels; a denoiser "
                         f"needs images of at least {MIN_TILE}")
    tiles = []
    for im in images:
        h, w = im.shape[:2]
        rows, cols = h // side, w // side
        y0, x0 = (h - rows * side) // 2, (w - cols * side) // 2
        block = im[y0:y0 + rows * side, x0:x0 + cols * side]
        tiles.append(block.reshape(rows, side, cols, side).swapaxes(1, 2).reshape(-1, side, side))
    return np.ascontiguousarray(np.concatenate(tiles), dtype=np.float32)


def load_tiles(dataset: str, patch_size: int, seed: int, limit: int | None = None) -> Tiles:
    """The dataset cut into tiles and split into training and validation tiles (seeded)."""
    from imgstudio.ops._training import split

    images, description = _images(dataset, limit)
    tiles = cut_tiles(images, patch_size)
    if len(tiles) < 2:
        raise ValueError(f"dataset: gives {len(tiles)} tile of {tiles.shape[1]} pixels; "
                         "training needs at least 2 (one to train on, one to validate)")
    fraction = min(VAL_FRACTION, MAX_VAL / len(tiles))
    train, val = split(len(tiles), fraction, seed)
    if len(val) == 0:
        train, val = train[1:], train[:1]
    side = tiles.shape[1]
    return Tiles(tiles[train], tiles[val], f"{description}; {len(train)} training and "
                 f"{len(val)} validation tiles of {side}×{side}")


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of ``a`` against ``b`` (values in [0, 1]), from their pooled squared error."""
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * math.log10(1.0 / mse)


def preview_strip(noisy: np.ndarray, denoised: np.ndarray, clean: np.ndarray) -> np.ndarray:
    """Rows of noisy | denoised | clean tiles as one uint8 image, enlarged (nearest) to about
    80 pixels a tile and at most 256 pixels wide."""
    from imgstudio.ops._training import grid, to_uint8

    side = noisy.shape[1]
    if side > 80:
        o = (side - 80) // 2
        noisy, denoised, clean = (t[:, o:o + 80, o:o + 80] for t in (noisy, denoised, clean))
        side = 80
    scale = max(1, 80 // side)
    rows = np.stack([np.stack(t) for t in zip(noisy, denoised, clean, strict=True)])
    rows = rows.reshape(-1, side, side).repeat(scale, axis=1).repeat(scale, axis=2)
    return grid(to_uint8(rows), columns=3, pad=2)


def step_size(epoch: int, epochs: int, first: float, last: float | None) -> float:
    """Adam's step size in ``epoch`` (from 1) of ``epochs``: ``first``, or a half cosine from
    ``first`` at the first epoch to ``last`` at the last."""
    if last is None or epochs <= 1:
        return float(first)
    t = (epoch - 1) / (epochs - 1)
    return float(last + (first - last) * 0.5 * (1.0 + math.cos(math.pi * t)))


def _settings(dataset: str, limit: int | None, patch_size: int, noise_sigma: float,
              noise_min: float | None, seed: int) -> dict[str, Any]:
    return {"dataset": str(dataset), "limit": limit, "patch_size": int(patch_size),
            "noise_sigma": float(noise_sigma), "noise_min": noise_min, "seed": int(seed)}


def _check(name: str, value: Any, lo: float, hi: float, integer: bool = False) -> None:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if ok and integer:
        ok = float(value) == int(value)
    if not ok or not (lo <= float(value) <= hi):
        kind = "an integer" if integer else "a number"
        raise ValueError(f"{name} must be {kind} in [{lo:g}, {hi:g}]; got {value!r}")


@operation("train.dae", title="Train a denoising autoencoder", menu="Tools/Train",
           editor=Editor(preview="apply", training=Training(
               uses={"enhance.denoise_autoencoder": "model"}, plot=("loss", "val_psnr"))))
def train_dae(
    *,
    dataset: str = "digits",
    epochs: Annotated[int, Range(1, 100000)] = 20,
    batch_size: Annotated[int, Range(1, 4096)] = 32,
    seed: Seed = 0,
    output: Path | None = None,
    name: str = "my-dae",
    resume: bool = False,
    noise_sigma: Annotated[float, Range(1.0, 100.0, step=1.0)] = 25.0,
    noise_min: Annotated[float, Range(0.0, 100.0, step=1.0)] | None = None,
    learning_rate: Annotated[float, Range(1e-6, 1.0, step=1e-4)] = 1e-3,
    final_learning_rate: Annotated[float, Range(1e-8, 1.0, step=1e-5)] | None = None,
    patch_size: Annotated[int, Range(8, 512)] = 40,
    patches_per_epoch: Annotated[int, Range(1, 10_000_000)] | None = None,
    limit: Annotated[int, Range(1, 10_000_000)] | None = None,
    depth: Annotated[int, Range(2, 30)] = 8,
    features: Annotated[int, Range(4, 128)] = 32,
    progress: Progress | None = None,
) -> Trained:
    """Train a denoising autoencoder: a residual CNN that learns to remove Gaussian noise.

    The network (a DnCNN-style stack of ``depth`` 3×3 convolutions, ``features`` wide, that
    predicts the noise and subtracts it; see :mod:`imgstudio.models.nets.dae`) is trained on
    grey tiles of the dataset with synthetic noise, then registered in the model store under
    ``name`` for ``enhance.denoise_autoencoder``. Each epoch reports the training loss, the
    validation PSNR (noisy → denoised, on tiles never trained on) and a preview strip of
    noisy | denoised | clean tiles; a checkpoint is written after every epoch, so Stop keeps
    the last finished epoch and ``resume`` continues from it.

    Parameters
    ----------
    dataset : str
        ``digits`` (scikit-learn's 8×8 digits), ``fashion_mnist`` (28×28), ``photos``
        (scikit-image's shipped photographs, ``camera`` and ``astronaut`` left out), or a
        folder of images (read at their own size, in grey).
    epochs : int
        Epochs in all, counting those of a resumed checkpoint.
    batch_size : int
        Tiles per optimisation step.
    seed : int
        Seed of the weight initialisation, the split, the shuffles, flips and noise.
    output : Path, optional
        Where the weights are written (default: the user's model folder, ``<name>.pt``); the
        checkpoint is ``<output>.ckpt``.
    name : str
        Model store name the trained model is registered under.
    resume : bool
        Continue from the checkpoint of an earlier run with the same dataset, tile and noise
        settings (it must exist).
    noise_sigma : float
        Standard deviation of the added Gaussian noise, in 8-bit levels (0..255); with
        ``noise_min``, the top of the range. Validation always uses this σ.
    noise_min : float, optional
        Train a blind denoiser: each tile's σ is drawn uniformly from ``noise_min`` to
        ``noise_sigma``. None: every tile gets ``noise_sigma``.
    learning_rate : float
        Adam's step size (at the first epoch, with ``final_learning_rate``).
    final_learning_rate : float, optional
        The step size of the last epoch: it falls from ``learning_rate`` along a half cosine
        over the ``epochs`` (a resumed run with more epochs stretches the curve). None: constant.
    patch_size : int
        Side of the training tiles in pixels (smaller images give tiles of their own size).
    patches_per_epoch : int, optional
        Tiles an epoch trains on (drawn from the shuffled training tiles, repeating them if
        more); None: each training tile once.
    limit : int, optional
        Use only the first ``limit`` images of the dataset (a fixed subset).
    depth : int
        Number of 3×3 convolution layers of the network.
    features : int
        Channels of its hidden layers.
    progress : Progress, optional
        Progress per batch, per-epoch reports (measures and preview), cancellation.

    Returns
    -------
    Trained
        The registered model: its name, weights file, per-epoch losses and final metrics
        (``loss``, ``val_psnr``, ``val_psnr_noisy``).
    """
    from imgstudio.ops import _training as tr

    _check("epochs", epochs, 1, 100000, integer=True)
    _check("batch_size", batch_size, 1, 4096, integer=True)
    seed = tr.check_seed(seed)
    name = tr.check_name(name)
    _check("noise_sigma", noise_sigma, 1.0, 100.0)
    if noise_min is not None:
        _check("noise_min", noise_min, 0.0, 100.0)
        if noise_min > noise_sigma:
            raise ValueError(f"noise_min ({noise_min}) must not exceed noise_sigma ({noise_sigma})")
        noise_min = float(noise_min)
    _check("learning_rate", learning_rate, 1e-6, 1.0)
    if final_learning_rate is not None:
        _check("final_learning_rate", final_learning_rate, 1e-8, 1.0)
    _check("patch_size", patch_size, MIN_TILE, 512, integer=True)
    if patches_per_epoch is not None:
        _check("patches_per_epoch", patches_per_epoch, 1, 10_000_000, integer=True)
    if limit is not None:
        _check("limit", limit, 1, 10_000_000, integer=True)
    _check("depth", depth, 2, 30, integer=True)
    _check("features", features, 4, 128, integer=True)
    epochs, batch_size = int(epochs), int(batch_size)
    progress = token(progress)
    target = user_path(output, "output") if output is not None else tr.default_output(name)
    checkpoint = tr.checkpoint_path(target)
    if resume and not checkpoint.is_file():
        raise ValueError(f"resume: there is no checkpoint {checkpoint} to resume from")
    settings = _settings(dataset, limit, patch_size, noise_sigma, noise_min, seed)
    if resume:
        before = tr.load_checkpoint(checkpoint).get("extra", {}).get("settings")
        if before is not None and before != settings:
            changed = sorted(k for k in settings if before.get(k) != settings[k])
            raise ValueError(f"resume: the checkpoint was trained with other {', '.join(changed)} "
                             f"({', '.join(f'{k}={before.get(k)!r}' for k in changed)}); resume "
                             "with those, or start afresh")

    progress(0.0, "loading the dataset")
    tiles = load_tiles(dataset, int(patch_size), seed, limit)
    from imgstudio.models.nets import dae

    torch = dae.torch
    generator = tr.seeded(seed, "train.dae")
    config = {"depth": int(depth), "features": int(features), "channels": 1}
    net = dae.build(config)
    optimizer = torch.optim.Adam(net.parameters(), lr=float(learning_rate))
    session = tr.Session("dae", {"net": net}, {"adam": optimizer}, config, generator,
                         keep=("net",), extra={"settings": settings})

    clean_train = torch.from_numpy(tiles.train).unsqueeze(1)
    # fixed validation noise (its own seeded stream: the same in every run of this seed)
    val_rng = np.random.default_rng(seed)
    val_noisy = np.clip(tiles.val + val_rng.standard_normal(tiles.val.shape, np.float32)
                        * np.float32(noise_sigma / 255.0), 0.0, 1.0).astype(np.float32)
    val_baseline = psnr(val_noisy, tiles.val)
    per_epoch = int(patches_per_epoch) if patches_per_epoch else len(tiles.train)
    hi = float(noise_sigma) / 255.0
    lo = hi if noise_min is None else noise_min / 255.0

    def denoise_val() -> np.ndarray:
        out = np.empty_like(val_noisy)
        with torch.no_grad():
            for i in range(0, len(val_noisy), 64):
                x = torch.from_numpy(val_noisy[i:i + 64]).unsqueeze(1)
                out[i:i + 64] = net(x).clamp(0.0, 1.0)[:, 0].numpy()
        return out

    def run_epoch(epoch: int, sub: Progress) -> dict[str, float]:
        for group in optimizer.param_groups:
            group["lr"] = step_size(epoch, epochs, learning_rate, final_learning_rate)
        n = len(clean_train)
        order = torch.cat([torch.randperm(n, generator=generator)
                           for _ in range(-(-per_epoch // n))])[:per_epoch]
        batches = -(-per_epoch // batch_size)
        total = 0.0
        for b in range(batches):
            idx = order[b * batch_size:(b + 1) * batch_size]
            x = clean_train[idx]
            m = len(x)
            # the 8 symmetries of the square: flip rows, flip columns, transpose, each at random
            flips = torch.rand(3, m, 1, 1, 1, generator=generator) < 0.5
            x = torch.where(flips[0], x.flip(-1), x)
            x = torch.where(flips[1], x.flip(-2), x)
            x = torch.where(flips[2], x.transpose(-1, -2), x)
            sigma = lo + (hi - lo) * torch.rand(m, 1, 1, 1, generator=generator)
            noisy = (x + sigma * torch.randn(x.shape, generator=generator)).clamp_(0.0, 1.0)
            loss = torch.mean((net(noisy) - x) ** 2)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            value = float(loss.detach())
            total += value * m
            sub((b + 1) / batches, f"batch {b + 1}/{batches}, loss {value:.3g}")
        net.eval()
        val_psnr = psnr(denoise_val(), tiles.val)
        net.train()
        return {"loss": total / per_epoch, "val_psnr": val_psnr,
                "learning_rate": optimizer.param_groups[0]["lr"]}

    def preview() -> np.ndarray:
        k = min(PREVIEW_TILES, len(val_noisy))
        with torch.no_grad():
            den = net(torch.from_numpy(val_noisy[:k]).unsqueeze(1)).clamp(0.0, 1.0)[:, 0].numpy()
        return preview_strip(val_noisy[:k], den, tiles.val[:k])

    target.parent.mkdir(parents=True, exist_ok=True)  # the checkpoint goes beside it
    tr.fit(session, epochs=epochs, checkpoint=checkpoint, resume=resume, run_epoch=run_epoch,
           progress=progress, preview=preview)
    history = session.history
    metrics = {"loss": history["loss"][-1], "val_psnr": history["val_psnr"][-1],
               "val_psnr_noisy": val_baseline, "noise_sigma": float(noise_sigma)}
    if noise_min is not None:
        metrics["noise_min"] = float(noise_min)
    return tr.register(session, name=name, output=target, dataset=tiles.description, seed=seed,
                       metrics=metrics, architecture=dae.ARCHITECTURE)
