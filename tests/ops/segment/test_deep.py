"""segment.mask_rcnn and segment.semantic (imgstudio.ops.segment.deep): torchvision networks
with weights from the model store.

No real weights ship, so the loading path, pre/post-processing and output types are checked
with randomly initialised weights the tests save and import, against the bare torchvision
model called on the same image (for segment.semantic fed by torchvision's own preprocessing
preset); tests with torchvision's real weights run when the store finds them. Mask R-CNN runs
on a 32 × 200 strip (resized by torchvision to 213 × 1333: ~2 s a pass on a CPU core)."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data
import torch
import torch.nn.functional as F
import torchvision

import imgstudio.api as api
from imgstudio.core.errors import ModelNotFoundError
from imgstudio.core.progress import Cancelled, Progress
from imgstudio.core.types import Instances
from imgstudio.models import labels, store
from imgstudio.ops import _torchvision as tvops
from imgstudio.ops.segment.deep import Semantic
from tests.ops.torch_weights import random_detector

MASK = "maskrcnn-resnet50-coco"
COCO = labels.resolve("coco")
VOC = labels.resolve("voc")
SEMANTIC = {  # arch → (store name, its weights enum: the official preprocessing preset)
    "deeplabv3_resnet50": ("deeplabv3-resnet50-voc",
                           torchvision.models.segmentation.DeepLabV3_ResNet50_Weights),
    "fcn_resnet50": ("fcn-resnet50-voc", torchvision.models.segmentation.FCN_ResNet50_Weights),
    "deeplabv3_mobilenet_v3_large": (
        "deeplabv3-mobilenet-v3-large-voc",
        torchvision.models.segmentation.DeepLabV3_MobileNet_V3_Large_Weights),
}


def as_float(image: np.ndarray) -> torch.Tensor:
    """The float image as the ops make it (uint8 × (1/255)), so comparisons can be exact."""
    return torch.from_numpy(image.astype(np.float32) * np.float32(1 / 255)).permute(2, 0, 1)


@pytest.fixture(scope="module")
def strip() -> np.ndarray:
    return np.ascontiguousarray(skimage.data.astronaut()[100:132, 50:250])


@pytest.fixture(scope="module")
def small() -> np.ndarray:
    return np.ascontiguousarray(skimage.data.chelsea()[::6, ::6][:48, :48])


# -- segment.mask_rcnn ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mask_weights(tmp_path_factory):
    """A randomly initialised Mask R-CNN (seed 0) and its saved file."""
    return random_detector("maskrcnn_resnet50_fpn", tmp_path_factory.mktemp("weights"))


@pytest.fixture(scope="module")
def mask_reference(mask_weights, strip) -> dict[str, np.ndarray]:
    with torch.no_grad():
        out = mask_weights[0]([as_float(strip)])[0]
    return {k: v.numpy() for k, v in out.items()}


@pytest.fixture
def mask_imported(models, mask_weights):
    store.import_file(mask_weights[1], MASK)


def rasterise(masks: np.ndarray) -> np.ndarray:
    """Instance labels from (N, 1, H, W) mask probabilities, one instance after the other:
    a pixel goes to the instance whose probability there is above 0.5 and higher than every
    earlier instance's (so the earlier, more confident one keeps ties)."""
    out = np.zeros(masks.shape[2:], np.int32)
    best = np.full(masks.shape[2:], 0.5, np.float32)
    for i, m in enumerate(masks[:, 0]):
        wins = m > best
        out[wins] = i + 1
        best[wins] = m[wins]
    return out


def test_mask_rcnn_missing_weights_name_the_import_command(models, strip):
    with pytest.raises(ModelNotFoundError, match=f"imgstudio models import FILE --name {MASK}"):
        api.run("segment.mask_rcnn", strip)


def test_mask_rcnn_equals_the_bare_model(mask_imported, strip, mask_reference):
    messages: list[str] = []
    result = api.run("segment.mask_rcnn", strip, score_threshold=0.0,
                     progress=Progress(lambda f, m: messages.append(m)))
    assert isinstance(result, Instances)
    ref = mask_reference
    assert len(ref["boxes"]) == 100  # random weights: torchvision's cap of detections
    assert np.array_equal(result.boxes.xyxy, ref["boxes"].astype(float))
    assert np.array_equal(result.boxes.scores, ref["scores"].astype(float))
    assert result.boxes.labels == [COCO[i] for i in ref["labels"]]
    assert result.labels.dtype == np.int32 and result.labels.shape == strip.shape[:2]
    expected = rasterise(ref["masks"])
    assert len(np.unique(expected)) > 5
    assert np.array_equal(result.labels, expected)
    for stage in ("loading model", "running network", "pasting masks"):
        assert any(m.startswith(stage) for m in messages), stage


