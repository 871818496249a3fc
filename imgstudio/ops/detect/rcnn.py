"""detect.faster_rcnn: the 80 COCO object classes with torchvision's Faster R-CNN (ResNet-50
FPN), weights from the model store."""

from __future__ import annotations

from typing import Annotated

from imgstudio.core.editor import Editor
from imgstudio.core.progress import Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import Boxes, Image, Range, check_image
from imgstudio.ops import _torchvision as tvops
from imgstudio.ops._pixels import token

ARCH = "fasterrcnn_resnet50_fpn"


@operation("detect.faster_rcnn", title="Detect objects (Faster R-CNN)", menu="Analyze/Detect",
           editor=Editor(preview="apply"))
def faster_rcnn(
    image: Image,
    *,
    score_threshold: Annotated[float, Range(0.0, 1.0, step=0.05)] = 0.5,
    progress: Progress | None = None,
) -> Boxes:
    """Find people, animals, vehicles and the other COCO objects; a box per object.

    torchvision's ``fasterrcnn_resnet50_fpn`` with its own inference settings: the image
    (RGB, grey repeated, alpha ignored) is resized so its shorter side is 800 px (the longer
    at most 1,333), and the network reports at most 100 detections scoring at least 0.05
    after per-class non-maximum suppression (IoU 0.5). Weights: model
    ``fasterrcnn-resnet50-coco`` (torchvision's COCO_V1 file, not shipped: import it with
    ``imgstudio models import FILE --name fasterrcnn-resnet50-coco`` or keep it in the torch hub
    cache). A CPU needs several seconds per image.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image.
    score_threshold : float
        Detections scoring below it are dropped (below 0.05 it keeps all the network reports).
    progress : Progress, optional
        Progress and cancellation (checked between the network's stages).

    Returns
    -------
    Boxes
        ``xyxy`` in the image's pixels, ``scores`` the class probabilities, ``labels`` the
        COCO class names; most confident first.
    """
    image = check_image(image)
    progress = token(progress)
    what = "detect.faster_rcnn"
    loaded = tvops.load(ARCH, tvops.DETECTORS[ARCH], progress, what)
    x = tvops.rgb_tensor(image, loaded.device, what)
    with loaded.lock:
        det = tvops.rcnn_detect(loaded.model, x, score_threshold, progress, 0.1, 1.0, what)
    names = tvops.class_names(loaded.located, 91, what)
    progress(1.0, f"{len(det.boxes)} object(s)")
    return Boxes(xyxy=det.boxes.cpu().numpy(), scores=det.scores.cpu().numpy(),
                 labels=[names[i] for i in det.labels.tolist()])
