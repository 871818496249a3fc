"""classify.custom: an image classified by a model ``train.classifier`` trained.

The input the network sees is made here, once for both sides: :func:`network_input` is what
``classify.custom`` feeds the network and what ``train.classifier`` measures its validation
accuracy on, so the two agree image for image. The training's augmented views start from the
same :func:`base_view`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from imgstudio.core.progress import Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import Classes, Image, check_image
from imgstudio.ops._pixels import token

WHAT = "classify.custom"
#: The shorter side is resized to this many times the input side before the centre crop
#: (256 / 224, as the ImageNet evaluations of both backbones do).
RESIZE_RATIO = 256 / 224
#: Most aspect ratio accepted (the shorter side is resized up to about the input side).
MAX_ASPECT = 100


def resized_side(input_size: int) -> int:
    """The shorter side of :func:`base_view` for an ``input_size`` network."""
    return int(round(input_size * RESIZE_RATIO))


def base_view(image: np.ndarray, input_size: int, device: Any = "cpu", param: str = "image") -> Any:
    """An image as float32 RGB ``(3, h, w)`` in [0, 1] (grey repeated, alpha ignored), its
    shorter side resized to :func:`resized_side` (bilinear, antialiased)."""
    from imgstudio.ops import _torchvision as tvops

    h, w = image.shape[:2]
    if max(h, w) > MAX_ASPECT * min(h, w):
        raise ValueError(f"{param}: aspect ratio must be at most {MAX_ASPECT}:1 for "
                         f"classification; got {w}×{h}")
    x = tvops.rgb_tensor(image, device, WHAT)
    F = tvops._functional(WHAT)
    return F.resize(x, [resized_side(input_size)], interpolation=F.InterpolationMode.BILINEAR,
                    antialias=True)


def normalised(x: Any, arch: str) -> Any:
    """``(..., 3, s, s)`` [0, 1] RGB normalised as the backbone's ImageNet weights expect."""
    from imgstudio.models.nets import classifier as nets
    from imgstudio.ops import _torchvision as tvops

    spec = nets.BACKBONES[arch]
    return tvops._functional(WHAT).normalize(x, list(spec.mean), list(spec.std))


def centre_view(base: Any, input_size: int) -> Any:
    """The central ``input_size``² of a :func:`base_view`, [0, 1] (not normalised)."""
    from imgstudio.ops import _torchvision as tvops

    return tvops._functional(WHAT).center_crop(base, [input_size, input_size])


def network_input(image: np.ndarray, config: dict[str, Any], device: Any = "cpu",
                  param: str = "image") -> Any:
    """What the network sees of ``image``: ``(1, 3, s, s)``, the centre of the
    :func:`base_view`, normalised (s = the config's ``input_size``)."""
    size = int(config["input_size"])
    return normalised(centre_view(base_view(image, size, device, param), size), config["arch"])[None]


def load_model(model: str | Path, progress: Progress | None = None) -> tuple[Any, Any, list[str], Any]:
    """The network of a ``train.classifier`` model (a store name or a file with its card),
    in eval mode on the device, loaded once per process; its lock, class names and config."""
    from imgstudio.models import loading, store
    from imgstudio.models.nets import classifier as nets
    from imgstudio.ops._training import find_trained, sub_state

    device = loading.device(WHAT)
    found = find_trained(model, nets.ARCHITECTURE)
    config = nets.check_config(found.config)
    labels = found.labels
    if not isinstance(labels, list) or len(labels) != config["num_classes"] or \
            not all(isinstance(n, str) for n in labels):
        raise ValueError(f"model: the card of {found.name!r} must list its "
                         f"{config['num_classes']} class names as labels; got {labels!r}")

    def factory() -> Any:
        if progress is not None:
            progress(0.0, f"loading model {found.name}…")
        net = nets.build(config)
        try:
            net.load_state_dict(sub_state(found.tensors, "net"), strict=True)
        except (RuntimeError, ValueError) as exc:
            line = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
            raise ValueError(f"model: the weights of {found.name!r} ({found.path}) do not fit "
                             f"its {config['arch']} classifier: {line}") from None
        net.eval()
        for p in net.parameters():
            p.requires_grad_(False)
        return net.to(device)

    key = (WHAT, str(found.path), found.sha256, str(device))
    net, lock, _ = store.cached(key, factory)
    return net, lock, list(labels), config


def probabilities(net: Any, lock: Any, x: Any) -> np.ndarray:
    """Softmax class probabilities of one network input ``(1, 3, s, s)`` (float64)."""
    from imgstudio.models import loading

    torch = loading.torch(WHAT)
    with lock, torch.no_grad():
        logits = net(x)[0]
    return torch.softmax(logits.double(), 0).cpu().numpy()


@operation("classify.custom", title="Classify (your model)", menu="Analyze/Classify")
def custom(
    image: Image,
    *,
    model: Path,
    progress: Progress | None = None,
) -> Classes:
    """Name what the image shows with a classifier you trained (``train.classifier``).

    The image is seen as the model saw its training images: RGB (grey repeated, alpha
    ignored), its shorter side resized to 256/224 of the model's input size (bilinear,
    antialiased), the central square of that size, normalised as the backbone's ImageNet
    weights expect. The whole network (backbone and head) comes from the model file, so the
    ImageNet weights it started from need not be installed.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image (aspect ratio at most 100:1).
    model : pathlib.Path
        The model: the ``.pt`` file ``train.classifier`` wrote (its card ``.json`` beside
        it), or the name it was registered under in the model store (``my-classifier``).
    progress : Progress, optional
        Progress ("loading model…" the first time).

    Returns
    -------
    Classes
        Every class of the model with its probability (softmax of the scores), most probable
        first.
    """
    image = check_image(image)
    progress = token(progress)
    if model is None or str(model).strip() == "":
        raise ValueError("model is required: a model file train.classifier wrote, or its name")
    net, lock, labels, config = load_model(Path(model), progress)
    device = next(net.parameters()).device
    x = network_input(image, config, device)
    progress.check()
    probs = probabilities(net, lock, x)
    order = np.argsort(-probs, kind="stable")
    progress(1.0, f"{labels[order[0]]} ({probs[order[0]]:.2f})")
    return Classes(items=[(labels[i], float(probs[i])) for i in order])
