"""Shared machinery of the torchvision-based operations: architectures, weights from the model
store, cached loaded models, the inputs each network expects and a staged R-CNN forward pass.

- An architecture is built with random initialisation (``weights=None``: nothing is downloaded)
  and its weights come from the model store (:func:`imgstudio.models.store.find`), read with
  :func:`imgstudio.models.loading.state_dict` (``torch.load(weights_only=True)``) and loaded
  strictly: a file that does not fit the architecture is refused with a ``ValueError``.
- A loaded model is kept once per process (:func:`imgstudio.models.store.cached`) under
  ``(architecture, sha256 of the file, device)``, so re-imported weights load afresh; calls into
  it hold its lock.
- Images enter as float32 RGB in [0, 1] (grey repeated, alpha ignored); each family normalises
  them as its weights were trained (see :data:`CLASSIFIERS`, :func:`semantic_input`).

torch and torchvision are imported inside the functions (through
:func:`imgstudio.models.loading.require`), so importing this module costs only numpy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from imgstudio.core.progress import Progress
from imgstudio.models import loading, store
from imgstudio.ops._pixels import as_unit

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Classifier:
    """An ImageNet classifier: its store name and its evaluation preprocessing (resize the
    shorter side to ``resize``, centre crop ``crop``², ``(x - mean) / std`` on [0, 1] values)."""

    model: str
    resize: int
    crop: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]


CLASSIFIERS: dict[str, Classifier] = {
    # Google's EfficientNet-Lite checkpoints take (x - 127) / 128 on 0..255 values (their
    # MEAN_RGB/STDDEV_RGB); on skimage.data.coffee() it gives espresso 0.957 against 0.843 with
    # ImageNet's statistics, on chelsea() tiger cat 0.38 (ImageNet's: Egyptian cat 0.38).
    # TF evaluates a centre crop of 224/256 of the shorter side, as below.
    "efficientnet_lite0": Classifier("efficientnet-lite0", 256, 224,
                                     (127 / 255,) * 3, (128 / 255,) * 3),
    # torchvision's IMAGENET1K_V1 presets (ImageClassification)
    "mobilenet_v2": Classifier("mobilenet-v2-imagenet", 256, 224, IMAGENET_MEAN, IMAGENET_STD),
    "resnet50": Classifier("resnet50-imagenet", 256, 224, IMAGENET_MEAN, IMAGENET_STD),
    "vgg16": Classifier("vgg16-imagenet", 256, 224, IMAGENET_MEAN, IMAGENET_STD),
    "inception_v3": Classifier("inception-v3-imagenet", 342, 299, IMAGENET_MEAN, IMAGENET_STD),
}

#: Store names of the detection and segmentation weights.
DETECTORS = {"fasterrcnn_resnet50_fpn": "fasterrcnn-resnet50-coco",
             "maskrcnn_resnet50_fpn": "maskrcnn-resnet50-coco"}
SEGMENTERS = {"deeplabv3_resnet50": "deeplabv3-resnet50-voc",
              "fcn_resnet50": "fcn-resnet50-voc",
              "deeplabv3_mobilenet_v3_large": "deeplabv3-mobilenet-v3-large-voc"}
#: torchvision's SemanticSegmentation preset resizes the shorter side to 520 px; the longer side
#: is capped at 4× that (so a panorama does not need gigabytes of activations).
SEMANTIC_SIZE = 520
SEMANTIC_MAX_SIZE = 4 * SEMANTIC_SIZE
#: Most aspect ratio a classifier accepts (its input is resized so the shorter side is 256).
MAX_ASPECT = 100
#: Instances pasted at once when rasterising Mask R-CNN masks (bounds temporary memory).
PASTE_CHUNK = 8
#: Rows of the full-size label map computed at once from upsampled class scores.
ROWS_CHUNK = 64

WHAT = "the deep-learning operations"


def torchvision(what: str = WHAT) -> Any:
    """torchvision, imported after torch is configured (:func:`loading.torch`)."""
    loading.torch(what)
    return loading.require("torchvision", what)


# -- architectures ----------------------------------------------------------------------------

def build(arch: str, state: dict[str, Any], what: str = WHAT) -> Any:
    """A randomly initialised ``arch`` shaped for ``state`` (nothing is downloaded)."""
    if arch == "efficientnet_lite0":
        lite = loading.require("efficientnet_lite_pytorch", what)
        return lite.EfficientNet.from_name("efficientnet-lite0")
    tv = torchvision(what)
    if arch in ("mobilenet_v2", "resnet50", "vgg16"):
        return getattr(tv.models, arch)(weights=None)
    if arch == "inception_v3":
        # as torchvision builds it for its IMAGENET1K_V1 weights: the auxiliary classifier's
        # parameters are in the file, and the network re-normalises its input itself
        return tv.models.inception_v3(weights=None, aux_logits=True, transform_input=True,
                                      init_weights=False)
    if arch in DETECTORS:
        return getattr(tv.models.detection, arch)(weights=None, weights_backbone=None,
                                                  num_classes=91)
    if arch in SEGMENTERS:
        # the COCO_WITH_VOC_LABELS weights carry an auxiliary classifier (unused at inference);
        # weights trained without one have no aux_classifier.* keys: build what the file holds
        aux = any(str(k).startswith("aux_classifier.") for k in state)
        return getattr(tv.models.segmentation, arch)(weights=None, weights_backbone=None,
                                                     num_classes=21, aux_loss=aux)
    raise ValueError(f"unknown architecture {arch!r}")


@dataclass(frozen=True)
class Loaded:
    """A model in eval mode on ``device``, the lock to hold while calling it, and its card."""

    model: Any
    lock: Any
    device: Any
    located: store.Located


def load(arch: str, name: str, progress: Progress, what: str = WHAT) -> Loaded:
    """Model ``name`` (from the store) in architecture ``arch``, loaded once per process.

    :class:`~imgstudio.core.errors.ModelNotFoundError` when the weights are not installed;
    ``ValueError`` when the file does not fit ``arch``.
    """
    device = loading.device(what)  # first: without torch, say which extra to install
    located = store.find(name)

    def factory() -> Any:
        progress(0.0, f"loading model {name}…")
        state = loading.state_dict(located.path, located.info.format, what)
        model = build(arch, state, what)
        try:
            model.load_state_dict(state, strict=True)
        except (RuntimeError, TypeError, AttributeError) as exc:
            lines = [line.strip()[:200] for line in str(exc).strip().splitlines()[:3]]
            raise ValueError(f"the weights of model {name!r} ({located.path}) do not fit the "
                             f"{arch} architecture: {' '.join(lines)}") from None
        model.eval()
        for p in model.parameters():
            p.requires_grad_(False)
        return model.to(device)

    model, lock, _ = store.cached((arch, store.sha256_of(located.path), str(device)), factory)
    return Loaded(model, lock, device, located)


def class_names(located: store.Located, count: int, what: str = WHAT) -> list[str]:
    """The card's class names, padded with the ids as text where the list is short."""
    from imgstudio.models import labels

    names = labels.resolve(located.info.labels, what)
    return names + [str(i) for i in range(len(names), count)]


