"""train.unet: a small U-Net that segments foreground from background, trained on synthetic
shapes or on a folder of image/mask pairs; ``segment.unet`` runs what it trains."""

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

#: The built-in dataset name.
SHAPES = "shapes"
#: Validation crops measured after every epoch (of 64×64 pixels; as many pixels in larger
#: crops, at least :data:`MIN_VALIDATION`).
VALIDATION = 256
MIN_VALIDATION = 16
#: Most ``batch_size × size² × base`` a training may take (the activations' memory).
BATCH_BUDGET = 2**25
#: Validation samples shown in the preview (one row each: image | predicted | true mask).
PREVIEW_ROWS = 3
#: Largest side of a preview tile.
PREVIEW_SIDE = 64
#: The learning rate falls along a half cosine from ``learning_rate`` to this fraction of it.
FINAL_LR = 0.05
#: Training crops of each epoch its batch-normalisation statistics are measured on.
CALIBRATION = 256
#: Per-step decay of the weight average the model keeps (about the last 200 steps).
AVERAGE_DECAY = 0.995


@dataclass
class Pairs:
    """A folder dataset: RGB float32 images in [0, 1] and their 0/1 masks (uint8), each at
    least ``size`` pixels on both sides (smaller ones mirrored out), and their file stems."""

    images: list[np.ndarray]
    masks: list[np.ndarray]
    stems: list[str]
    folder: Path


def check_params(*, epochs: Any, batch_size: Any, learning_rate: Any, size: Any, samples: Any,
                 base: Any, depth: Any, name: Any, output: Any) -> Path:
    """The checks made before any work (each ``ValueError`` names its parameter); returns the
    weights file to write."""
    from imgstudio.ops import _training as tr

    def integer(pname: str, value: Any, lo: int, hi: int) -> int:
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) \
                or not lo <= value <= hi:
            raise ValueError(f"{pname} must be an integer in [{lo}, {hi}]; got {value!r}")
        return int(value)

    integer("epochs", epochs, 1, 10_000)
    integer("batch_size", batch_size, 1, 1024)
    integer("samples", samples, 1, 1_000_000)
    integer("base", base, 2, 64)
    d = integer("depth", depth, 1, 5)
    s = integer("size", size, 16, 512)
    if s % 2 ** d or s < 2 ** (d + 1):
        raise ValueError(f"size must be a multiple of 2**depth = {2 ** d} (the network halves "
                         f"it {d} times), at least {2 ** (d + 1)}; got {size!r}")
    if isinstance(learning_rate, bool) or not isinstance(learning_rate, (int, float, np.floating)) \
            or not math.isfinite(learning_rate) or not 0 < learning_rate <= 1:
        raise ValueError(f"learning_rate must be in (0, 1]; got {learning_rate!r}")
    if int(batch_size) * s * s * int(base) > BATCH_BUDGET:
        raise ValueError(f"batch_size × size² × base must be at most 2**25 (memory for the "
                         f"network's activations); got {batch_size} × {s}² × {base}: use a "
                         "smaller batch_size or size")
    return tr.weights_output(output, name)


# -- folder datasets --------------------------------------------------------------------------

def _by_stem(folder: Path, what: str) -> dict[str, Path]:
    from imgstudio.ops._training import IMAGE_EXTENSIONS

    found: dict[str, Path] = {}
    for p in sorted(folder.iterdir()):
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_EXTENSIONS:
            if p.stem in found:
                raise ValueError(f"dataset: two {what} named {p.stem!r} in {folder} "
                                 f"({found[p.stem].name}, {p.name}); keep one")
            found[p.stem] = p
    return found


