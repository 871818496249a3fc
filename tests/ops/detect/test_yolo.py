"""detect.yolo (imgstudio.ops.detect.yolo) on tiny models built here with known outputs.

``torch.onnx.export`` needs the ``onnx`` package, which is not installed, so the ONNX files are
written directly in protobuf's wire format by :func:`onnx_model` (a dozen fields of
``onnx.proto``); onnxruntime and OpenCV load them like any exported model. The darknet model is a
cfg text and a weights file of float32 arrays, as darknet writes them. Expected boxes are
computed here from the formulas (letterbox, YOLO box layouts, greedy NMS), not by the op's code.
"""

from __future__ import annotations

import struct

import numpy as np
import pytest

import imgstudio.api as api
from imgstudio.core.progress import Cancelled, Progress
from imgstudio.core.types import Boxes
from imgstudio.models import store
from tests.ops.detect.onnx_writer import (
    constant_onnx,
    tiny_yolo_onnx,
)

# -- references ---------------------------------------------------------------------------------

def iou(a, b) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def greedy_nms(boxes, scores, classes, conf, threshold):
    """Indices kept by per-class greedy NMS, best first (the textbook algorithm)."""
    order = [i for i in np.argsort(-np.asarray(scores), kind="stable") if scores[i] > conf]
    kept: list[int] = []
    for i in order:
        if all(classes[j] != classes[i] or iou(boxes[i], boxes[j]) <= threshold for j in kept):
            kept.append(i)
    return kept


#: Image 48 × 96 into a 64 × 64 input: scale 2/3 (to 64 × 32), 16 px of grey above and below.
IMAGE_SHAPE = (48, 96, 3)
SCALE, PAD_X, PAD_Y = 2 / 3, 0, 16
#: Candidates in image pixels: (x0, y0, x1, y1, objectness, class probabilities (cat, dog)).
CANDIDATES = [
    (10.0, 5.0, 40.0, 35.0, 0.95, (0.9, 0.1)),    # 0: cat, best
    (12.0, 7.0, 42.0, 37.0, 0.90, (0.8, 0.2)),    # 1: cat, IoU 0.77 with 0 -> suppressed
    (11.0, 6.0, 41.0, 36.0, 0.90, (0.3, 0.93)),   # 2: dog on the cat: another class, kept
    (30.0, 5.0, 60.0, 35.0, 0.90, (0.85, 0.1)),   # 3: cat, IoU 0.2 with 0 -> kept
    (60.0, 20.0, 90.0, 44.0, 0.60, (0.1, 0.7)),   # 4: dog, score 0.42: kept at conf 0.4 only
    (70.0, 30.0, 95.0, 47.0, 0.30, (0.5, 0.4)),   # 5: score 0.15: dropped at conf 0.4
    (4.0, 2.0, 16.0, 14.0, 0.99, (0.02, 0.97)),   # 6: dog, small
]
NAMES = ["cat", "dog"]


def _in_input(box):
    x0, y0, x1, y1 = box
    return (x0 * SCALE + PAD_X, y0 * SCALE + PAD_Y, x1 * SCALE + PAD_X, y1 * SCALE + PAD_Y)


