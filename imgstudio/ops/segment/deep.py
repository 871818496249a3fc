"""segment.mask_rcnn (COCO instances) and segment.semantic (VOC classes): torchvision networks,
weights from the model store."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Literal

from imgstudio.core.editor import Editor
from imgstudio.core.progress import Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import Boxes, Image, Instances, Labels, Range, Result, check_image
from imgstudio.models import loading
from imgstudio.ops import _torchvision as tvops
from imgstudio.ops._pixels import token

MASK_ARCH = "maskrcnn_resnet50_fpn"
SemanticArch = Literal["deeplabv3_resnet50", "fcn_resnet50", "deeplabv3_mobilenet_v3_large"]


@dataclass(frozen=True, eq=False)
class Semantic(Result):
    """A class id per pixel and the class names: ``classes[i]`` names id ``i`` (0 =
    background)."""

    labels: Labels
    classes: list[str] = field(default_factory=list)


@operation("segment.mask_rcnn", title="Instance segmentation (Mask R-CNN)",
           menu="Segment/Deep learning", editor=Editor(preview="apply"))
def mask_rcnn(
    image: Image,
    *,
    score_threshold: Annotated[float, Range(0.0, 1.0, step=0.05)] = 0.5,
    progress: Progress | None = None,
) -> Instances:
    """Outline each person, animal, vehicle and other COCO object: one label per instance.

    torchvision's ``maskrcnn_resnet50_fpn`` with its own inference settings: the image (RGB,
    grey repeated, alpha ignored) is resized so its shorter side is 800 px (the longer at
    most 1,333); the network reports at most 100 detections scoring at least 0.05, each with a
    28 × 28 mask pasted into its box at full resolution. Weights: model
    ``maskrcnn-resnet50-coco`` (torchvision's COCO_V1 file, not shipped: import it with
    ``imgstudio models import FILE --name maskrcnn-resnet50-coco`` or keep it in the torch hub
    cache). A CPU needs several seconds per image.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image.
    score_threshold : float
        Detections scoring below it are dropped (below 0.05 it keeps all the network reports).
    progress : Progress, optional
        Progress and cancellation (checked between the network's stages and while masks are
        pasted).

    Returns
    -------
    Instances
        ``labels``: int32 (H, W), ``i + 1`` where detection ``i``'s mask probability is above
        0.5 and the highest of the detections there (the more confident on ties), 0
        elsewhere; ``boxes``: the detections (``xyxy`` in pixels, scores, COCO class names),
        most confident first, so label ``i + 1`` is box ``i`` (a box whose mask is covered by
        others or empty has no pixels).
    """
    image = check_image(image)
    progress = token(progress)
    what = "segment.mask_rcnn"
    progress(0.0, "loading model")
    loaded = tvops.load(MASK_ARCH, tvops.DETECTORS[MASK_ARCH], progress, what)
    progress.check()
    x = tvops.rgb_tensor(image, loaded.device, what)
    with loaded.lock:
        det = tvops.rcnn_detect(loaded.model, x, score_threshold, progress, 0.1, 0.8, what)
        labels = tvops.paste_instances(det, image.shape[:2], progress, 0.8, 1.0, what)
    names = tvops.class_names(loaded.located, 91, what)
    progress(1.0, f"{len(det.boxes)} instance(s)")
    boxes = Boxes(xyxy=det.boxes.cpu().numpy(), scores=det.scores.cpu().numpy(),
                  labels=[names[i] for i in det.labels.tolist()])
    return Instances(labels=labels, boxes=boxes)


@operation("segment.semantic", title="Semantic segmentation", menu="Segment/Deep learning",
           editor=Editor(preview="apply"))
def semantic(
    image: Image,
    *,
    arch: SemanticArch = "deeplabv3_resnet50",
    progress: Progress | None = None,
) -> Semantic:
    """Label every pixel with one of the 20 Pascal VOC classes (person, car, cat, ...) or 0.

    torchvision's segmentation networks trained on the COCO images of the 20 VOC classes. The
    image (RGB, grey repeated, alpha ignored) is resized so its shorter side is 520 px, as
    torchvision evaluates them (the longer side at most 2,080), and the class scores are
    resized back bilinearly to the image's size. Weights: models ``deeplabv3-resnet50-voc``,
    ``fcn-resnet50-voc``, ``deeplabv3-mobilenet-v3-large-voc`` (torchvision's
    COCO_WITH_VOC_LABELS_V1 files, not shipped: import one with ``imgstudio models import FILE
    --name NAME`` or keep it in the torch hub cache).

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image.
    arch : {"deeplabv3_resnet50", "fcn_resnet50", "deeplabv3_mobilenet_v3_large"}
        The network: DeepLabV3 or FCN on ResNet-50 (several seconds per image on a CPU), or
        DeepLabV3 on MobileNetV3-Large (about 1 s).
    progress : Progress, optional
        Progress and cancellation (checked before and after the network runs).

    Returns
    -------
    Semantic
        ``labels``: int32 (H, W) VOC class ids (0 = background); ``classes``: the 21 names,
        ``classes[i]`` that of id ``i``.
    """
    image = check_image(image)
    if arch not in tvops.SEGMENTERS:
        raise ValueError(f"arch must be one of {', '.join(tvops.SEGMENTERS)}; got {arch!r}")
    progress = token(progress)
    what = "segment.semantic"
    progress(0.0, "loading model")
    loaded = tvops.load(arch, tvops.SEGMENTERS[arch], progress, what)
    torch = loading.torch(what)
    progress(0.1, f"running network ({arch})")
    x = tvops.semantic_input(tvops.rgb_tensor(image, loaded.device, what), what)
    with loaded.lock, torch.no_grad():
        scores = loaded.model(x)["out"][0]
    progress(0.9, "resizing class scores")
    labels = tvops.upsampled_argmax(scores, image.shape[:2], progress, what)
    progress(1.0, "segmented")
    return Semantic(labels=labels, classes=tvops.class_names(loaded.located, len(scores), what))