def _listing(names: list[str]) -> str:
    return ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def load_pairs(folder: Path, size: int) -> Pairs:
    """The image/mask pairs of ``folder`` (``images/`` and ``masks/``, matching file stems;
    mask > 0 is foreground). ``ValueError`` naming ``dataset`` and the files at fault."""
    from imgstudio.core.io import load_image
    from imgstudio.ops._pixels import colour_part
    from imgstudio.ops.segment.unet import rgb_unit

    folder = user_path(folder, "dataset")
    img_dir, mask_dir = folder / "images", folder / "masks"
    for sub in (img_dir, mask_dir):
        if not sub.is_dir():
            raise ValueError(f"dataset: {folder} has no {sub.name}/ folder; a U-Net dataset "
                             "folder holds images/ and masks/ with the same file names")
    images, masks = _by_stem(img_dir, "images"), _by_stem(mask_dir, "masks")
    if not images:
        raise ValueError(f"dataset: no images in {img_dir}")
    lonely = sorted(set(images) - set(masks))
    if lonely:
        raise ValueError(f"dataset: image(s) without a mask in {mask_dir}: {_listing(lonely)}")
    extra = sorted(set(masks) - set(images))
    if extra:
        raise ValueError(f"dataset: mask(s) without an image in {img_dir}: {_listing(extra)}")
    pairs = Pairs([], [], [], folder)
    for stem in sorted(images):
        try:
            image, mask = load_image(str(images[stem])), load_image(str(masks[stem]))
        except (OSError, ValueError) as exc:
            raise ValueError(f"dataset: cannot read the pair {stem!r} ({exc})") from None
        if image.shape[:2] != mask.shape[:2]:
            raise ValueError(f"dataset: {masks[stem].name} is {mask.shape[1]}×{mask.shape[0]} but "
                             f"{images[stem].name} is {image.shape[1]}×{image.shape[0]}; a mask "
                             "must have its image's size")
        part = colour_part(mask)
        fg = (part > 0) if part.ndim == 2 else (part > 0).any(axis=2)
        rgb = rgb_unit(image)
        h, w = rgb.shape[:2]
        ph, pw = max(0, size - h), max(0, size - w)
        if ph or pw:  # smaller than a crop: mirror it out (the mask with it)
            pad = ((ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2))
            rgb = np.pad(rgb, (*pad, (0, 0)), mode="symmetric")
            fg = np.pad(fg, pad, mode="symmetric")
        pairs.images.append(rgb)
        pairs.masks.append(fg.astype(np.uint8))
        pairs.stems.append(stem)
    return pairs


