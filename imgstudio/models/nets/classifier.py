"""An image classifier made by transfer learning: an ImageNet backbone and a new linear head.

``train.classifier`` trains it, ``classify.custom`` runs it. Both build it from the model
card's ``config`` (:func:`check_config`):

- ``arch``: the backbone, ``efficientnet_lite0`` (Google's EfficientNet-Lite0, its ImageNet
  weights shipped by a registry package: model ``efficientnet-lite0``) or ``mobilenet_v2``
  (torchvision's MobileNetV2, weights ``mobilenet-v2-imagenet`` from the model store);
- ``num_classes``: the head's outputs;
- ``input_size``: the side of the square the network sees (EfficientNet-Lite's TensorFlow-style
  "same" padding is computed for it);
- ``dropout``: the dropout before the head while training.

The network (:class:`Net`) is the backbone's convolutional part (ImageNet classifier layer
dropped), global average pooling to one feature vector (1,280 numbers for both backbones) and
``head`` = dropout + linear layer. The backbone is seen as a list of stages
(:meth:`Net.stages`: the stem, each inverted-residual block, the final 1×1 convolution), so a
training can run the frozen first stages once per image and cache their output, and fine-tune
only the last :data:`TUNED_STAGES` (the last block and the final convolution).

The model file ``train.classifier`` writes holds the whole network (backbone and head, keys
``net.*``): it runs without the ImageNet weights it started from.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from imgstudio.models.loading import torch as _torch

torch = _torch("the image classifier")
nn = torch.nn

#: The architecture name model cards carry.
ARCHITECTURE = "transfer-classifier"
#: Settings a config must hold.
KEYS = ("arch", "num_classes", "input_size", "dropout")
#: The last stages ``fine_tune`` trains: the last inverted-residual block and the 1×1
#: convolution to 1,280 channels.
TUNED_STAGES = 2
#: Smallest and largest input side (five stride-2 stages: 32 px leave one pixel).
MIN_SIZE, MAX_SIZE = 32, 512


@dataclass(frozen=True)
class Backbone:
    """An ImageNet backbone: its model store name, feature width and input normalisation
    (``(x - mean) / std`` on [0, 1] RGB), as its weights were trained."""

    model: str
    features: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]


BACKBONES: dict[str, Backbone] = {
    # Google's EfficientNet-Lite checkpoints take (x - 127) / 128 on 0..255 values
    "efficientnet_lite0": Backbone("efficientnet-lite0", 1280, (127 / 255,) * 3, (128 / 255,) * 3),
    # torchvision's IMAGENET1K_V1 preset
    "mobilenet_v2": Backbone("mobilenet-v2-imagenet", 1280, (0.485, 0.456, 0.406),
                             (0.229, 0.224, 0.225)),
}


def check_config(config: dict[str, Any], param: str = "model") -> dict[str, Any]:
    """``config`` with its settings checked; ``ValueError`` naming ``param`` when one is wrong."""
    if not isinstance(config, dict):
        raise ValueError(f"{param}: the model card has no config (not a {ARCHITECTURE} card)")
    missing = [k for k in KEYS if k not in config]
    if missing:
        raise ValueError(f"{param}: the model's config lacks {', '.join(missing)} "
                         f"(not a {ARCHITECTURE} card)")
    if config["arch"] not in BACKBONES:
        raise ValueError(f"{param}: config arch must be one of {', '.join(BACKBONES)}; "
                         f"got {config['arch']!r}")
    for key, lo, hi in (("num_classes", 2, 100_000), ("input_size", MIN_SIZE, MAX_SIZE)):
        value = config[key]
        if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
            raise ValueError(f"{param}: config {key} must be an integer in [{lo}, {hi}]; "
                             f"got {value!r}")
    dropout = config["dropout"]
    if not isinstance(dropout, (int, float)) or isinstance(dropout, bool) or not 0 <= dropout < 1:
        raise ValueError(f"{param}: config dropout must be a number in [0, 1); got {dropout!r}")
    return dict(config)


@dataclass(frozen=True)
class Stage:
    """One step of the backbone: what it computes and the modules holding its weights."""

    run: Callable[[Any], Any]
    modules: tuple[Any, ...]


def _lite0(input_size: int) -> Any:
    from imgstudio.models import loading

    lite = loading.require("efficientnet_lite_pytorch", "the efficientnet_lite0 classifier")
    net = lite.EfficientNet.from_name("efficientnet-lite0", image_size=int(input_size))
    return net


def _mobilenet_v2() -> Any:
    from imgstudio.models import loading

    loading.torch("the mobilenet_v2 classifier")
    tv = loading.require("torchvision", "the mobilenet_v2 classifier")
    return tv.models.mobilenet_v2(weights=None)


class Net(nn.Module):
    """Backbone (ImageNet classifier layer removed) → average pooling → dropout → linear."""

    def __init__(self, arch: str, num_classes: int, input_size: int, dropout: float = 0.2,
                 backbone: Any = None) -> None:
        super().__init__()
        if arch not in BACKBONES:
            raise ValueError(f"arch must be one of {', '.join(BACKBONES)}; got {arch!r}")
        self.arch = arch
        if backbone is None:
            backbone = _lite0(input_size) if arch == "efficientnet_lite0" else _mobilenet_v2().features
            if arch == "efficientnet_lite0":
                backbone._fc = nn.Identity()
        self.backbone = backbone
        self.head = nn.Sequential(nn.Dropout(float(dropout)),
                                  nn.Linear(BACKBONES[arch].features, int(num_classes)))

    def stages(self) -> list[Stage]:
        """The backbone's stages in order (their outputs feed the next; see the module doc)."""
        b = self.backbone
        if self.arch == "mobilenet_v2":
            return [Stage(m, (m,)) for m in b]
        # as EfficientNet.extract_features computes it: stem, blocks (drop-connect rising
        # with depth, active only in training mode), 1×1 head convolution
        rate = b._global_params.drop_connect_rate or 0.0
        n = len(b._blocks)
        out = [Stage(lambda x: b._swish(b._bn0(b._conv_stem(x))), (b._conv_stem, b._bn0))]
        out += [Stage(functools.partial(block, drop_connect_rate=rate * i / n), (block,))
                for i, block in enumerate(b._blocks)]
        out.append(Stage(lambda x: b._swish(b._bn1(b._conv_head(x))), (b._conv_head, b._bn1)))
        return out

    def run(self, x: Any, start: int = 0, stop: int | None = None) -> Any:
        """Stages ``start`` to ``stop`` (exclusive) on ``x``; with ``stop`` None the rest of the
        backbone and the pooling: the ``(N, features)`` vector the head takes."""
        stages = self.stages()
        for stage in stages[start: len(stages) if stop is None else stop]:
            x = stage.run(x)
        if stop is None:
            x = torch.nn.functional.adaptive_avg_pool2d(x, 1).flatten(1)
        return x

    def forward(self, x: Any) -> Any:
        """Class scores (logits) of ``(N, 3, s, s)`` normalised images."""
        return self.head(self.run(x))

    def tuned_modules(self, count: int = TUNED_STAGES) -> list[Any]:
        """The modules of the last ``count`` stages (what ``fine_tune`` trains)."""
        return [m for stage in self.stages()[-count:] for m in stage.modules] if count else []


