"""detect.pose (imgstudio.ops.detect.pose): BlazePose on the astronaut, and heatmap networks
written here whose heatmaps are the image's own colour channels (so each keypoint must land on
the pixel painted in its channel).

The ONNX files come from the wire-format writer in tests/ops/detect/test_yolo.py (the ``onnx``
package that torch.onnx.export needs is not installed); the OpenPose caffe model is a prototxt
and a caffemodel written the same way (caffe.proto's NetParameter/LayerParameter/BlobProto).
"""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data

import imgstudio.api as api
from imgstudio.core.errors import ModelNotFoundError
from imgstudio.core.progress import Progress
from imgstudio.core.types import Lines, Pose
from imgstudio.models import store
from imgstudio.models.labels import BLAZEPOSE
from imgstudio.ops.detect.pose import COCO17, OPENPOSE_COCO
from tests.ops.detect.onnx_writer import _bytes, _varint, node, onnx_model, tensor, value_info


@pytest.fixture(scope="module")
def astro():
    return skimage.data.astronaut()


@pytest.fixture(scope="module")
def face_box(astro):
    boxes = api.run("faces.detect", astro)
    assert len(boxes) == 1
    return boxes.xyxy[0]  # measured (175, 76, 266, 167)


def _inside(point, box) -> bool:
    return box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3]


def _check_structure(result: Pose):
    """Skeleton, edges, names and points agree with each other."""
    assert isinstance(result.skeleton, Lines)
    assert len(result.skeleton) == len(result.edges)
    for (a, b), path, label in zip(result.edges, result.skeleton.paths, result.skeleton.labels,
                                   strict=True):
        np.testing.assert_array_equal(path, [result.points[a], result.points[b]])
        assert label == ""  # the canvas would write a label on every bone


# -- BlazePose ----------------------------------------------------------------------------------

def test_blazepose_keypoints_land_on_the_astronaut(astro, face_box):
    result = api.run("detect.pose", astro)
    assert isinstance(result, Pose)
    assert result.points.shape == (33, 2) and result.names == list(BLAZEPOSE)
    assert result.scores.shape == (33,) and np.all((0 <= result.scores) & (result.scores <= 1))
    point = dict(zip(result.names, result.points, strict=True))
    for name in ("nose", "left_eye", "right_eye"):
        assert _inside(point[name], face_box), (name, point[name], face_box)
    # measured nose (222.7, 128.0); eyes (248.9, 112.5) and (205.0, 103.3)
    assert abs(point["nose"][0] - 223) < 10 and abs(point["nose"][1] - 128) < 10
    for side in ("left", "right"):
        assert point[f"{side}_shoulder"][1] > face_box[3]  # shoulders below the face
    # she faces the camera: her left is on the image's right
    assert point["left_shoulder"][0] > face_box[2] > face_box[0] > point["right_shoulder"][0]
    assert point["left_eye"][0] > point["nose"][0] > point["right_eye"][0]
    _check_structure(result)
    assert (11, 12) in result.edges  # left_shoulder-right_shoulder
    # bones are drawn only between visible keypoints: her legs are out of the picture
    visible = result.scores >= 0.5
    assert all(visible[a] and visible[b] for a, b in result.edges)
    assert not visible[BLAZEPOSE.index("left_ankle")] and not visible[BLAZEPOSE.index("right_knee")]


def test_blazepose_on_a_blank_image_finds_no_person():
    result = api.run("detect.pose", np.zeros((96, 96, 3), np.uint8))
    assert result.points.shape == (0, 2) and len(result.skeleton) == 0 and result.edges == []


def test_blazepose_accepts_gray_and_float(astro):
    small = np.ascontiguousarray(astro[::2, ::2])
    reference = api.run("detect.pose", small).points
    for image in (small.astype(np.float32) / 255, small.astype(np.uint16) * 257):
        np.testing.assert_allclose(api.run("detect.pose", image).points, reference, atol=1e-3)
    grey = api.run("detect.pose", np.ascontiguousarray(small.mean(axis=2).astype(np.uint8)))
    assert np.median(np.hypot(*(grey.points[:13] - reference[:13]).T)) < 10  # face and shoulders