def v5_rows(candidates=CANDIDATES):
    rows = []
    for *box, obj, probs in candidates:
        x0, y0, x1, y1 = _in_input(box)
        rows.append([(x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0, obj, *probs])
    return np.array(rows, np.float32)[None]                      # (1, N, 5 + C)


def v8_columns(candidates=CANDIDATES):
    rows = v5_rows(candidates)[0]
    scores = rows[:, 5:] * rows[:, 4:5]
    return np.concatenate([rows[:, :4], scores], axis=1).T[None]  # (1, 4 + C, N)


def expected(conf, threshold, candidates=CANDIDATES):
    boxes = [c[:4] for c in candidates]
    probs = np.array([np.array(c[5]) * c[4] for c in candidates])
    classes, scores = probs.argmax(1), probs.max(1)
    kept = greedy_nms(boxes, scores, classes, conf, threshold)
    return (np.array([boxes[i] for i in kept]).reshape(-1, 4), scores[kept],
            [NAMES[classes[i]] for i in kept])


@pytest.fixture
def names_file(tmp_path):
    path = tmp_path / "names.txt"
    path.write_text("cat\ndog\n\n", encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def _fresh_models():
    yield
    store.forget()


def _image(shape=IMAGE_SHAPE, seed=0):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def _check(boxes, want):
    xyxy, scores, labels = want
    assert isinstance(boxes, Boxes)
    assert boxes.labels == labels
    np.testing.assert_allclose(boxes.scores, scores, atol=1e-6)
    np.testing.assert_allclose(boxes.xyxy, xyxy, atol=1e-4)


# -- decoding, letterbox, NMS -------------------------------------------------------------------

@pytest.mark.parametrize("layout", ["v5", "v8"])
def test_yolo_decodes_both_layouts_undoes_the_letterbox_and_suppresses_per_class(
        tmp_path, names_file, layout):
    output = v5_rows() if layout == "v5" else v8_columns()
    model = constant_onnx(tmp_path / f"{layout}.onnx", {"output0": output})
    boxes = api.run("detect.yolo", _image(), model=model, classes=names_file, conf=0.4)
    want = expected(0.4, 0.4)
    # the candidates kept: 0 (cat), 6 (dog, 0.96), 2 (dog over the cat), 3 (cat), 4 (dog 0.42)
    assert sorted(want[2]) == ["cat", "cat", "dog", "dog", "dog"]
    _check(boxes, want)


def test_yolo_layouts_are_told_apart_without_a_classes_file(tmp_path):
    want_labels = [str(NAMES.index(n)) for n in expected(0.5, 0.4)[2]]
    for layout, output in (("v5", v5_rows()), ("v8", v8_columns())):
        model = constant_onnx(tmp_path / f"{layout}.onnx", {"output0": output})
        boxes = api.run("detect.yolo", _image(), model=model)
        assert boxes.labels == want_labels, layout
        np.testing.assert_allclose(boxes.xyxy, expected(0.5, 0.4)[0], atol=1e-4)


def test_yolo_conf_and_nms_thresholds(tmp_path, names_file):
    model = constant_onnx(tmp_path / "v5.onnx", {"output0": v5_rows()})
    image = _image()
    for conf, threshold in ((0.5, 0.4), (0.1, 0.4), (0.4, 0.8), (0.9, 0.4), (0.4, 0.1)):
        boxes = api.run("detect.yolo", image, model=model, classes=names_file, conf=conf,
                        nms=threshold)
        _check(boxes, expected(conf, threshold))
    # the near-duplicate cat (IoU 0.77) survives only when nms is above its overlap
    assert len(api.run("detect.yolo", image, model=model, conf=0.4, nms=0.8)) == 6
    assert len(api.run("detect.yolo", image, model=model, conf=0.4, nms=0.7)) == 5
    assert len(api.run("detect.yolo", image, model=model, conf=0.99)) == 0


def test_yolo_dynamic_input_defaults_to_640(tmp_path, names_file):
    # 48 × 96 into 640 × 640: scale 20/3 (to 640 × 320), 160 px above and below
    scale, pad_y = 640 / 96, 160
    rows = v5_rows()[0].copy()
    rows[:, :4] = rows[:, :4] * (scale / SCALE)
    rows[:, 1] += pad_y - PAD_Y * scale / SCALE
    model = constant_onnx(tmp_path / "dynamic.onnx", {"output0": rows[None]},
                          input_shape=("batch", 3, "height", "width"))
    boxes = api.run("detect.yolo", _image(), model=model, classes=names_file)
    _check(boxes, expected(0.5, 0.4))


def _spot_box(x, y, scale=3.0):
    """Where the spot model's box must land for a red pixel at (x, y): centred on the pixel's
    centre (x + ½, y + ½), 8 input pixels = 8 / scale image pixels wide."""
    half = 4 / scale
    return [x + 0.5 - half, y + 0.5 - half, x + 0.5 + half, y + 0.5 + half]


def test_yolo_box_follows_the_object_through_the_letterbox(tmp_path):
    # the model boxes the brightest red pixel of its 48 × 48 input. A wide 8 × 16 image is
    # scaled by 3 (to 48 × 24, 12 px of grey above and below); linear upscaling by 3 puts the
    # pixel's value, unmixed, only on the middle one of its 3 × 3 copies (interior pixels)
    model = tiny_yolo_onnx(tmp_path / "spot.onnx")
    for x, y in ((3, 2), (11, 5), (1, 1), (14, 6)):
        image = np.zeros((8, 16, 3), np.uint8)
        image[y, x] = (255, 0, 0)
        boxes = api.run("detect.yolo", image, model=model)
        assert boxes.labels == ["0"] and boxes.scores.tolist() == pytest.approx([0.9])
        np.testing.assert_allclose(boxes.xyxy[0], _spot_box(x, y), atol=1e-4)
    # a tall 16 × 8 image is padded left and right instead
    image = np.zeros((16, 8, 3), np.uint8)
    image[9, 5] = (255, 0, 0)
    np.testing.assert_allclose(api.run("detect.yolo", image, model=model).xyxy[0],
                               _spot_box(5, 9), atol=1e-4)
    # an image that fits as it is (scale 1, no resizing); the box is clipped at the corner
    image = np.zeros((24, 48, 3), np.uint8)
    image[1, 2] = (255, 0, 0)
    want = _spot_box(2, 1, scale=1.0)
    np.testing.assert_allclose(api.run("detect.yolo", image, model=model).xyxy[0],
                               [0, 0, want[2], want[3]], atol=1e-4)


@pytest.mark.parametrize("kind", ["gray", "uint16", "float32", "rgba"])
def test_yolo_accepts_every_image_kind(tmp_path, kind):
    model = tiny_yolo_onnx(tmp_path / "spot.onnx")
    rgb = np.zeros((8, 16, 3), np.uint8)
    rgb[5, 10] = 255
    image = {"gray": rgb[..., 0], "uint16": rgb.astype(np.uint16) * 257,
             "float32": rgb.astype(np.float32) / 255,
             "rgba": np.dstack([rgb, np.full((8, 16), 255, np.uint8)])}[kind]
    np.testing.assert_allclose(api.run("detect.yolo", image, model=model).xyxy[0],
                               _spot_box(10, 5), atol=1e-4)


# -- darknet ------------------------------------------------------------------------------------

def _darknet(tmp_path, letterbox: bool = False):
    """A 32 × 32 darknet YOLO: one 1×1 convolution to a [yolo] layer (one anchor of 8 × 16,
    two classes) on a 32 × 32 grid. Objectness logit = 20·red − 10, class logits (−5, +5)."""
    cfg = tmp_path / "tiny.cfg"
    cfg.write_text("[net]\nwidth=32\nheight=32\nchannels=3\n" + ("letter_box=1\n" if letterbox else "")
                   + "\n[convolutional]\nfilters=7\nsize=1\nstride=1\npad=0\nactivation=linear\n\n"
                   "[yolo]\nmask=0\nanchors=8,16\nclasses=2\nnum=1\n", encoding="utf-8")
    bias = np.array([0, 0, 0, 0, -10, -5, 5], "<f4")
    weights = np.zeros((7, 3, 1, 1), "<f4")
    weights[4, 0] = 20
    with open(tmp_path / "tiny.weights", "wb") as fh:
        fh.write(struct.pack("<iiiq", 0, 2, 0, 0))  # major, minor, revision, images seen
        fh.write(bias.tobytes() + weights.tobytes())
    return cfg


def test_yolo_runs_a_darknet_model(tmp_path, names_file):
    cfg = _darknet(tmp_path)
    # a 64 × 64 image resized (no border) to 32 × 32: the red 2 × 2 block at x 18-19, y 10-11
    # becomes grid cell (9, 5); YOLOv3 box: centre ((9 + σ(0)) / 32, (5 + σ(0)) / 32) of the
    # image, size anchor × e^0 / 32 of it; score σ(10) · σ(5)
    image = np.zeros((64, 64, 3), np.uint8)
    image[10:12, 18:20, 0] = 255
    sigmoid = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    cx, cy, w, h = 9.5 / 32 * 64, 5.5 / 32 * 64, 8 / 32 * 64, 16 / 32 * 64
    for model in (cfg, cfg.with_suffix(".weights")):
        boxes = api.run("detect.yolo", image, model=model, classes=names_file)
        assert boxes.labels == ["dog"]
        np.testing.assert_allclose(boxes.scores, [sigmoid(10) * sigmoid(5)], rtol=1e-5)
        np.testing.assert_allclose(boxes.xyxy[0], [cx - w / 2, max(cy - h / 2, 0), cx + w / 2,
                                                   cy + h / 2], atol=1e-3)
    assert len(api.run("detect.yolo", np.zeros((64, 64, 3), np.uint8), model=cfg)) == 0


def test_yolo_darknet_letter_box_option(tmp_path):
    # letter_box=1: a 32 × 64 image is scaled by 1/2 into 32 × 32 with 8 px above; the red
    # block at x 18-19, y 2-3 lands on grid cell (9, 9) of the input
    cfg = _darknet(tmp_path, letterbox=True)
    image = np.zeros((32, 64, 3), np.uint8)
    image[2:4, 18:20, 0] = 255
    boxes = api.run("detect.yolo", image, model=cfg)
    cx, cy = 9.5 * 2, (9.5 - 8) * 2
    np.testing.assert_allclose(boxes.xyxy[0], [cx - 8, max(cy - 16, 0), cx + 8, cy + 16],
                               atol=1e-3)


# -- caching, progress, errors ------------------------------------------------------------------

def test_yolo_loads_the_model_once_and_reports_it(tmp_path):
    model = tiny_yolo_onnx(tmp_path / "spot.onnx")
    image = np.zeros((8, 16, 3), np.uint8)
    messages: list[list[str]] = []
    for _ in range(2):
        messages.append([])
        api.run("detect.yolo", image, model=model,
                progress=Progress(lambda f, m: messages[-1].append(m)))
    assert any(m.startswith("loading model spot.onnx") for m in messages[0])
    assert not any(m.startswith("loading model") for m in messages[1])
    # a changed file is a different model: loaded again
    constant_onnx(model, {"output0": v5_rows()})
    seen = []
    api.run("detect.yolo", _image(), model=model, progress=Progress(lambda f, m: seen.append(m)))
    assert any(m.startswith("loading model") for m in seen)


def test_yolo_cancel(tmp_path):
    model = tiny_yolo_onnx(tmp_path / "spot.onnx")
    progress = Progress()
    progress.cancel()
    with pytest.raises(Cancelled):
        api.run("detect.yolo", np.zeros((8, 16, 3), np.uint8), model=model, progress=progress)


def test_yolo_bad_params(tmp_path, names_file):
    image = _image()
    with pytest.raises(ValueError, match="model"):
        api.run("detect.yolo", image)
    with pytest.raises(ValueError, match="model"):
        api.run("detect.yolo", image, model=tmp_path / "missing.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="model"):
        api.run("detect.yolo", image, model=tmp_path / "junk.onnx")
    with pytest.raises(ValueError, match="model"):  # darknet cfg without its weights
        (tmp_path / "lonely.cfg").write_text("[net]\nwidth=32\nheight=32\n", encoding="utf-8")
        api.run("detect.yolo", image, model=tmp_path / "lonely.cfg")
    model = constant_onnx(tmp_path / "v5.onnx", {"output0": v5_rows()})
    three = tmp_path / "three.txt"
    three.write_text("a\nb\nc\nd\ne\n", encoding="utf-8")
    with pytest.raises(ValueError, match="classes"):
        api.run("detect.yolo", image, model=model, classes=three)
    with pytest.raises(ValueError, match="classes"):
        api.run("detect.yolo", image, model=model, classes=tmp_path / "none.txt")
    with pytest.raises(ValueError, match="conf"):
        api.run("detect.yolo", image, model=model, conf=1.5)
    with pytest.raises(ValueError, match="nms"):
        api.run("detect.yolo", image, model=model, nms=-0.1)