def build(config: dict[str, Any]) -> Net:
    """A randomly initialised network shaped by a checked ``config`` (nothing is loaded)."""
    config = check_config(config)
    return Net(config["arch"], config["num_classes"], config["input_size"], config["dropout"])


def imagenet_backbone(arch: str, input_size: int, what: str = "train.classifier") -> tuple[Any, str]:
    """A fresh copy of ``arch``'s convolutional part with its ImageNet weights from the model
    store, and the weights' sha256.

    :class:`~imgstudio.core.errors.ModelNotFoundError` when they are not installed;
    ``ValueError`` when the file does not fit the architecture. The loaded network is kept
    once per process (per input size); each call gets its own copy to train.
    """
    from imgstudio.models import loading, store

    if arch not in BACKBONES:
        raise ValueError(f"arch must be one of {', '.join(BACKBONES)}; got {arch!r}")
    located = store.find(BACKBONES[arch].model)
    digest = store.sha256_of(located.path)

    def factory() -> Any:
        state = loading.state_dict(located.path, located.info.format, what)
        full = _lite0(input_size) if arch == "efficientnet_lite0" else _mobilenet_v2()
        try:
            full.load_state_dict(state, strict=True)
        except (RuntimeError, TypeError, AttributeError) as exc:
            line = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
            raise ValueError(f"the weights of model {located.info.name!r} ({located.path}) do "
                             f"not fit the {arch} architecture: {line}") from None
        if arch == "efficientnet_lite0":
            full._fc = nn.Identity()
            return full
        return full.features

    key = ("classifier-backbone", arch, digest, int(input_size))
    # the random initialisation inside factory() must not move torch's global generator
    # differently on the first call than on later (cached) ones: keep its state
    state = torch.get_rng_state()
    try:
        backbone, lock, _ = store.cached(key, factory)
    finally:
        torch.set_rng_state(state)
    with lock:
        return copy.deepcopy(backbone), digest


__all__ = ["ARCHITECTURE", "BACKBONES", "Backbone", "Net", "Stage", "TUNED_STAGES", "build",
           "check_config", "imagenet_backbone", "torch"]
