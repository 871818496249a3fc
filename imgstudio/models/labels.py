"""Label sets named by model cards (``"labels": "imagenet"``), resolved when a model runs.

ImageNet, COCO and VOC names come from torchvision's own weight metadata (offline, part of
its code); a card may also list its labels itself.
"""

from __future__ import annotations

from typing import Any

from imgstudio.models.loading import require

#: The 33 BlazePose keypoints, in the model's order.
BLAZEPOSE = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_pinky",
    "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb", "left_hip",
    "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel",
    "right_heel", "left_foot_index", "right_foot_index",
)
DIGITS = tuple(str(d) for d in range(10))


def resolve(labels: Any, what: str = "this model") -> list[str]:
    """The class names of a card's ``labels`` (a set name or a list)."""
    if labels is None:
        return []
    if isinstance(labels, (list, tuple)):
        return [str(x) for x in labels]
    if labels == "digits":
        return list(DIGITS)
    if labels == "blazepose":
        return list(BLAZEPOSE)
    if labels in ("imagenet", "coco", "voc"):
        meta = require("torchvision.models._meta", what)
        return list({"imagenet": meta._IMAGENET_CATEGORIES, "coco": meta._COCO_CATEGORIES,
                     "voc": meta._VOC_CATEGORIES}[labels])
    raise ValueError(f"unknown label set {labels!r}")