# -- inputs -----------------------------------------------------------------------------------

def _functional(what: str) -> Any:
    torchvision(what)
    return loading.require("torchvision.transforms.v2.functional", what)


def rgb_tensor(image: np.ndarray, device: Any, what: str = WHAT) -> Any:
    """An editor image as a float32 ``(3, H, W)`` tensor in [0, 1] on ``device`` (grey
    repeated, alpha ignored; the image itself is never written to)."""
    torch = loading.torch(what)
    colour = image if image.ndim == 2 else image[..., :3]
    values = as_unit(colour, np.float32)
    if values.dtype.kind == "f" and values is colour:
        values = np.clip(values, 0.0, 1.0)  # a float image as given: keep it in range
    tensor = torch.from_numpy(np.ascontiguousarray(values))
    tensor = tensor[None] if tensor.ndim == 2 else tensor.permute(2, 0, 1)
    return tensor.expand(3, -1, -1).to(device)


def classifier_input(x: Any, spec: Classifier, what: str = WHAT) -> Any:
    """``(3, H, W)`` in [0, 1] → the classifier's ``(1, 3, crop, crop)`` input: shorter side
    resized to ``spec.resize`` (bilinear, antialiased), centre crop, normalised."""
    h, w = x.shape[-2:]
    if max(h, w) > MAX_ASPECT * min(h, w):
        raise ValueError(f"image aspect ratio must be at most {MAX_ASPECT}:1 for "
                         f"classification; got {w}×{h}")
    F = _functional(what)
    x = F.resize(x, [spec.resize], interpolation=F.InterpolationMode.BILINEAR, antialias=True)
    x = F.center_crop(x, [spec.crop, spec.crop])
    return F.normalize(x, list(spec.mean), list(spec.std))[None]


def semantic_input(x: Any, what: str = WHAT) -> Any:
    """``(3, H, W)`` in [0, 1] → the segmenter's input: shorter side resized to 520 (longer
    capped at 2080), ImageNet-normalised, as ``(1, 3, h, w)``."""
    F = _functional(what)
    x = F.resize(x, [SEMANTIC_SIZE], interpolation=F.InterpolationMode.BILINEAR,
                 max_size=SEMANTIC_MAX_SIZE, antialias=True)
    return F.normalize(x, list(IMAGENET_MEAN), list(IMAGENET_STD))[None]


# -- outputs ----------------------------------------------------------------------------------

def linear_weights(size_out: int, size_in: int, what: str = WHAT) -> tuple[Any, Any, Any]:
    """1-D bilinear resampling with ``align_corners=False`` as torch's ``interpolate`` computes
    it: output ``i`` = ``(1 - f) * input[i0] + f * input[i1]``; returns ``(i0, i1, f)``."""
    torch = loading.torch(what)
    # in float32, as torch's CPU kernel computes it (area_pixel_compute_source_index)
    scale = torch.tensor(float(size_in), dtype=torch.float32) / size_out
    src = ((torch.arange(size_out, dtype=torch.float32) + 0.5) * scale - 0.5).clamp(min=0.0)
    i0 = src.floor().long().clamp(max=size_in - 1)
    i1 = (i0 + 1).clamp(max=size_in - 1)
    return i0, i1, (src - i0.to(torch.float32)).clamp(0.0, 1.0)


