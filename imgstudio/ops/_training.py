"""What every training operation shares: datasets, seeds, checkpoints, the epoch loop, and
registering the trained model in the model store with its card.

A training op (``train.vae``, ``train.gan``, ...) builds its networks and optimisers after
:func:`seeded`, then hands :func:`fit` a function that trains one epoch. :func:`fit`

- resumes from the checkpoint when asked (weights, optimiser state, random generators, the
  epoch counter and the loss history all continue where they stopped);
- after every epoch writes the checkpoint atomically, so a cancel (``Cancelled``), a Ctrl-C or
  a crash keeps the last finished epoch;
- reports progress per batch (``"epoch 3/20, batch 5/14, loss 0.123"``) and, per epoch,
  ``progress.report("epoch", {...})`` with the epoch's measures and an optional preview image
  (a grid of samples or predictions) for the editor's live plot.

:func:`register` then writes the inference weights to ``output`` and records them in the user's
model store under ``name`` with a card holding the architecture settings (``config``) and how
the model was made (``training``: dataset, epochs, seed, measured metrics).

Checkpoints and weights are written with ``torch.save`` of tensors, numbers, strings, lists and
dicts only, and read with ``torch.load(weights_only=True)``: nothing in them is code.

Datasets (:func:`load_images`, :func:`load_classes`):

- ``digits``: scikit-learn's 1,797 handwritten digits, 8×8, values 0..16 → [0, 1];
- ``fashion_mnist``: Zalando's Fashion-MNIST (60,000 + 10,000, 28×28) from the Debian package
  ``dataset-fashion-mnist`` (``/usr/share/datasets/fashion-mnist``, read with a small IDX
  reader written here: the format is a 4-byte magic, the sizes, then raw bytes);
- a folder path: every image under it (for classes: one sub-folder per class).
"""

from __future__ import annotations

import gzip
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from imgstudio.core.io import load_image
from imgstudio.core.progress import Cancelled, Progress
from imgstudio.core.types import Table, Trained
from imgstudio.ops._params import user_path

#: Photo and raster formats a folder dataset reads (medical volumes left out).
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")
FASHION_MNIST = Path(os.environ.get("IMGSTUDIO_FASHION_MNIST", "/usr/share/datasets/fashion-mnist"))
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot")
#: Built-in dataset names the ``dataset`` parameter of the training ops accepts.
BUILTIN = ("digits", "fashion_mnist")


# -- datasets ---------------------------------------------------------------------------------

@dataclass
class Images:
    """A dataset of images: ``x`` (N, H, W) or (N, H, W, 3) float32 in [0, 1]; ``y`` class ids
    (or None); ``classes`` their names; ``description`` what the model card records."""

    x: np.ndarray
    y: np.ndarray | None
    classes: tuple[str, ...]
    description: str
    paths: list[str] = field(default_factory=list)


def _read_idx(path: Path) -> np.ndarray:
    """An IDX file (MNIST's format, gzip or not): magic 0 0 dtype ndim, sizes, raw data."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        data = fh.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    start = 4 + 4 * ndim
    count = int(np.prod(dims))
    if len(data) - start < count:
        raise ValueError(f"{path}: truncated ({len(data) - start} of {count} bytes)")
    return np.frombuffer(data, dtype=np.uint8, count=count, offset=start).reshape(dims)


def fashion_mnist(split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Fashion-MNIST images (N, 28, 28) uint8 and labels, ``split`` = train or test."""
    prefix = "train" if split == "train" else "t10k"
    images = [FASHION_MNIST / f"{prefix}-images-idx3-ubyte{s}" for s in (".gz", "")]
    labels = [FASHION_MNIST / f"{prefix}-labels-idx1-ubyte{s}" for s in (".gz", "")]
    img = next((p for p in images if p.is_file()), None)
    lab = next((p for p in labels if p.is_file()), None)
    if img is None or lab is None:
        raise ValueError(f"dataset fashion_mnist: not found in {FASHION_MNIST}; install it with "
                         "'apt-get install dataset-fashion-mnist' (Debian/Ubuntu) or set "
                         "IMGSTUDIO_FASHION_MNIST to a folder holding the four IDX files")
    return _read_idx(img), _read_idx(lab)


def _resize_stack(x: np.ndarray, size: int | None) -> np.ndarray:
    import cv2

    if size is None or x.shape[1:3] == (size, size):
        return x
    inter = cv2.INTER_AREA if x.shape[1] > size else cv2.INTER_LINEAR
    return np.stack([cv2.resize(im, (size, size), interpolation=inter) for im in x])


