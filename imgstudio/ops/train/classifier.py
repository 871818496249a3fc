"""train.classifier: an image classifier for your own classes, by transfer learning from an
ImageNet network (see :mod:`imgstudio.models.nets.classifier` for the network)."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np

from imgstudio.core.editor import Editor, Training
from imgstudio.core.progress import Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import Range, Trained
from imgstudio.ops._params import Seed, user_path
from imgstudio.ops._pixels import token

WHAT = "train.classifier"
#: Validation images shown in the per-epoch preview (a 4×4 grid, framed green when the
#: model names them right, red when not).
PREVIEW = 16
PREVIEW_SIDE = 40
#: Training views run through the frozen backbone at once (fixed, so the cached features do
#: not depend on ``batch_size``).
EXTRACT_BATCH = 16
#: The fine-tuned stages learn at this fraction of ``learning_rate`` (the new head at all of it).
TUNED_LR_FACTOR = 0.1
#: Augmentation ranges: zoom (1 = the validation crop), rotation (degrees), shift (fraction of
#: the input side), brightness, contrast and saturation factors.
ZOOM = (1.0, 1.25)
ROTATION = 10.0
SHIFT = 0.05
JITTER = 0.2


def _check(*, epochs: int, batch_size: int, learning_rate: float, val_split: float,
           input_size: int, views: int, name: str, output: Path | None, arch: str) -> Path:
    from imgstudio.ops import _training as tr

    for pname, value, lo, hi in (("epochs", epochs, 1, 10_000), ("batch_size", batch_size, 1, 4096),
                                 ("input_size", input_size, 32, 512), ("views", views, 1, 64)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or not lo <= value <= hi:
            raise ValueError(f"{pname} must be an integer in [{lo}, {hi}]; got {value!r}")
    if not isinstance(learning_rate, (int, float)) or not math.isfinite(learning_rate) \
            or not 0 < learning_rate <= 1:
        raise ValueError(f"learning_rate must be in (0, 1]; got {learning_rate!r}")
    if not isinstance(val_split, (int, float)) or not 0.05 <= val_split <= 0.5:
        raise ValueError(f"val_split must be in [0.05, 0.5]; got {val_split!r}")
    if arch not in ("efficientnet_lite0", "mobilenet_v2"):
        raise ValueError(f"arch must be efficientnet_lite0 or mobilenet_v2; got {arch!r}")
    return tr.weights_output(output, name)


def _fingerprint(folder: Path, files: list[Path]) -> str:
    """A digest of the dataset's file list (relative paths and sizes): resume refuses a
    folder that changed since the checkpoint."""
    digest = hashlib.sha256()
    for p in files:
        digest.update(f"{p.relative_to(folder).as_posix()}\0{p.stat().st_size}\n".encode())
    return digest.hexdigest()


def augmented(base: Any, size: int, u: list[float]) -> Any:
    """One augmented ``size``² view of a :func:`~imgstudio.ops.classify.custom.base_view`
    (not normalised), from eight uniform numbers ``u`` in [0, 1): zoom, rotation, shift x/y
    about the centre crop, a horizontal flip (``u[4] < 0.5``), then brightness, contrast and
    saturation factors in [1 - JITTER, 1 + JITTER]."""
    from imgstudio.ops import _torchvision as tvops

    F = tvops._functional(WHAT)
    zoom = ZOOM[0] + (ZOOM[1] - ZOOM[0]) * u[0]
    angle = ROTATION * (2 * u[1] - 1)
    shift = [SHIFT * size * (2 * u[2] - 1), SHIFT * size * (2 * u[3] - 1)]
    x = F.affine(base, angle=angle, translate=shift, scale=zoom, shear=[0.0, 0.0],
                 interpolation=F.InterpolationMode.BILINEAR)
    x = F.center_crop(x, [size, size])
    if u[4] < 0.5:
        x = F.horizontal_flip(x)
    x = F.adjust_brightness(x, 1 + JITTER * (2 * u[5] - 1))
    x = F.adjust_contrast(x, 1 + JITTER * (2 * u[6] - 1))
    x = F.adjust_saturation(x, 1 + JITTER * (2 * u[7] - 1))
    return x.clamp(0.0, 1.0)


def _frame(thumb: np.ndarray, ok: bool) -> np.ndarray:
    out = thumb.copy()
    colour = np.array([40, 200, 60] if ok else [230, 40, 40], np.uint8)
    out[:2], out[-2:], out[:, :2], out[:, -2:] = colour, colour, colour, colour
    return out


@operation("train.classifier", title="Train an image classifier", menu="Tools/Train",
           editor=Editor(preview="apply", training=Training(
               uses={"classify.custom": "model"},
               plot=("loss", "val_loss", "train_accuracy", "val_accuracy"))))
def train_classifier(
    *,
    folder: Path,
    arch: Literal["efficientnet_lite0", "mobilenet_v2"] = "efficientnet_lite0",
    epochs: Annotated[int, Range(1, 10_000)] = 5,
    augment: bool = True,
    balance: bool = True,
    val_split: Annotated[float, Range(0.05, 0.5, step=0.05)] = 0.2,
    fine_tune: bool = False,
    input_size: Annotated[int, Range(32, 512, step=32)] = 224,
    views: Annotated[int, Range(1, 64)] = 4,
    batch_size: Annotated[int, Range(1, 4096)] = 32,
    learning_rate: Annotated[float, Range(1e-6, 1.0)] = 1e-3,
    seed: Seed = 0,
    output: Path | None = None,
    name: str = "my-classifier",
    resume: bool = False,
    progress: Progress | None = None,
) -> Trained:
    """Teach a classifier your own classes from a folder of examples (transfer learning).

    An ImageNet network already knows how to describe pictures; this keeps its
    convolutional part (the backbone), replaces its 1,000-class layer by a new linear layer
    (the head) for your classes and trains it on your images: with a few dozen examples per
    class it often tells them apart. Each image is seen as ``classify.custom`` sees it: RGB,
    shorter side resized to 256/224 of ``input_size``, the central ``input_size``² square,
    normalised for the backbone.

    The images are split into training and validation sets, stratified by class (each class
    keeps the same share in both; seeded). The backbone is frozen (its batch-norm statistics
    too): it runs once per training image and view, before the first epoch, and the epochs
    train on those cached features, so they take seconds. With ``augment`` each training
    image gets ``views`` randomly changed versions (zoom up to 1.25×, rotation up to ±10°,
    shifts up to 5 %, horizontal flip, brightness, contrast and saturation ±20 %), drawn from
    ``seed``; each epoch passes over every view of every training image, shuffled. With
    ``balance`` the cross-entropy weighs class ``c`` by ``n / (k · n_c)`` (``n`` training
    images, ``k`` classes, ``n_c`` of class ``c``), so a class with five times fewer images
    counts as much in all. Adam optimiser; dropout 0.2 before the head.

    After every epoch a checkpoint is written beside ``output`` (``.ckpt``; it holds what
    trains: the head, and with ``fine_tune`` the tuned stages): Cancel keeps the last
    finished epoch and ``resume`` continues from it exactly (the cached features are
    computed again, the same). The epoch's measures are the training loss and accuracy (on
    the augmented views, with dropout) and the validation loss and accuracy; the preview shows
    up to 16 validation images framed green (named right) or red. The model file holds the
    whole network (backbone and head, so it runs without the ImageNet weights); its card
    lists the class names as labels and records the final validation accuracy, the accuracy
    per class (``val_accuracy.NAME``) and the class weights (``class_weight.NAME``) as
    metrics. It is registered in the model store under ``name`` for ``classify.custom``.

    Parameters
    ----------
    folder : pathlib.Path
        A folder with one sub-folder per class, named as the class, holding its images (PNG,
        JPEG, TIFF, BMP, WebP; sub-folders of those are included). At least two classes, each
        with at least two images (one to train on, one to validate).
    arch : {"efficientnet_lite0", "mobilenet_v2"}
        The ImageNet backbone. ``efficientnet_lite0``: Google's EfficientNet-Lite0, whose
        weights come with the ``dl`` extra (model ``efficientnet-lite0``). It is the default
        (the catalog names ``mobilenet_v2``) because it works offline: ``mobilenet_v2``'s
        weights (torchvision's, model ``mobilenet-v2-imagenet``) are not shipped; import
        them with ``imgstudio models import FILE --name mobilenet-v2-imagenet`` or keep them
        in the torch hub cache, else the training stops with a ModelNotFoundError saying so.
    epochs : int
        Passes over the training images in all (with ``resume``: the total to reach,
        counting the epochs already done).
    augment : bool
        Train on randomly changed views of the images (see above) instead of the images as
        they are.
    balance : bool
        Weigh each class in the loss inversely to its number of training images, so a rare
        class is not ignored.
    val_split : float
        Share of each class's images kept aside to measure the accuracy on (at least one
        image per class).
    fine_tune : bool
        Also train the backbone's last two stages (its last inverted-residual block and
        final 1×1 convolution), at a tenth of ``learning_rate``; their input is cached as
        above, so this too stays fast. Off: only the head learns.
    input_size : int
        Side of the square the network sees, in pixels: 224 as on ImageNet; smaller is
        faster (96 or 128 suit small objects and textures).
    views : int
        Augmented views made per training image (with ``augment``; without, the one
        image as it is). More vary the training more and make each epoch longer; they cost
        one backbone pass each, before the first epoch.
    batch_size : int
        Training images per optimiser step.
    learning_rate : float
        Adam's step size for the head.
    seed : int
        Seed of the split, the augmentations, the head's initialisation, the shuffles and
        the dropout: the same seed, data and settings give the same weights.
    output : pathlib.Path, optional
        The weights file to write (``.pt``); by default ``NAME.pt`` in the user's model
        folder. Its card (``.json``) is written beside it.
    name : str
        The name the model is registered under in the model store.
    resume : bool
        Continue the training saved in ``output``'s checkpoint (the same folder and
        settings) up to ``epochs``.
    progress : Progress, optional
        Progress per image while the features are computed and per batch while training,
        cancellation between them, and per-epoch reports (the measures and a preview grid).

    Returns
    -------
    Trained
        The registered model's name and file, the per-epoch ``loss``, ``train_accuracy``,
        ``val_loss``, ``val_accuracy`` and seconds, and the final measures as ``metrics``.
    """
    from imgstudio.core.io import load_image
    from imgstudio.ops import _training as tr

    progress = token(progress)
    target = _check(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                    val_split=val_split, input_size=input_size, views=views, name=name,
                    output=output, arch=arch)
    seed = tr.check_seed(seed)
    if folder is None or str(folder).strip() == "":
        raise ValueError("folder is required: a folder with one sub-folder of images per class")
    folder = user_path(folder, "folder")
    files, ids, classes = tr.load_classes(folder, param="folder")
    counts = np.bincount(ids, minlength=len(classes))
    few = [c for c, n in zip(classes, counts, strict=True) if n < 2]
    if few:
        raise ValueError(f"folder: class(es) {', '.join(few)} have only one image; each class "
                         "needs at least two (one to train on, one to validate)")
    train_idx, val_idx = tr.split(len(files), float(val_split), seed, ids)
    progress(0.0, f"{len(files)} images of {len(classes)} classes: {len(train_idx)} to train "
                  f"on, {len(val_idx)} to validate")

    from imgstudio.models import loading
    from imgstudio.models.nets import classifier as nets
    from imgstudio.ops.classify import custom

    torch = nets.torch
    functional = torch.nn.functional
    device = loading.device(WHAT)
    backbone, backbone_sha = nets.imagenet_backbone(arch, int(input_size), WHAT)
    generator = tr.seeded(seed, WHAT)  # after the backbone: the head starts the same every run
    config = {"arch": arch, "num_classes": len(classes), "input_size": int(input_size),
              "dropout": 0.2, "backbone": {"model": nets.BACKBONES[arch].model,
                                           "sha256": backbone_sha}}
    net = nets.Net(arch, len(classes), int(input_size), 0.2, backbone=backbone).to(device)
    net.eval()
    for p in net.backbone.parameters():
        p.requires_grad_(False)
    tuned = net.tuned_modules() if fine_tune else []
    tail = nets.TUNED_STAGES if fine_tune else 0
    split_at = len(net.stages()) - tail
    for m in tuned:
        for p in m.parameters():
            p.requires_grad_(True)

    size = int(input_size)
    n_views = int(views) if augment else 1
    settings = {"fine_tune": bool(fine_tune), "augment": bool(augment), "views": n_views,
                "balance": bool(balance), "val_split": float(val_split),
                "batch_size": int(batch_size), "learning_rate": float(learning_rate),
                "files": _fingerprint(folder, files)}
    checkpoint = tr.checkpoint_path(target)
    if resume and not checkpoint.is_file():
        raise ValueError(f"resume: there is no checkpoint {checkpoint} to resume from")
    if resume:
        state = tr.load_checkpoint(checkpoint)
        if state.get("kind") == "classifier" and (state.get("extra") or {}).get("settings") != settings:
            raise ValueError(f"resume: the checkpoint {checkpoint} was made with other settings "
                             "or another folder; resume with those, or start afresh")

    # -- the frozen part, once per image and view ---------------------------------------------
    augmenter = torch.Generator()
    augmenter.manual_seed(seed + 2)
    extract_share = 0.85 if not fine_tune else 0.6
    extracting = progress.sub(0.0, extract_share)
    total = len(train_idx) * n_views + len(val_idx)
    done = [0]

    def frozen(x: Any) -> Any:
        with torch.no_grad():
            return net.run(x, 0, None if tail == 0 else split_at)

    def base_of(i: int) -> Any:
        try:
            image = load_image(files[i])
        except (OSError, ValueError) as exc:
            raise ValueError(f"folder: cannot read {files[i]}: {exc}") from None
        return custom.base_view(image, size, device, param=f"folder: {files[i]}")

    train_cache: list[Any] = []
    pending: list[Any] = []

    def flush() -> None:
        if pending:
            out = frozen(custom.normalised(torch.stack(pending), arch))
            train_cache.extend(out)
            done[0] += len(pending)
            pending.clear()
            extracting(done[0] / max(total, 1), f"computing features: {done[0]}/{total} views")

    for i in train_idx:
        base = base_of(int(i))
        for _ in range(n_views):
            if augment:
                u = torch.rand(8, generator=augmenter, dtype=torch.float64).tolist()
                pending.append(augmented(base, size, u))
            else:
                pending.append(custom.centre_view(base, size))
            if len(pending) == EXTRACT_BATCH:
                flush()
        progress.check()
    flush()
    cached = torch.stack(train_cache).reshape(len(train_idx), n_views, *train_cache[0].shape)
    train_cache.clear()
    y_train = torch.from_numpy(ids[train_idx]).to(device)

    val_cache, thumbs = [], []
    for k, i in enumerate(val_idx):
        view = custom.centre_view(base_of(int(i)), size)
        # one image at a time, as classify.custom runs it: the same numbers to the bit
        val_cache.append(frozen(custom.normalised(view, arch)[None]))
        if k < PREVIEW:
            small = torch.nn.functional.interpolate(view[None], size=(PREVIEW_SIDE, PREVIEW_SIDE),
                                                    mode="area")[0]
            thumbs.append(tr.to_uint8(small.permute(1, 2, 0).cpu().numpy()))
        done[0] += 1
        extracting(done[0] / max(total, 1), f"computing features: {done[0]}/{total} views")
    y_val = ids[val_idx]

    # -- the class weights, the session -------------------------------------------------------
    train_counts = np.bincount(ids[train_idx], minlength=len(classes)).astype(np.float64)
    weights = (len(train_idx) / (len(classes) * train_counts)) if balance else np.ones(len(classes))
    loss_weight = torch.tensor(weights, dtype=torch.float32, device=device)

    modules: dict[str, Any] = {"head": net.head}
    groups = [{"params": list(net.head.parameters()), "lr": float(learning_rate)}]
    if tuned:
        modules["tuned"] = torch.nn.ModuleList(tuned)
        groups.append({"params": [p for m in tuned for p in m.parameters()],
                       "lr": float(learning_rate) * TUNED_LR_FACTOR})
    optimizer = torch.optim.Adam(groups)
    session = tr.Session("classifier", modules, {"adam": optimizer}, config, generator,
                         keep=("head",), extra={"settings": settings})

    def pooled(h: Any) -> Any:
        return h if tail == 0 else net.run(h, split_at)

    def modes(training: bool) -> None:
        net.eval()  # the backbone, batch norms included, always in inference mode
        net.head.train(training)

    def evaluate() -> tuple[np.ndarray, float]:
        """Validation probabilities (one image at a time) and the mean cross-entropy."""
        modes(False)
        with torch.no_grad():
            probs = np.stack([torch.softmax(net.head(pooled(h))[0].double(), 0).cpu().numpy()
                              for h in val_cache])
        nll = -np.log(np.clip(probs[np.arange(len(y_val)), y_val], 1e-300, None))
        return probs, float(nll.mean())

    last: dict[str, Any] = {}

    def run_epoch(epoch: int, sub: Progress) -> dict[str, float]:
        modes(True)
        # every view of every training image once, shuffled
        n = len(train_idx) * n_views
        order = torch.randperm(n, generator=generator).to(device)
        parts = [order[s: s + int(batch_size)] for s in range(0, n, int(batch_size))]
        loss_sum, right = 0.0, 0
        for b, index in enumerate(parts):
            image, view = index // n_views, index % n_views
            logits = net.head(pooled(cached[image, view]))
            loss = functional.cross_entropy(logits, y_train[image], weight=loss_weight)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(index)
            right += int((logits.argmax(1) == y_train[image]).sum())
            sub((b + 1) / len(parts), f"batch {b + 1}/{len(parts)}, loss {loss.item():.4g}")
        probs, val_loss = evaluate()
        last["probs"] = probs
        modes(True)
        return {"loss": loss_sum / n, "train_accuracy": right / n, "val_loss": val_loss,
                "val_accuracy": float(np.mean(probs.argmax(1) == y_val))}

    def preview() -> np.ndarray:
        right = last["probs"].argmax(1)[:len(thumbs)] == y_val[:len(thumbs)]
        return tr.grid(np.stack([_frame(t, bool(ok)) for t, ok in zip(thumbs, right, strict=True)]),
                       columns=4, pad=2)

    target.parent.mkdir(parents=True, exist_ok=True)  # the checkpoint goes beside it
    tr.fit(session, epochs=int(epochs), checkpoint=checkpoint, resume=resume,
           run_epoch=run_epoch, progress=progress.sub(extract_share, 1.0),
           preview=preview if thumbs else None)

    # -- final measures, the model ------------------------------------------------------------
    probs, val_loss = evaluate()
    predicted = probs.argmax(1)
    metrics: dict[str, float] = {
        "val_accuracy": float(np.mean(predicted == y_val)), "val_loss": val_loss,
        "train_accuracy": float(session.history["train_accuracy"][-1]),
        "loss": float(session.history["loss"][-1]),
        "train_images": float(len(train_idx)), "val_images": float(len(val_idx)),
    }
    for c, cname in enumerate(classes):
        metrics[f"val_accuracy.{cname}"] = float(np.mean(predicted[y_val == c] == c))
    for c, cname in enumerate(classes):
        metrics[f"class_weight.{cname}"] = float(weights[c])
    tensors = {f"net.{k}": v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    progress(1.0, f"validation accuracy {metrics['val_accuracy']:.3f}")
    return tr.register(session, name=name, output=target, seed=seed, metrics=metrics,
                       dataset=f"folder {folder} ({len(files)} images, {len(classes)} classes)",
                       architecture=nets.ARCHITECTURE, labels=list(classes), weights=tensors)