def test_blazepose_loads_quietly_and_once(astro, capfd):
    store.forget()
    small = np.ascontiguousarray(astro[::4, ::4])
    messages: list[list[str]] = []
    for _ in range(2):
        messages.append([])
        api.run("detect.pose", small, progress=Progress(lambda f, m: messages[-1].append(m)))
    assert capfd.readouterr().err == ""  # TFLite's and absl's C++ logs are silenced
    assert any(m.startswith("loading model blazepose") for m in messages[0])
    assert not any(m.startswith("loading model") for m in messages[1])


def test_blazepose_refuses_a_changed_model_file(tmp_path, monkeypatch):
    real = store._package_folder
    info = store.manifest()["blazepose-detector"]
    fake = tmp_path / "mediapipe"
    changed = fake / info.package["path"]
    changed.parent.mkdir(parents=True)
    data = bytearray((real("mediapipe") / info.package["path"]).read_bytes())
    data[100] ^= 0xFF
    changed.write_bytes(bytes(data))
    monkeypatch.setattr(store, "_package_folder",
                        lambda module: fake if module == "mediapipe" else real(module))
    monkeypatch.setenv("IMGSTUDIO_MODELS", str(tmp_path / "models"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    store.forget()
    try:
        with pytest.raises(ModelNotFoundError, match="blazepose-detector.*sha256"):
            api.run("detect.pose", np.zeros((32, 32, 3), np.uint8))
    finally:
        store.forget()


# -- heatmap networks ---------------------------------------------------------------------------

def _onnx_heatmaps(path, input_shape, pool: int = 1, weights=None):
    """Heatmaps = the input's channels (divided by 255 by the op, so 1.0 where a channel is
    full), optionally mixed by a 1×1 convolution ``weights`` (K, 3) and average-pooled by
    ``pool`` (one heatmap cell per ``pool`` × ``pool`` input pixels)."""
    nodes, inits, current = [], [tensor("one", np.ones(1))], "images"
    nodes.append(node("Mul", [current, "one"], ["scaled"]))
    current = "scaled"
    k = 3
    if weights is not None:
        weights = np.asarray(weights, np.float32)
        k = len(weights)
        inits.append(tensor("w", weights[:, :, None, None]))
        nodes.append(node("Conv", [current, "w"], ["mixed"], kernel_shape=[1, 1]))
        current = "mixed"
    if pool > 1:
        nodes.append(node("AveragePool", [current], ["pooled"], kernel_shape=[pool, pool],
                          strides=[pool, pool]))
        current = "pooled"
    nodes.append(node("Identity", [current], ["heatmaps"]))
    h, w = input_shape
    out_shape = [1, k, h // pool, w // pool]
    path.write_bytes(onnx_model(nodes, inits, [value_info("images", [1, 3, h, w])],
                                [value_info("heatmaps", out_shape)]))
    return path


def _paint(shape, spots, size):
    """An image with ``size`` × ``size`` blocks of full red, green and blue at ``spots``."""
    image = np.zeros(shape, np.uint8)
    for channel, (x, y) in enumerate(spots):
        image[y:y + size, x:x + size, channel] = 255
    return image


def test_onnx_heatmap_peaks_land_on_the_painted_pixels(tmp_path):
    # a 64 × 96 image into a fixed 32 × 48 input (halved: each 2 × 2 block becomes one full
    # pixel), heatmaps at the input's resolution: a keypoint lies at its block's centre
    model = _onnx_heatmaps(tmp_path / "heat.onnx", (32, 48))
    spots = [(10, 4), (50, 30), (90, 60)]
    result = api.run("detect.pose", _paint((64, 96, 3), spots, 2), model=model)
    np.testing.assert_allclose(result.points, [(x + 0.5, y + 0.5) for x, y in spots], atol=1e-6)
    np.testing.assert_allclose(result.scores, [1, 1, 1], atol=1e-6)
    assert result.names == ["0", "1", "2"] and result.edges == [] and len(result.skeleton) == 0
    # heatmaps at a quarter of the input's resolution (4 × 4 average pooling), image = input
    model = _onnx_heatmaps(tmp_path / "pooled.onnx", (64, 64), pool=4)
    spots = [(8, 0), (60, 28), (20, 44)]
    result = api.run("detect.pose", _paint((64, 64, 3), spots, 4), model=model)
    np.testing.assert_allclose(result.points, [(x + 1.5, y + 1.5) for x, y in spots], atol=1e-6)


def test_onnx_17_heatmaps_are_coco_keypoints(tmp_path):
    # nose, left eye, right eye from red, green, blue; the other 14 heatmaps are empty
    weights = np.zeros((17, 3))
    weights[0, 0] = weights[1, 1] = weights[2, 2] = 1
    model = _onnx_heatmaps(tmp_path / "coco.onnx", (32, 32), weights=weights)
    spots = [(16, 12), (20, 8), (11, 9)]
    result = api.run("detect.pose", _paint((32, 32, 3), spots, 1), model=model)
    assert result.names == list(COCO17) and result.points.shape == (17, 2)
    np.testing.assert_allclose(result.points[:3], spots, atol=1e-6)
    assert np.all(result.scores[3:] == 0)
    # only the bones between found keypoints (score ≥ 0.1): eye-eye, nose-eyes
    assert sorted(f"{result.names[a]}-{result.names[b]}" for a, b in result.edges) == [
        "left_eye-right_eye", "nose-left_eye", "nose-right_eye"]
    _check_structure(result)


def _caffe_openpose(tmp_path):
    """OpenPose-shaped caffe model: 57 output maps (18 keypoints, background, 38 PAFs) from a
    1×1 convolution; nose = red, neck = green (OpenPose sees BGR: channels 2 and 1)."""
    def blob(array):
        a = np.asarray(array, "<f4")
        return _bytes(7, _bytes(1, b"".join(_varint(d) for d in a.shape))) + _bytes(5, a.tobytes())

    weights = np.zeros((57, 3, 1, 1))
    weights[0, 2] = weights[1, 1] = 1
    conv = (_bytes(1, "conv") + _bytes(2, "Convolution") + _bytes(7, blob(weights))
            + _bytes(7, blob(np.zeros(57))))
    (tmp_path / "pose.caffemodel").write_bytes(_bytes(1, "tiny") + _bytes(100, conv))
    prototxt = tmp_path / "pose.prototxt"
    prototxt.write_text(
        'name: "tiny"\ninput: "image"\ninput_dim: 1\ninput_dim: 3\ninput_dim: 368\n'
        'input_dim: 368\nlayer { name: "conv" type: "Convolution" bottom: "image" top: "out" '
        "convolution_param { num_output: 57 kernel_size: 1 } }\n", encoding="utf-8")
    return prototxt


def test_openpose_caffe_model(tmp_path):
    prototxt = _caffe_openpose(tmp_path)
    image = np.zeros((368, 368, 3), np.uint8)  # 368 high: OpenPose's input as it is
    image[50, 100] = (255, 0, 0)
    image[90, 120] = (0, 255, 0)
    for model in (prototxt, prototxt.with_suffix(".caffemodel")):
        result = api.run("detect.pose", image, model=model)
        assert result.names == list(OPENPOSE_COCO) and result.points.shape == (18, 2)
        np.testing.assert_allclose(result.points[:2], [(100, 50), (120, 90)], atol=1e-6)
        assert result.edges == [(1, 0)]  # neck-nose
    # nothing painted: every peak is 0, no person
    blank = api.run("detect.pose", np.zeros((368, 368, 3), np.uint8), model=prototxt)
    assert blank.points.shape == (0, 2) and blank.edges == []


def test_pose_bad_params(tmp_path):
    image = np.zeros((32, 32, 3), np.uint8)
    with pytest.raises(ValueError, match="model"):
        api.run("detect.pose", image, model=tmp_path / "missing.onnx")
    (tmp_path / "net.bin").write_bytes(b"junk")
    with pytest.raises(ValueError, match="model"):
        api.run("detect.pose", image, model=tmp_path / "net.bin")
    (tmp_path / "junk.onnx").write_bytes(b"junk")
    with pytest.raises(ValueError, match="model"):
        api.run("detect.pose", image, model=tmp_path / "junk.onnx")
    (tmp_path / "lonely.prototxt").write_text('name: "x"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="model"):  # no caffemodel beside it
        api.run("detect.pose", image, model=tmp_path / "lonely.prototxt")
    # an output that is not heatmaps
    from tests.ops.detect.onnx_writer import constant_onnx

    flat = constant_onnx(tmp_path / "flat.onnx", {"out": np.zeros((1, 5), np.float32)},
                         input_shape=(1, 3, 32, 32))
    with pytest.raises(ValueError, match="heatmaps"):
        api.run("detect.pose", image, model=flat)