def upsampled_argmax(scores: Any, size: tuple[int, int], progress: Progress | None = None,
                     what: str = WHAT) -> np.ndarray:
    """Class index per pixel of ``scores`` ``(C, h, w)`` bilinearly resized to ``size``.

    The same as ``interpolate(scores[None], size, mode="bilinear").argmax(1)`` (up to ties
    within float rounding), computed :data:`ROWS_CHUNK` output rows at a time: the full-size
    scores of a 12-megapixel photo would take a gigabyte per 21 classes. The bilinear
    resampling is written out here because ``interpolate`` cannot produce a strip of rows."""
    h_in, w_in = scores.shape[-2:]
    height, width = size
    y0, y1, fy = (t.to(scores.device) for t in linear_weights(height, h_in, what))
    x0, x1, fx = (t.to(scores.device) for t in linear_weights(width, w_in, what))
    # across first, once per input row (C, h_in, width); then down, a strip of rows at a time
    across = (1.0 - fx) * scores[..., x0] + fx * scores[..., x1]
    out = np.empty((height, width), np.int32)
    for r0 in range(0, height, ROWS_CHUNK):
        r1 = min(r0 + ROWS_CHUNK, height)
        gy = fy[r0:r1, None]
        strip = (1.0 - gy) * across[:, y0[r0:r1]] + gy * across[:, y1[r0:r1]]
        out[r0:r1] = strip.argmax(0).cpu().numpy()
        if progress is not None:
            progress.check()
    return out


# -- R-CNN ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Detections:
    """R-CNN detections scoring at least the threshold, in original-image pixels, best first;
    ``masks``: Mask R-CNN's 28×28 mask probabilities of each (not yet pasted), else None."""

    boxes: Any
    scores: Any
    labels: Any
    masks: Any = None


def rcnn_detect(model: Any, x: Any, score_threshold: float, progress: Progress,
                start: float = 0.1, stop: float = 0.8, what: str = WHAT) -> Detections:
    """torchvision's ``GeneralizedRCNN.forward`` at inference, stage by stage.

    The same calls as ``model([x])`` (transform, backbone, region proposals, ROI heads, boxes
    scaled back), with progress and a cancel check between them; detections under
    ``score_threshold`` are dropped before their masks would be pasted at full size.
    """
    torch = loading.torch(what)
    torchvision(what)
    rcnn = loading.require("torchvision.models.detection.transform", what)
    original = (int(x.shape[-2]), int(x.shape[-1]))
    span = stop - start
    with torch.no_grad():
        progress(start, "running network: resizing and normalising")
        images, _ = model.transform([x])
        progress(start + 0.05 * span, "running network: backbone")
        features = model.backbone(images.tensors)
        if isinstance(features, torch.Tensor):
            features = {"0": features}
        progress(start + 0.6 * span, "running network: region proposals")
        proposals, _ = model.rpn(images, features)
        progress(start + 0.75 * span, "running network: detection heads")
        found, _ = model.roi_heads(features, proposals, images.image_sizes)
        progress.check()
    det = found[0]
    keep = det["scores"] >= score_threshold
    boxes = rcnn.resize_boxes(det["boxes"][keep], images.image_sizes[0], original)
    masks = det["masks"][keep] if "masks" in det else None
    return Detections(boxes, det["scores"][keep], det["labels"][keep], masks)


def paste_instances(det: Detections, size: tuple[int, int], progress: Progress,
                    start: float = 0.8, stop: float = 1.0, what: str = WHAT) -> np.ndarray:
    """Instance labels from Mask R-CNN masks pasted at full size: pixel → ``1 + i`` for the
    detection ``i`` whose mask probability there is highest and above 0.5 (the earlier, more
    confident one on ties), 0 where none is.

    Pastes :data:`PASTE_CHUNK` masks at a time with torchvision's ``paste_masks_in_image``
    (what ``model([x])`` returns as ``masks``), never all N full-size masks at once."""
    torch = loading.torch(what)
    torchvision(what)
    paste = loading.require("torchvision.models.detection.roi_heads", what).paste_masks_in_image
    height, width = size
    best = torch.full((height, width), 0.5, device=det.boxes.device)
    label = torch.zeros((height, width), dtype=torch.int32, device=det.boxes.device)
    n = len(det.boxes)
    with torch.no_grad():
        for i0 in range(0, n, PASTE_CHUNK):
            progress(start + (stop - start) * i0 / n, f"pasting masks ({i0}/{n})")
            probs = paste(det.masks[i0:i0 + PASTE_CHUNK], det.boxes[i0:i0 + PASTE_CHUNK],
                          (height, width))[:, 0]
            top, arg = probs.max(0)  # first maximum on ties
            better = top > best
            best = torch.where(better, top, best)
            label = torch.where(better, arg.to(torch.int32) + (i0 + 1), label)
    return label.cpu().numpy()