def random_crops(pairs: Pairs, index: np.ndarray, count: int, size: int,
                 rng: np.random.Generator, flips: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``count`` crops of ``size`` square from the pairs ``index`` (one picked at random per
    crop, with a random place and, with ``flips``, random mirror flips)."""
    x = np.empty((count, size, size, 3), dtype=np.float32)
    y = np.empty((count, size, size), dtype=np.uint8)
    for k in range(count):
        i = int(index[int(rng.integers(len(index)))])
        im, m = pairs.images[i], pairs.masks[i]
        r0 = int(rng.integers(im.shape[0] - size + 1))
        c0 = int(rng.integers(im.shape[1] - size + 1))
        a, b = im[r0:r0 + size, c0:c0 + size], m[r0:r0 + size, c0:c0 + size]
        if flips and rng.random() < 0.5:
            a, b = a[:, ::-1], b[:, ::-1]
        if flips and rng.random() < 0.5:
            a, b = a[::-1], b[::-1]
        x[k], y[k] = a, b
    return x, y


# -- measures ---------------------------------------------------------------------------------

def iou(predicted: np.ndarray, truth: np.ndarray) -> float:
    """Intersection over union of two foreground masks, over all their pixels together (1.0
    when both are empty)."""
    p, t = np.asarray(predicted) > 0, np.asarray(truth) > 0
    union = int(np.count_nonzero(p | t))
    return 1.0 if union == 0 else int(np.count_nonzero(p & t)) / union


def calibrate(net: Any, x: Any, batch_size: int) -> None:
    """Set every batch normalisation's running mean and variance to the average of the batch
    statistics of ``x`` in batches of ``batch_size`` under the current weights ("precise
    BN"): the moving averages kept while training mix the statistics of older weights and of
    the last few batches only, which made the held-out IoU jump by ±0.05 from epoch to epoch."""
    from imgstudio.models import loading

    torch = loading.torch("train.unet")

    norms = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over the batches below
    net.train()
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            if len(x[start:start + batch_size]) > 1 or start == 0:
                net(x[start:start + batch_size])
    for m, momentum in zip(norms, momenta, strict=True):
        m.momentum = momentum


def _tensor(x: np.ndarray) -> Any:
    from imgstudio.models import loading

    torch = loading.torch("train.unet")

    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def _preview(x: np.ndarray, truth: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    import cv2

    from imgstudio.ops._training import grid, to_uint8

    rows = []
    n = PREVIEW_ROWS
    for im, t, p in zip(x[:n], truth[:n], predicted[:n], strict=True):
        tiles = [to_uint8(im)] + [np.repeat((m > 0).astype(np.uint8)[..., None] * 255, 3, axis=2)
                                  for m in (p, t)]
        if im.shape[0] > PREVIEW_SIDE:
            tiles = [cv2.resize(tile, (PREVIEW_SIDE, PREVIEW_SIDE), interpolation=cv2.INTER_AREA)
                     for tile in tiles]
        rows += tiles
    return grid(np.stack(rows), columns=3)


# -- the op -----------------------------------------------------------------------------------

@operation("train.unet", title="Train a U-Net (segmentation)", menu="Tools/Train",
           editor=Editor(preview="apply", training=Training(uses={"segment.unet": "model"},
                                                            plot=("loss", "iou"))))
def train_unet(
    *,
    dataset: str = SHAPES,
    epochs: Annotated[int, Range(1, 10_000)] = 20,
    batch_size: Annotated[int, Range(1, 1024)] = 8,
    learning_rate: Annotated[float, Range(1e-6, 1.0)] = 5e-3,
    size: Annotated[int, Range(16, 512, step=16)] = 64,
    samples: Annotated[int, Range(1, 1_000_000)] = 512,
    base: Annotated[int, Range(2, 64)] = 8,
    depth: Annotated[int, Range(1, 5)] = 4,
    seed: Seed = 0,
    output: Path | None = None,
    name: str = "my-unet",
    resume: bool = False,
    progress: Progress | None = None,
) -> Trained:
    """Train a U-Net to mark foreground pixels, on synthetic shapes or your own image/mask pairs.

    The network (:mod:`imgstudio.models.nets.unet`: ``depth`` levels of two 3×3 convolutions
    with batch normalisation, ``base`` channels doubling per level, skip connections) learns
    a foreground probability per pixel from random ``size``-pixel square crops: ``samples``
    of them per epoch, in batches, minimising binary cross-entropy plus the soft Dice loss
    (1 − 2|P∩T| / (|P| + |T|) over the batch) with Adam; the step size falls along a half
    cosine from ``learning_rate`` (first epoch) to 5 % of it (last epoch). The model kept is
    a moving average of the weights (Polyak averaging: decay 0.995 per step, about the last
    200 steps, less at the start), which smooths out the last steps' noise; at the end of
    each epoch its batch normalisation statistics are measured afresh on 256 of the epoch's
    crops (as the model will run). Runs on the CPU.

    The ``shapes`` dataset makes new images every epoch (from the seeded generator): flat, vivid,
    high-contrast discs, ellipses, rectangles, triangles and polygons of many sizes and
    colours pasted onto crops of scikit-image's photographs (see
    :mod:`imgstudio.ops.train._shapes`). A model trained on it finds such shapes and nothing
    else; for a real task give a folder of your own pairs. After every epoch the held-out
    IoU (intersection over union of the foreground, all pixels together) is measured on 256
    crops of 64×64 (as many pixels in fewer, larger crops) the model never trains on: for ``shapes``, a fixed set made with a seed of its own;
    for a folder, crops of a fixed fifth of the pairs (of all pairs when there are fewer
    than 2, so then the IoU is not held out). The preview shows three of them: image |
    predicted mask | true mask.

    After every epoch a checkpoint is written beside ``output`` (``.ckpt``): Cancel keeps the
    last finished epoch and ``resume`` continues from it exactly. The model is registered in
    the model store under ``name`` for ``segment.unet``.

    Parameters
    ----------
    dataset : str
        ``shapes`` (synthetic shapes on photos, made as it trains) or a folder holding
        ``images/`` and ``masks/``: each image with a mask of the same file name (any image
        format, the same size; a mask pixel > 0 is foreground).
    epochs : int
        Epochs in all (with ``resume``: the total to reach, counting those already done).
    batch_size : int
        Crops per optimiser step.
    learning_rate : float
        Adam's step size at the start (it decays to 5 % of it by the last epoch).
    size : int
        Side of the square training crops, a multiple of ``2 ** depth`` and at least
        ``2 ** (depth + 1)``; folder images smaller than it are mirrored out.
    samples : int
        Training crops per epoch (new synthetic images, or random crops of the folder's pairs
        with random flips).
    base : int
        Channels of the first level (they double per level): more learns more, slower.
    depth : int
        Levels of the U-Net (each halves the size): deeper sees more context.
    seed : int
        Seed of the weight initialisation and of every image, crop and flip drawn: the same
        seed and settings give the same weights.
    output : pathlib.Path, optional
        The weights file to write (``.pt``); by default ``NAME.pt`` in the user's model
        folder. Its card (``.json``) is written beside it.
    name : str
        The name the model is registered under in the model store.
    resume : bool
        Continue the training saved in ``output``'s checkpoint (the same dataset and
        settings) up to ``epochs``.
    progress : Progress, optional
        Progress per batch, cancellation between batches, and per-epoch reports (loss, IoU
        and the preview).

    Returns
    -------
    Trained
        The registered model's name and file, the per-epoch ``loss``, ``iou`` (held out),
        ``learning_rate`` and seconds, and the last epoch's ``loss`` and ``iou`` as
        ``metrics``.
    """
    from imgstudio.ops import _training as tr
    from imgstudio.ops.train import _shapes

    progress = token(progress)
    target = check_params(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                          size=size, samples=samples, base=base, depth=depth, name=name,
                          output=output)
    seed = tr.check_seed(seed)
    from imgstudio.models import loading

    loading.torch("train.unet")  # a missing torch is said before any work
    if not isinstance(dataset, str) or not dataset.strip():
        raise ValueError(f"dataset must be {SHAPES!r} or a folder of image/mask pairs; "
                         f"got {dataset!r}")
    dataset = dataset.strip()
    size, samples, batch_size = int(size), int(samples), int(batch_size)
    pairs: Pairs | None = None
    train_idx = np.arange(0)
    n_val = max(MIN_VALIDATION, min(VALIDATION, VALIDATION * 64 * 64 // (size * size)))
    if dataset == SHAPES:
        progress(0.0, "making the validation shapes")
        vx, vy = _shapes.shapes(n_val, size, _shapes.VALIDATION_SEED)
        description = f"{_shapes.DESCRIPTION}, {samples} new {size}×{size} images per epoch"
    else:
        folder = user_path(dataset, "dataset")
        if not folder.is_dir():
            raise ValueError(f"dataset must be {SHAPES!r} or a folder with images/ and masks/; "
                             f"{dataset!r} is neither")
        progress(0.0, "reading the image/mask pairs")
        pairs = load_pairs(folder, size)
        n = len(pairs.stems)
        train_idx, val_idx = tr.split(n, 0.2, 0) if n >= 2 else (np.arange(n), np.arange(n))
        if len(val_idx) == 0:
            val_idx = train_idx[-1:]
            train_idx = train_idx[:-1]
        vx, vy = random_crops(pairs, val_idx, n_val, size,
                              np.random.default_rng(_shapes.VALIDATION_SEED), flips=False)
        description = (f"folder {folder} ({n} image/mask pairs; {len(train_idx)} train, "
                       f"{len(val_idx)} validate" + (", the same pair" if n < 2 else "") +
                       f"), {samples} random {size}×{size} crops per epoch")
    progress.check()

    from imgstudio.models.nets import unet as nets

    torch = nets.torch
    functional = torch.nn.functional
    generator = tr.seeded(seed, "train.unet")
    config = nets.check_config({"in_channels": 3, "base": int(base), "depth": int(depth)})
    net = nets.build(config)
    average = nets.build(config)  # what the model keeps: a moving average of net's weights
    average.load_state_dict(net.state_dict())
    average.requires_grad_(False)
    optimizer = torch.optim.Adam(net.parameters(), lr=float(learning_rate))
    session = tr.Session("unet", {"unet": net, "average": average}, {"adam": optimizer},
                         config, generator, keep=("average",))
    val_x = _tensor(vx)
    state: dict[str, np.ndarray] = {}

    def validate() -> float:
        average.eval()
        with torch.no_grad():
            pred = np.concatenate([(average(val_x[i:i + 16])[:, 0] > 0).numpy()
                                   for i in range(0, len(val_x), 16)])
        state["pred"] = pred
        return iou(pred, vy)

    def follow() -> None:
        steps = int(session.extra.get("steps", 0)) + 1
        session.extra["steps"] = steps
        decay = min(AVERAGE_DECAY, (1 + steps) / (10 + steps))  # short memory at the start
        with torch.no_grad():
            for kept, current in zip(average.parameters(), net.parameters(), strict=True):
                kept.mul_(decay).add_(current, alpha=1 - decay)

    def run_epoch(epoch: int, sub: Progress) -> dict[str, float]:
        rate = float(learning_rate) * (FINAL_LR + (1 - FINAL_LR) * 0.5 * (
            1 + math.cos(math.pi * (epoch - 1) / max(1, int(epochs) - 1))))
        for group in optimizer.param_groups:
            group["lr"] = rate
        # the epoch's crops, made batch by batch from one stream the generator seeds
        seed_of_epoch = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
        stream = np.random.default_rng(seed_of_epoch)
        starts = list(range(0, samples, batch_size))
        total = 0.0
        kept: list[Any] = []  # the first crops, to measure batch normalisation on
        for i, start in enumerate(starts):
            count = min(batch_size, samples - start)
            if pairs is None:
                x, y = _shapes.draw(stream, count, size)
            else:
                x, y = random_crops(pairs, train_idx, count, size, stream)
            xb, yb = _tensor(x), torch.from_numpy(y.astype(np.float32))[:, None]
            if start < CALIBRATION:
                kept.append(xb[:CALIBRATION - start])
            logits = net(xb)
            p = torch.sigmoid(logits)
            dice = 1 - (2 * (p * yb).sum() + 1) / (p.sum() + yb.sum() + 1)
            loss = functional.binary_cross_entropy_with_logits(logits, yb) + dice
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            follow()
            total += loss.item() * len(xb)
            sub((i + 1) / len(starts), f"batch {i + 1}/{len(starts)}, loss {loss.item():.4g}")
        sub(1.0, "measuring IoU")
        calibrate(average, torch.cat(kept), batch_size)
        return {"loss": total / samples, "iou": validate(), "learning_rate": rate}

    def preview() -> np.ndarray:
        if "pred" not in state:
            validate()
        return _preview(vx, vy, state["pred"])

    target.parent.mkdir(parents=True, exist_ok=True)  # the checkpoint goes beside it
    tr.fit(session, epochs=int(epochs), checkpoint=tr.checkpoint_path(target), resume=resume,
           run_epoch=run_epoch, progress=progress, preview=preview)
    metrics = {k: session.history[k][-1] for k in ("loss", "iou") if session.history.get(k)}
    weights = {f"unet.{k}": v.detach().cpu().contiguous() for k, v in average.state_dict().items()}
    return tr.register(session, name=name, output=target, dataset=description, seed=seed,
                       metrics=metrics, architecture=nets.ARCHITECTURE, weights=weights)