def test_mask_rcnn_score_threshold_drops_instances_before_rasterising(
        mask_imported, strip, mask_reference):
    ref = mask_reference
    threshold = float(np.median(ref["scores"]))
    keep = ref["scores"] >= threshold
    result = api.run("segment.mask_rcnn", strip, score_threshold=threshold)
    assert 0 < len(result.boxes) < len(ref["scores"])
    assert np.array_equal(result.boxes.xyxy, ref["boxes"][keep].astype(float))
    assert np.array_equal(result.labels, rasterise(ref["masks"][keep]))
    assert result.labels.max() <= len(result.boxes)


def test_mask_rcnn_cancel_stops_before_the_proposals(mask_imported, strip):
    def cancel_at_backbone(fraction: float, message: str) -> None:
        seen.append(message)
        if "backbone" in message:
            progress.cancel()

    seen: list[str] = []
    progress = Progress(cancel_at_backbone)
    with pytest.raises(Cancelled):
        api.run("segment.mask_rcnn", strip, progress=progress)
    assert not any("proposals" in m or "pasting" in m for m in seen)


def synthetic_detections(n: int = 20, size: tuple[int, int] = (60, 90)) -> tvops.Detections:
    """``n`` random 28 × 28 masks in random boxes, as Mask R-CNN's ROI heads give them."""
    g = torch.Generator().manual_seed(3)
    h, w = size
    xy = torch.rand(n, 2, generator=g) * torch.tensor([w * 0.7, h * 0.7])
    wh = torch.rand(n, 2, generator=g) * torch.tensor([w * 0.5, h * 0.5]) + 2
    boxes = torch.cat([xy, xy + wh], 1)
    masks = torch.rand(n, 1, 28, 28, generator=g)
    return tvops.Detections(boxes, torch.linspace(0.9, 0.1, n), torch.ones(n, dtype=torch.long),
                            masks)


def test_paste_instances_equals_rasterising_torchvisions_pasted_masks():
    from torchvision.models.detection.roi_heads import paste_masks_in_image

    det = synthetic_detections()
    full = paste_masks_in_image(det.masks, det.boxes, (60, 90)).numpy()  # all at once
    got = tvops.paste_instances(det, (60, 90), Progress())
    assert np.array_equal(got, rasterise(full))
    assert len(np.unique(got)) > 10


def test_paste_instances_checks_for_cancel_between_chunks():
    det = synthetic_detections(3 * tvops.PASTE_CHUNK)
    messages: list[str] = []

    def cancel_after_first_chunk(fraction: float, message: str) -> None:
        messages.append(message)
        if len(messages) == 2:
            progress.cancel()

    progress = Progress(cancel_after_first_chunk)
    with pytest.raises(Cancelled):
        tvops.paste_instances(det, (60, 90), progress)
    assert messages == [f"pasting masks (0/{len(det.boxes)})",
                        f"pasting masks ({tvops.PASTE_CHUNK}/{len(det.boxes)})"]


def test_mask_rcnn_bad_params(strip):
    with pytest.raises(ValueError, match="score_threshold"):
        api.run("segment.mask_rcnn", strip, score_threshold=2.0)


def test_mask_rcnn_real_weights_outline_the_cat_on_chelsea():
    try:
        store.find(MASK)
    except ModelNotFoundError as exc:
        pytest.skip(str(exc))
    chelsea = skimage.data.chelsea()
    result = api.run("segment.mask_rcnn", chelsea)
    assert "cat" in result.boxes.labels
    cat = result.boxes.labels.index("cat") + 1
    assert (result.labels == cat).mean() > 0.2  # she fills about half the photo


# -- segment.semantic -------------------------------------------------------------------------


def random_segmenter(arch: str, image: np.ndarray | None = None, aux: bool = True
                     ) -> torch.nn.Module:
    """Random weights (seed 0); given ``image``, with the batch-norm statistics of it (and its
    mirror image) preprocessed by torchvision's preset: with the initial statistics the
    random network's activations vanish and it gives one class everywhere, so a label map
    would not show a wrong preprocessing; recalibrated, it gives ~20 classes."""
    torch.manual_seed(0)
    model = getattr(torchvision.models.segmentation, arch)(
        weights=None, weights_backbone=None, num_classes=21, aux_loss=aux)
    if image is None:
        return model.eval()
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.reset_running_stats()
            module.momentum = None  # the plain average of what it sees
    x = SEMANTIC[arch][1].COCO_WITH_VOC_LABELS_V1.transforms()(as_float(image))
    with torch.no_grad():
        model.train()(torch.stack([x, x.flip(-1)]))
    return model.eval()


