"""detect.faster_rcnn (imgstudio.ops.detect.rcnn): torchvision's Faster R-CNN with weights from
the model store.

No real weights ship, so the loading path, pre/post-processing and output types are checked
with randomly initialised weights the tests save and import, against the bare torchvision
model called on the same image; tests with torchvision's real COCO weights run when the store
finds them. The image is a 32 × 200 strip of a photo: torchvision resizes it to 213 × 1333
(shorter side 800, longer capped at 1333), a third of the pixels of a 4:3 image, so a CPU
forward pass takes ~2 s."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data
import torch

import imgstudio.api as api
from imgstudio.core.errors import ModelNotFoundError
from imgstudio.core.progress import Cancelled, Progress
from imgstudio.core.types import Boxes
from imgstudio.models import labels, store
from tests.ops.torch_weights import random_detector

NAME = "fasterrcnn-resnet50-coco"
COCO = labels.resolve("coco")


@pytest.fixture(scope="module")
def strip() -> np.ndarray:
    return np.ascontiguousarray(skimage.data.astronaut()[100:132, 50:250])


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """A randomly initialised Faster R-CNN (seed 0), its saved file."""
    return random_detector("fasterrcnn_resnet50_fpn", tmp_path_factory.mktemp("weights"))


@pytest.fixture(scope="module")
def reference(weights, strip) -> dict[str, np.ndarray]:
    """The bare model's detections on the strip (the float image made as the op makes it,
    uint8 × (1/255), so the comparison can be exact)."""
    model, _ = weights
    x = torch.from_numpy(strip.astype(np.float32) * np.float32(1 / 255)).permute(2, 0, 1)
    with torch.no_grad():
        out = model([x])[0]
    return {k: v.numpy() for k, v in out.items()}


@pytest.fixture
def imported(models, weights):
    store.import_file(weights[1], NAME)
    return weights[0]


def test_missing_weights_name_the_import_command(models, strip):
    with pytest.raises(ModelNotFoundError, match=f"imgstudio models import FILE --name {NAME}"):
        api.run("detect.faster_rcnn", strip)


def test_boxes_equal_the_bare_models(imported, strip, reference):
    boxes = api.run("detect.faster_rcnn", strip, score_threshold=0.0)
    assert isinstance(boxes, Boxes)
    assert len(reference["boxes"]) > 10  # random weights: up to 100 detections
    assert np.array_equal(boxes.xyxy, reference["boxes"].astype(float))
    assert np.array_equal(boxes.scores, reference["scores"].astype(float))
    assert boxes.labels == [COCO[i] for i in reference["labels"]]
    assert list(boxes.scores) == sorted(boxes.scores, reverse=True)
    h, w = strip.shape[:2]  # boxes in the image's pixels, not the network's 213 × 1333
    assert boxes.xyxy.min() >= 0 and boxes.xyxy[:, [0, 2]].max() <= w
    assert boxes.xyxy[:, [1, 3]].max() <= h


def test_score_threshold_drops_weaker_detections(imported, strip, reference):
    threshold = float(np.median(reference["scores"]))
    keep = reference["scores"] >= threshold
    boxes = api.run("detect.faster_rcnn", strip, score_threshold=threshold)
    assert 0 < len(boxes) < len(reference["scores"])
    assert np.array_equal(boxes.xyxy, reference["boxes"][keep].astype(float))
    assert boxes.labels == [COCO[i] for i in reference["labels"][keep]]


def test_progress_reports_stages_and_cancel_stops_the_network(imported, strip):
    def cancel_at_backbone(fraction: float, message: str) -> None:
        seen.append(message)
        if "backbone" in message:
            progress.cancel()

    seen: list[str] = []
    progress = Progress(cancel_at_backbone)
    with pytest.raises(Cancelled):
        api.run("detect.faster_rcnn", strip, progress=progress)
    assert seen[0] == f"loading model {NAME}…"
    assert "region proposals" not in " ".join(seen)


def test_bad_params(strip):
    for value in (-0.1, 1.5):
        with pytest.raises(ValueError, match="score_threshold"):
            api.run("detect.faster_rcnn", strip, score_threshold=value)


def test_real_weights_find_the_cat_on_chelsea():
    try:
        store.find(NAME)
    except ModelNotFoundError as exc:
        pytest.skip(str(exc))
    boxes = api.run("detect.faster_rcnn", skimage.data.chelsea())
    assert "cat" in boxes.labels
    cat = boxes.xyxy[boxes.labels.index("cat")]
    assert (cat[2] - cat[0]) * (cat[3] - cat[1]) > 0.2 * 300 * 451  # a big box on her