def unit_image(image: np.ndarray, colour: bool) -> np.ndarray:
    """An image as float32 [0, 1]: RGB (grey repeated, alpha dropped) or grey (BT.601)."""
    from imgstudio.ops._pixels import as_unit, colour_part, grey_unit

    if colour:
        rgb = as_unit(colour_part(image), np.float32)
        if rgb.ndim == 2:
            rgb = np.repeat(rgb[..., None], 3, axis=2)
        return np.ascontiguousarray(rgb[..., :3], dtype=np.float32)
    return grey_unit(image, np.float32)


def image_files(folder: Path) -> list[Path]:
    """The image files under ``folder`` (sub-folders too, hidden ones skipped), sorted."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def load_images(dataset: str, *, size: int | None = None, colour: bool = False,
                limit: int | None = None, param: str = "dataset") -> Images:
    """Images of a built-in dataset or a folder, float32 in [0, 1], resized to ``size`` square.

    ``limit`` keeps the first images (a fixed subset, so a seed gives the same weights)."""
    name = str(dataset).strip()
    if name == "digits":
        from sklearn.datasets import load_digits

        d = load_digits()
        x = (d.images / 16.0).astype(np.float32)
        ds = Images(x, d.target.astype(np.int64), tuple(str(i) for i in range(10)),
                    "scikit-learn digits (1,797 8×8 handwritten digits)")
    elif name == "fashion_mnist":
        imgs, labs = fashion_mnist("train")
        ds = Images((imgs / 255.0).astype(np.float32), labs.astype(np.int64), FASHION_CLASSES,
                    "Fashion-MNIST training set (Debian dataset-fashion-mnist, MIT)")
    else:
        folder = user_path(name, param)
        if not folder.is_dir():
            raise ValueError(f"{param} must be one of {', '.join(BUILTIN)} or a folder of images; "
                             f"{name!r} is neither")
        files = image_files(folder)
        if not files:
            raise ValueError(f"{param}: no images in folder {folder}")
        if limit is not None:
            files = files[:limit]
        if size is None:
            raise ValueError(f"{param}: a folder dataset needs an image size")
        x = np.stack([_resize_stack(unit_image(load_image(str(p)), colour)[None], size)[0] for p in files])
        return Images(x.astype(np.float32), None, (), f"folder {folder} ({len(files)} images)",
                      [str(p) for p in files])
    if limit is not None:
        ds.x, ds.y = ds.x[:limit], (ds.y[:limit] if ds.y is not None else None)
    ds.x = _resize_stack(ds.x, size).astype(np.float32)
    if colour:
        ds.x = np.repeat(ds.x[..., None], 3, axis=3)
    return ds


def load_classes(folder: Path, *, param: str = "folder") -> tuple[list[Path], np.ndarray, tuple[str, ...]]:
    """A folder with one sub-folder per class: the image files, their class ids and the class
    names (sub-folder names, sorted). At least two classes with an image each."""
    folder = user_path(folder, param)
    if not folder.is_dir():
        raise ValueError(f"{param}: no such folder: {folder}")
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    files: list[Path] = []
    ids: list[int] = []
    for k, cname in enumerate(classes):
        found = image_files(folder / cname)
        files += found
        ids += [k] * len(found)
    counts = np.bincount(np.asarray(ids, dtype=np.int64), minlength=len(classes))
    kept = [c for c, n in zip(classes, counts, strict=True) if n > 0]
    if len(kept) < 2:
        raise ValueError(f"{param}: {folder} needs at least two sub-folders of images (one per "
                         f"class); found {len(kept)} with images")
    if len(kept) != len(classes):
        empty = [c for c, n in zip(classes, counts, strict=True) if n == 0]
        raise ValueError(f"{param}: class folder(s) without images: {', '.join(empty)}")
    return files, np.asarray(ids, dtype=np.int64), tuple(classes)


def split(n: int, val_fraction: float, seed: int, labels: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Train and validation indices: a seeded shuffle, stratified by ``labels`` when given (every
    class keeps at least one training sample and, when it has two or more, one for validation)."""
    rng = np.random.default_rng(seed)
    if labels is None:
        order = rng.permutation(n)
        k = int(round(n * val_fraction))
        return np.sort(order[k:]), np.sort(order[:k])
    train, val = [], []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        k = min(len(idx) - 1, max(1 if len(idx) >= 2 and val_fraction > 0 else 0,
                                  int(round(len(idx) * val_fraction))))
        val.append(idx[:k])
        train.append(idx[k:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(val))


def grid(images: np.ndarray, columns: int | None = None, pad: int = 1) -> np.ndarray:
    """Tile ``(N, h, w[, 3])`` images into one picture, ``columns`` wide (default ≈ √N),
    separated by ``pad`` black pixels; same dtype as the input."""
    images = np.asarray(images)
    n = len(images)
    if n == 0:
        raise ValueError("grid: no images")
    cols = columns or int(math.ceil(math.sqrt(n)))
    rows = int(math.ceil(n / cols))
    h, w = images.shape[1:3]
    out = np.zeros((rows * (h + pad) - pad, cols * (w + pad) - pad, *images.shape[3:]), images.dtype)
    for i, im in enumerate(images):
        r, c = divmod(i, cols)
        out[r * (h + pad): r * (h + pad) + h, c * (w + pad): c * (w + pad) + w] = im
    return out


def to_uint8(x: np.ndarray) -> np.ndarray:
    """[0, 1] floats as uint8 (rounded, clipped)."""
    return np.clip(np.rint(np.asarray(x, dtype=np.float64) * 255.0), 0, 255).astype(np.uint8)


# -- seeds, checkpoints, the loop -------------------------------------------------------------

def check_seed(seed: int) -> int:
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or not 0 <= int(seed) < 2**31:
        raise ValueError(f"seed must be an integer in [0, 2**31); got {seed!r}")
    return int(seed)


def seeded(seed: int, what: str) -> Any:
    """Seed torch's global generator (weight initialisation) and return a ``torch.Generator``
    for everything random in the training (shuffles, noise, latent samples): one seed, one
    set of weights. Returns the generator."""
    from imgstudio.models import loading

    torch = loading.torch(what)
    torch.manual_seed(check_seed(seed))
    gen = torch.Generator()
    gen.manual_seed(check_seed(seed) + 1)
    return gen


def checkpoint_path(output: Path) -> Path:
    """Where the checkpoint of a training writing ``output`` lives: ``output`` + ``.ckpt``."""
    return Path(str(output) + ".ckpt")


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """``state`` (tensors, numbers, strings, lists, dicts) written atomically with torch.save."""
    from imgstudio.core.atomic import atomic_write
    from imgstudio.models import loading

    torch = loading.torch("saving a checkpoint")
    atomic_write(path, lambda tmp: torch.save(state, tmp), "checkpoint")


def load_checkpoint(path: Path) -> dict[str, Any]:
    from imgstudio.models import loading

    torch = loading.torch("loading a checkpoint")
    try:
        return torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ValueError(f"{path}: not a readable checkpoint ({type(exc).__name__}: {exc})") from None


@dataclass
class Session:
    """One training: its networks and optimisers (by name), the architecture ``config`` that
    rebuilds the networks, and which networks the inference weights keep (``keep``)."""

    kind: str
    modules: dict[str, Any]
    optimizers: dict[str, Any]
    config: dict[str, Any]
    generator: Any
    keep: tuple[str, ...] = ()
    epoch: int = 0
    history: dict[str, list[float]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # op state saved with the checkpoint

    def state(self) -> dict[str, Any]:
        import torch

        return {
            "format": "imgstudio-checkpoint", "version": 1, "kind": self.kind,
            "config": self.config, "epoch": self.epoch, "history": self.history,
            "modules": {k: m.state_dict() for k, m in self.modules.items()},
            "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
            "torch_rng": torch.get_rng_state(), "generator": self.generator.get_state(),
            "extra": self.extra,
        }

    def restore(self, state: dict[str, Any], path: Path) -> None:
        if state.get("format") != "imgstudio-checkpoint" or state.get("kind") != self.kind:
            raise ValueError(f"{path}: not a checkpoint of a {self.kind} training")
        if state.get("config") != self.config:
            raise ValueError(f"{path}: the checkpoint was made with other settings "
                             f"({state.get('config')}); resume with those, or start afresh")
        import torch

        for k, m in self.modules.items():
            m.load_state_dict(state["modules"][k])
        for k, o in self.optimizers.items():
            o.load_state_dict(state["optimizers"][k])
        torch.set_rng_state(state["torch_rng"])
        self.generator.set_state(state["generator"])
        self.epoch = int(state["epoch"])
        self.history = {k: list(v) for k, v in state["history"].items()}
        self.extra = dict(state.get("extra") or {})


EpochFn = Callable[[int, Progress], dict[str, float]]


def fit(session: Session, *, epochs: int, checkpoint: Path, resume: bool, run_epoch: EpochFn,
        progress: Progress, preview: Callable[[], np.ndarray] | None = None) -> Session:
    """Train ``session`` up to ``epochs`` epochs in all (see the module docstring).

    ``run_epoch(epoch, sub)`` trains one epoch (``epoch`` counts from 1), calling
    ``sub(fraction, message)`` per batch, and returns the epoch's measures (``{"loss": ...}``).
    ``preview()`` returns an image of what the model makes now (uint8), reported each epoch.
    """
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    if resume:
        if not checkpoint.is_file():
            raise ValueError(f"resume: there is no checkpoint {checkpoint} to resume from")
        session.restore(load_checkpoint(checkpoint), checkpoint)
        progress(session.epoch / max(epochs, 1), f"resumed at epoch {session.epoch}")
    for module in session.modules.values():
        module.train()
    try:
        while session.epoch < epochs:
            e = session.epoch + 1
            started = time.perf_counter()
            span = (session.epoch / epochs, e / epochs)
            sub = progress.sub(*span)

            def batch(fraction: float, message: str = "", _e: int = e, _sub: Progress = sub) -> None:
                _sub(fraction, f"epoch {_e}/{epochs}" + (f", {message}" if message else ""))

            measures = run_epoch(e, _Batches(batch, progress))
            session.epoch = e
            session.history.setdefault("epoch", []).append(e)
            for k, v in measures.items():
                session.history.setdefault(k, []).append(float(v))
            session.history.setdefault("seconds", []).append(round(time.perf_counter() - started, 3))
            save_checkpoint(checkpoint, session.state())
            shown = ", ".join(f"{k} {v:.4g}" for k, v in measures.items())
            report: dict[str, Any] = {"epoch": e, "epochs": epochs, "checkpoint": str(checkpoint),
                                      **{k: float(v) for k, v in measures.items()}}
            if preview is not None:
                for module in session.modules.values():
                    module.eval()
                report["preview"] = preview()
                for module in session.modules.values():
                    module.train()
            progress.report("epoch", report)
            progress(e / epochs, f"epoch {e}/{epochs}, {shown}")
    except Cancelled:
        kept = (f"the checkpoint {checkpoint} holds epoch {session.epoch}; resume=True "
                "continues from it") if session.epoch else "no epoch had finished"
        raise Cancelled(f"cancelled after {session.epoch} of {epochs} epochs: {kept}") from None
    for module in session.modules.values():
        module.eval()
    return session


class _Batches(Progress):
    """The per-batch progress a ``run_epoch`` gets: calls map onto its epoch's span, share the
    job's cancellation, and ``report`` reaches the job."""

    def __init__(self, forward: Callable[[float, str], None], job: Progress) -> None:
        super().__init__(forward, job.report)
        self._cancel = job._cancel


def history_table(session: Session) -> Table:
    return Table({k: list(v) for k, v in session.history.items()})


def weights_of(session: Session) -> dict[str, Any]:
    """The inference weights: the ``keep`` networks' tensors, prefixed ``name.``."""
    out: dict[str, Any] = {}
    for k in session.keep or tuple(session.modules):
        for pname, tensor in session.modules[k].state_dict().items():
            out[f"{k}.{pname}"] = tensor.detach().cpu().contiguous()
    return out


def default_output(name: str) -> Path:
    from imgstudio.models import store

    return store.user_folders()[0] / f"{name}.pt"


def register(session: Session, *, name: str, output: Path | None, dataset: str, seed: int,
             metrics: dict[str, float], architecture: str, labels: Any = None,
             weights: dict[str, Any] | None = None, licence: str = "") -> Trained:
    """Write the inference weights to ``output`` (atomic) and record them in the user's model
    store as ``name`` with a card (architecture ``config`` and ``training``); returns the op's
    :class:`Trained` result."""
    from imgstudio.core.atomic import atomic_write
    from imgstudio.models import loading, store

    torch = loading.torch("saving the model")
    target = Path(output) if output is not None else default_output(name)
    target.parent.mkdir(parents=True, exist_ok=True)
    tensors = weights if weights is not None else weights_of(session)
    atomic_write(target, lambda tmp: torch.save(tensors, tmp), "model file")
    training = {"dataset": dataset, "epochs": session.epoch, "seed": seed,
                "metrics": {k: float(v) for k, v in metrics.items()},
                "trained_by": f"train.{session.kind}", "date": time.strftime("%Y-%m-%d")}
    located = store.import_file(
        target, name, format="torch-state-dict", architecture=architecture, labels=labels,
        licence=licence or "yours (trained with imgstudio)", config=session.config,
        training=training, source_text=f"trained by train.{session.kind} on {dataset}")
    write_card_beside(target, located.info.to_json())
    return Trained(name=name, path=str(target), losses=history_table(session),
                   metrics={k: float(v) for k, v in metrics.items()}, epochs=session.epoch)


def write_card_beside(path: Path, card: dict[str, Any]) -> Path:
    """The card next to a weights file (``model.pt`` → ``model.json``), so the file alone can be
    handed to an op that takes a model path (``classify.custom``)."""
    import json

    from imgstudio.core.atomic import atomic_write_text

    card = {**card, "file": Path(path).name}
    target = Path(path).with_suffix(".json")
    if target == Path(path):
        target = Path(str(path) + ".json")
    atomic_write_text(target, json.dumps(card, indent=1) + "\n")
    return target


def weights_output(output: Path | None, name: str) -> Path:
    """The weights file a training writes: ``output`` (a ``.pt``/``.pth`` file, not a folder) or,
    when None, ``NAME.pt`` in the user's model folder; ``name`` is checked too."""
    check_name(name)
    target = user_path(output, "output") if output is not None else default_output(name)
    if target.is_dir():
        raise ValueError(f"output: {target} is a folder; give the weights file to write "
                         "(ending in .pt)")
    if target.suffix.lower() not in (".pt", ".pth"):
        raise ValueError(f"output: the weights file must end in .pt or .pth; got {target.name!r}")
    return target


def check_name(name: str) -> str:
    import re

    if not isinstance(name, str) or not re.match(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$", name):
        raise ValueError(f"name must be a model name of letters, digits and ._+- (up to 100); got {name!r}")
    return name


# -- loading trained models -------------------------------------------------------------------

@dataclass(frozen=True)
class Loaded:
    """A trained model found by name or path: its card fields, tensors and where it is."""

    name: str
    architecture: str
    config: dict[str, Any]
    tensors: dict[str, Any]
    path: Path
    sha256: str
    labels: Any = None


def find_trained(model: str | os.PathLike[str], architecture: str | tuple[str, ...],
                 param: str = "model") -> Loaded:
    """A model of ``architecture`` from the store (a name) or a weights file with its card
    beside it (a path). Checks the sha256 the card records, the architecture, and loads the
    tensors with ``weights_only=True``."""
    import json

    from imgstudio.models import loading, store

    archs = (architecture,) if isinstance(architecture, str) else tuple(architecture)
    text = str(model)
    path = user_path(text, param)
    if path.suffix and path.is_file():
        card_path = path.with_suffix(".json")
        if not card_path.is_file():
            raise ValueError(f"{param}: {path} has no model card {card_path.name} beside it "
                             "(train.* writes one)")
        try:
            card = json.loads(card_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"{param}: cannot read model card {card_path} ({exc})") from None
        if card.get("sha256") and store.sha256_of(path) != str(card["sha256"]).lower():
            raise ValueError(f"{param}: {path} does not match the sha256 its card records "
                             "(changed or damaged)")
        info_arch, config, labels = card.get("architecture", ""), card.get("config") or {}, card.get("labels")
        located_path, digest, name = path, store.sha256_of(path), card.get("name", path.stem)
    else:
        if path.suffix and os.sep in text:
            raise ValueError(f"{param}: no such model file: {path}")
        located = store.find(text)
        info_arch, config, labels = located.info.architecture, located.info.config or {}, located.info.labels
        located_path, digest, name = located.path, located.info.sha256, located.info.name
    if info_arch not in archs:
        raise ValueError(f"{param}: model {name!r} is a {info_arch or 'unknown'} model; this "
                         f"operation needs {' or '.join(archs)}")

    def build() -> dict[str, Any]:
        return loading.state_dict(located_path, "torch-state-dict")

    tensors, _, _ = store.cached(("trained", str(located_path), digest), build)
    return Loaded(name, info_arch, dict(config), tensors, located_path, digest, labels)


def sub_state(tensors: dict[str, Any], prefix: str) -> dict[str, Any]:
    """The tensors under ``prefix.`` with the prefix taken off (one network of a file)."""
    cut = len(prefix) + 1
    out = {k[cut:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}
    if not out:
        raise ValueError(f"the model file holds no {prefix} weights")
    return out