def semantic_reference(model: torch.nn.Module, arch: str, image: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Labels of the bare model fed by torchvision's preset, its class scores resized to the
    image with ``interpolate``; and the gap between the two best scores of each pixel."""
    preset = SEMANTIC[arch][1].COCO_WITH_VOC_LABELS_V1.transforms()
    with torch.no_grad():
        out = model(preset(as_float(image))[None])["out"]
    scores = F.interpolate(out, image.shape[:2], mode="bilinear", align_corners=False)[0]
    top2 = scores.topk(2, 0).values
    return scores.argmax(0).numpy(), (top2[0] - top2[1]).numpy()


def check_semantic(arch: str, model: torch.nn.Module, image: np.ndarray, folder) -> None:
    path = folder / f"{arch}.pth"
    torch.save(model.state_dict(), path)
    store.import_file(path, SEMANTIC[arch][0])
    result = api.run("segment.semantic", image, arch=arch)
    assert isinstance(result, Semantic)
    assert result.classes == VOC and result.classes[0] == "__background__"
    assert result.labels.dtype == np.int32 and result.labels.shape == image.shape[:2]
    expected, gap = semantic_reference(model, arch, image)
    assert len(np.unique(expected)) >= 5
    differ = result.labels != expected
    # the op resamples the scores a strip of rows at a time: the same sums in another order,
    # so only pixels whose two best classes tie within float rounding may differ
    assert not differ[gap > 1e-4].any()
    assert differ.mean() < 1e-3


def test_semantic_mobilenet_equals_the_bare_model(models, small):
    arch = "deeplabv3_mobilenet_v3_large"
    check_semantic(arch, random_segmenter(arch, small), small, models)


def test_semantic_weights_without_an_auxiliary_head_load(models, small):
    arch = "deeplabv3_mobilenet_v3_large"
    check_semantic(arch, random_segmenter(arch, small, aux=False), small, models)


@pytest.mark.parametrize("arch", ["deeplabv3_resnet50", "fcn_resnet50"])
def test_semantic_resnet50_weights_load_into_their_architecture(models, arch):
    # the forward pass and its pre/post-processing are the same code for every arch (checked
    # against the bare model with MobileNetV3 above); a ResNet-50 pass at 520² takes ~5 s, so
    # here only the loading: the strictly loaded model holds the file's tensors, in eval mode
    model = random_segmenter(arch)
    path = models / f"{arch}.pth"
    torch.save(model.state_dict(), path)
    store.import_file(path, SEMANTIC[arch][0])
    loaded = tvops.load(arch, SEMANTIC[arch][0], Progress())
    assert type(loaded.model) is type(model) and not loaded.model.training
    assert loaded.model.aux_classifier is not None
    mine, theirs = loaded.model.state_dict(), model.state_dict()
    assert mine.keys() == theirs.keys()
    assert all(torch.equal(mine[k], theirs[k]) for k in mine)


@pytest.mark.parametrize("arch", list(SEMANTIC))
def test_semantic_missing_weights_name_the_import_command(models, small, arch):
    name = SEMANTIC[arch][0]
    with pytest.raises(ModelNotFoundError, match=f"imgstudio models import FILE --name {name}"):
        api.run("segment.semantic", small, arch=arch)


def test_semantic_refuses_weights_of_another_architecture(models, small):
    path = models / "mobilenet.pth"
    torch.save(random_segmenter("deeplabv3_mobilenet_v3_large").state_dict(), path)
    store.import_file(path, "fcn-resnet50-voc")
    with pytest.raises(ValueError, match="do not fit the fcn_resnet50 architecture"):
        api.run("segment.semantic", small, arch="fcn_resnet50")


def test_semantic_bad_params(small):
    with pytest.raises(ValueError, match="arch"):
        api.run("segment.semantic", small, arch="unet")


@pytest.mark.parametrize("shape", [(48, 64, 21, 5, 7), (300, 1000, 5, 40, 90),
                                   (1000, 300, 3, 520, 693), (7, 5, 2, 20, 30)])
def test_upsampled_argmax_equals_interpolate(shape):
    height, width, c, h, w = shape
    scores = torch.randn(c, h, w, generator=torch.Generator().manual_seed(1)) * 3
    full = F.interpolate(scores[None], (height, width), mode="bilinear", align_corners=False)[0]
    got = tvops.upsampled_argmax(scores, (height, width))
    top2 = full.topk(2, 0).values
    differ = got != full.argmax(0).numpy()
    assert not differ[(top2[0] - top2[1]).numpy() > 1e-5].any()
    assert differ.sum() <= 2


def test_semantic_real_weights_find_the_cat_on_chelsea():
    arch = "deeplabv3_resnet50"
    try:
        store.find(SEMANTIC[arch][0])
    except ModelNotFoundError as exc:
        pytest.skip(str(exc))
    result = api.run("segment.semantic", skimage.data.chelsea(), arch=arch)
    assert (result.labels == VOC.index("cat")).mean() > 0.2
