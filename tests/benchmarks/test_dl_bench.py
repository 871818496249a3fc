"""Deep-learning benchmarks: the torchvision-based ops through ``api.run`` against the same
network called directly, the loaded model cached on both sides.

The bare call does what a user of torchvision would write for the same output: the float
image, the preprocessing (torchvision transforms), the forward pass, the softmax and top-k, or
for Mask R-CNN ``model([x])`` and the masks rasterised to one label per instance. Medians of
interleaved runs on the CPU (``IMGSTUDIO_DEVICE`` as set; one torch thread unless
``IMGSTUDIO_TORCH_THREADS`` says otherwise). Mask R-CNN runs with torchvision's real COCO
weights when the store finds them, else with random weights imported into a temporary store
(the same work per detection; random weights give the full 100 detections).
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import skimage.data
import torch

import imgstudio.api as api
from imgstudio.core.errors import ModelNotFoundError
from imgstudio.models import loading, store
from tests.benchmarks._timing import interleaved_medians, report, target

TARGET = 1.10


def _unit(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(image.astype(np.float32) * np.float32(1 / 255)).permute(2, 0, 1)


def test_classify_imagenet_overhead_of_api_run_on_224_pixels():
    from efficientnet_lite_pytorch import EfficientNet
    from torchvision.transforms import v2

    loading.torch()  # the op's thread settings for both sides
    image = np.ascontiguousarray(skimage.data.chelsea()[38:262, 113:337])  # 224 × 224
    net = EfficientNet.from_name("efficientnet-lite0")
    net.load_state_dict(loading.state_dict(store.find("efficientnet-lite0").path))
    net.eval()
    preset = v2.Compose([v2.Resize(256, antialias=True), v2.CenterCrop(224),
                         v2.Normalize([127 / 255] * 3, [128 / 255] * 3)])

    def bare() -> list[tuple[float, int]]:
        with torch.no_grad():
            probs = torch.softmax(net(preset(_unit(image))[None])[0], 0)
        values, indices = probs.topk(5)
        return list(zip(values.tolist(), indices.tolist(), strict=True))

    op = api.run("classify.imagenet", image)  # loads and caches the model
    assert op.items[0][1] == pytest.approx(bare()[0][0], abs=1e-5)
    times = interleaved_medians({"bare": bare,
                                 "api.run": lambda: api.run("classify.imagenet", image)},
                                repeat=21)
    ratio = times["api.run"] / times["bare"]
    report("classify.imagenet: efficientnet_lite0 on a 224x224 crop of chelsea (model cached)", [
        ("what", "median", "vs bare", "target"),
        ("bare: transforms + EfficientNet + softmax/topk", f"{times['bare'] * 1e3:.1f} ms",
         "1.00x", ""),
        ("api.run('classify.imagenet')", f"{times['api.run'] * 1e3:.1f} ms", f"{ratio:.2f}x",
         f"<= {TARGET:.2f}x"),
    ])
    target("api.run('classify.imagenet') vs bare", ratio, TARGET)
    assert ratio <= TARGET


@pytest.fixture
def mask_model(tmp_path, monkeypatch):
    """The store's Mask R-CNN, or random weights imported into a temporary store."""
    import torchvision

    name = "maskrcnn-resnet50-coco"
    try:
        store.find(name)
        kind = "real COCO weights"
    except ModelNotFoundError:
        monkeypatch.setenv("IMGSTUDIO_MODELS", str(tmp_path / "models"))
        torch.manual_seed(0)
        model = torchvision.models.detection.maskrcnn_resnet50_fpn(
            weights=None, weights_backbone=None)
        torch.save(model.state_dict(), tmp_path / "random.pth")
        store.import_file(tmp_path / "random.pth", name)
        kind = "random weights"
    located = store.find(name)
    model = torchvision.models.detection.maskrcnn_resnet50_fpn(weights=None,
                                                               weights_backbone=None)
    model.load_state_dict(loading.state_dict(located.path))
    yield model.eval(), kind
    store.forget()


def test_mask_rcnn_cpu_time_and_overhead_on_800x600(mask_model):
    model, kind = mask_model
    loading.torch()
    image = np.ascontiguousarray(skimage.data.astronaut()[:600, :512])
    image = np.ascontiguousarray(np.hstack([image, image[:, ::-1][:, :288]]))  # 600 × 800

    def bare() -> np.ndarray:
        with torch.no_grad():
            out = model([_unit(image)])[0]
        keep = out["scores"] >= 0.5
        masks = out["masks"][keep][:, 0]
        if not len(masks):
            return np.zeros(image.shape[:2], np.int32)
        top, arg = masks.max(0)
        return torch.where(top > 0.5, arg + 1, 0).numpy().astype(np.int32)

    t0, c0 = time.perf_counter(), time.process_time()
    result = api.run("segment.mask_rcnn", image)  # loads and caches the model
    first, first_cpu = time.perf_counter() - t0, time.process_time() - c0
    assert np.array_equal(result.labels, bare())
    times = interleaved_medians({"bare": bare,
                                 "api.run": lambda: api.run("segment.mask_rcnn", image)},
                                repeat=3)
    c0 = time.process_time()
    api.run("segment.mask_rcnn", image)
    cpu = time.process_time() - c0
    ratio = times["api.run"] / times["bare"]
    report(f"segment.mask_rcnn: 800x600 astronaut, {kind}, {len(result.boxes)} instance(s), "
           f"{torch.get_num_threads()} torch thread(s)", [
               ("what", "median", "vs bare", "target"),
               ("bare: model([x]) + masks rasterised", f"{times['bare']:.2f} s", "1.00x", ""),
               ("api.run('segment.mask_rcnn')", f"{times['api.run']:.2f} s", f"{ratio:.2f}x",
                f"<= {TARGET:.2f}x"),
               ("  its CPU time (one run)", f"{cpu:.2f} s", "", ""),
               ("  first run (loading the model)", f"{first:.2f} s", f"cpu {first_cpu:.2f} s",
                ""),
           ])
    target("api.run('segment.mask_rcnn') vs bare", ratio, TARGET)
    assert ratio < 3.0  # a sanity bound; the target is printed
