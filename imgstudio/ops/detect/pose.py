"""detect.pose: body keypoints and skeleton with MediaPipe's BlazePose, or a bring-your-own
heatmap network (OpenPose COCO caffe model, or an ONNX model with one heatmap per keypoint).

mediapipe, onnxruntime and OpenCV are imported inside the functions.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from imgstudio.core.editor import Editor
from imgstudio.core.progress import Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import Image, Lines, Pose, check_image
from imgstudio.models.labels import BLAZEPOSE
from imgstudio.ops._params import user_path
from imgstudio.ops._pixels import rgb_uint8, token

#: A BlazePose bone is drawn when both its ends are at least this visible (as MediaPipe's
#: own drawing utilities do).
VISIBLE = 0.5
#: A heatmap keypoint whose peak is below this is "not found" (OpenCV's OpenPose sample).
HEAT_THRESHOLD = 0.1
#: OpenPose's network input height; the width follows the image's aspect, a multiple of 8.
OPENPOSE_HEIGHT = 368

#: OpenPose's 18 COCO keypoints, in its heatmap order, and its skeleton.
OPENPOSE_COCO = (
    "nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder",
    "left_elbow", "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip",
    "left_knee", "left_ankle", "right_eye", "left_eye", "right_ear", "left_ear",
)
OPENPOSE_COCO_EDGES = ((1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10),
                       (1, 11), (11, 12), (12, 13), (1, 0), (0, 14), (14, 16), (0, 15), (15, 17))
#: The 17 COCO keypoints (Keypoint R-CNN, HRNet, ViTPose order) and COCO's skeleton.
COCO17 = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)
COCO17_EDGES = ((15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6),
                (5, 7), (6, 8), (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5),
                (4, 6))


def skeleton(points: np.ndarray, names: list[str], scores: np.ndarray,
             bones: list[tuple[int, int]], threshold: float) -> tuple[Lines, list[tuple[int, int]]]:
    """One two-point polyline per bone whose ends both score ≥ ``threshold`` and those bones
    as index pairs (same order). The polylines carry no label: the canvas would write one on
    every bone; ``edges`` and ``names`` say which keypoints a bone joins."""
    kept = [(a, b) for a, b in bones if scores[a] >= threshold and scores[b] >= threshold]
    paths = [np.array([points[a], points[b]], dtype=float) for a, b in kept]
    return Lines(paths=paths, labels=[""] * len(paths)), kept


def no_person() -> Pose:
    return Pose(points=np.zeros((0, 2)), skeleton=Lines(paths=[]), names=[],
                scores=np.zeros(0), edges=[])


# -- BlazePose (MediaPipe) --------------------------------------------------------------------

@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null meanwhile: MediaPipe's C++ side (TFLite, absl) logs
    to it when a graph starts, and absl's threshold cannot be set from Python (GLOG_minloglevel
    covers glog only). Process-wide for that moment, so used only while a model loads."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no usable stderr: nothing to hide
        yield
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 2)
        finally:
            os.close(devnull)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _import_mediapipe() -> Any:
    from imgstudio.models import loading

    os.environ.setdefault("GLOG_minloglevel", "2")  # read by glog when mediapipe loads
    return loading.require("mediapipe", "detect.pose")


class _BlazePose:
    """MediaPipe's legacy Pose solution (static images, full landmark model); its first run,
    which starts the graph and loads the models, happens with stderr silenced."""

    def __init__(self) -> None:
        solution = _import_mediapipe().solutions.pose
        with _quiet_stderr():
            self.pose = solution.Pose(static_image_mode=True, model_complexity=1,
                                      enable_segmentation=False, min_detection_confidence=0.5)
        self.bones = sorted(tuple(sorted(edge)) for edge in solution.POSE_CONNECTIONS)
        self.warm = False

    def __call__(self, rgb: np.ndarray) -> Any:
        if self.warm:
            return self.pose.process(rgb)
        with _quiet_stderr():
            result = self.pose.process(rgb)
        self.warm = True
        return result


def _blazepose(rgb: np.ndarray, progress: Progress) -> Pose:
    from imgstudio.models import store

    # MediaPipe loads the .tflite files packaged with it by its own paths; the store locates
    # and sha256-checks those same files first, so a changed or missing one is refused here
    # (after the import, so that no mediapipe at all is a missing extra, not a missing model)
    if "mediapipe" not in sys.modules:
        progress(0.0, "loading mediapipe…")
    _import_mediapipe()
    detector = store.find("blazepose-detector")
    landmarks = store.find("blazepose-landmarks-full")
    key = ("detect.pose", "blazepose", detector.info.sha256, landmarks.info.sha256)

    def build() -> Any:
        progress(0.0, "loading model blazepose…")
        return _BlazePose()

    model, lock, _ = store.cached(key, build)
    progress.check()
    progress(0.2, "finding the body (BlazePose)")
    with lock:
        result = model(rgb)
    progress.check()
    if result.pose_landmarks is None:
        return no_person()
    h, w = rgb.shape[:2]
    marks = result.pose_landmarks.landmark
    points = np.array([(m.x * w, m.y * h) for m in marks], dtype=float)
    scores = np.array([m.visibility for m in marks], dtype=float)
    names = list(BLAZEPOSE)
    lines, edges = skeleton(points, names, scores, model.bones, VISIBLE)
    return Pose(points=points, skeleton=lines, names=names, scores=scores, edges=edges)


# -- heatmap networks (OpenPose caffe, ONNX) --------------------------------------------------

def _caffe_files(model: Path) -> tuple[Path, Path] | None:
    suffix = model.suffix.lower()
    if suffix == ".caffemodel":
        return model.with_suffix(".prototxt"), model
    if suffix == ".prototxt":
        return model, model.with_suffix(".caffemodel")
    return None


class _Heatmaps:
    """A network mapping an image to keypoint heatmaps ``(1, C, h, w)``."""

    def __init__(self, model: Path):
        self.caffe = _caffe_files(model)
        if self.caffe is not None:
            import cv2

            try:
                self.net = cv2.dnn.readNetFromCaffe(str(self.caffe[0]), str(self.caffe[1]))
            except cv2.error as exc:
                raise ValueError(f"model: OpenCV cannot read the caffe model {self.caffe[0]} + "
                                 f"{self.caffe[1]} ({str(exc).strip().splitlines()[-1]})") from None
            self.size = None
            return
        if model.suffix.lower() != ".onnx":
            raise ValueError(f"model must be an .onnx heatmap model or an OpenPose "
                             f".prototxt/.caffemodel pair; got {model}")
        from imgstudio.models import loading

        ort = loading.require("onnxruntime", "detect.pose")
        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.intra_op_num_threads = loading.torch_threads()
        try:
            self.session = ort.InferenceSession(str(model), sess_options=options,
                                                providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime's own exception types
            raise ValueError(f"model: cannot load {model} as ONNX "
                             f"({str(exc).splitlines()[0]})") from None
        first = self.session.get_inputs()[0]
        if len(first.shape) != 4:
            raise ValueError(f"model: input {first.name!r} has shape {first.shape}; "
                             "expected (1, 3, H, W)")
        self.input_name = first.name
        dims = first.shape[2:]
        self.size = tuple(dims) if all(isinstance(d, int) and d > 0 for d in dims) else None

    def input_size(self, shape: tuple[int, ...]) -> tuple[int, int]:
        """(height, width) of the network input for an image of ``shape``."""
        if self.size is not None:
            return int(self.size[0]), int(self.size[1])
        h, w = shape[:2]
        return OPENPOSE_HEIGHT, max(8, int(round(OPENPOSE_HEIGHT * w / h / 8)) * 8)

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        import cv2

        height, width = self.input_size(rgb.shape)
        if self.caffe is not None:
            # OpenPose was trained on BGR in [0, 1]: swap our RGB
            blob = cv2.dnn.blobFromImage(rgb, 1 / 255, (width, height), (0, 0, 0), swapRB=True,
                                         crop=False)
            self.net.setInput(blob)
            out = self.net.forward()
        else:
            fitted = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_LINEAR) \
                if rgb.shape[:2] != (height, width) else rgb
            blob = np.ascontiguousarray(fitted.transpose(2, 0, 1)[None], dtype=np.float32)
            out = self.session.run(None, {self.input_name: blob / np.float32(255)})[0]
        out = np.asarray(out, dtype=np.float32)
        if out.ndim != 4 or out.shape[0] != 1:
            raise ValueError(f"model output must be heatmaps (1, K, h, w); got {out.shape}")
        return out[0]


def keypoint_layout(channels: int) -> tuple[int, list[str], list[tuple[int, int]]]:
    """(number of keypoints, names, bones) for a heatmap output of ``channels`` maps."""
    if channels in (19, 57):  # OpenPose COCO: 18 keypoints + background (+ 38 PAF maps)
        return 18, list(OPENPOSE_COCO), list(OPENPOSE_COCO_EDGES)
    if channels == 18:
        return 18, list(OPENPOSE_COCO), list(OPENPOSE_COCO_EDGES)
    if channels == 17:
        return 17, list(COCO17), list(COCO17_EDGES)
    return channels, [str(k) for k in range(channels)], []


def peaks(heatmaps: np.ndarray, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Each heatmap's maximum (the first in row-major order on ties) in image pixels and its
    value. A heatmap cell (r, c) of an ``h × w`` map covering an ``H × W`` image is centred on
    ``((c + ½)·W/w − ½, (r + ½)·H/h − ½)`` (pixel centres at integers)."""
    k, h, w = heatmaps.shape
    flat = heatmaps.reshape(k, -1)
    index = np.argmax(flat, axis=1)
    rows, cols = np.divmod(index, w)
    height, width = shape[:2]
    points = np.column_stack([(cols + 0.5) * width / w - 0.5, (rows + 0.5) * height / h - 0.5])
    return points.astype(float), flat[np.arange(k), index].astype(float)


def _heatmap_pose(rgb: np.ndarray, model: Path, progress: Progress) -> Pose:
    from imgstudio.models import store

    caffe = _caffe_files(model)
    files = caffe if caffe is not None else (model,)
    for f in files:
        if not f.is_file():
            raise ValueError(f"model: file not found: {f}")
    key = ("detect.pose",) + tuple((str(f.resolve()), store.sha256_of(f)) for f in files)

    def build() -> Any:
        progress(0.0, f"loading model {model.name}…")
        return _Heatmaps(model)

    net, lock, _ = store.cached(key, build)
    progress.check()
    progress(0.2, "computing heatmaps")
    with lock:
        heat = net(rgb)
    progress.check()
    count, names, bones = keypoint_layout(heat.shape[0])
    points, scores = peaks(heat[:count], rgb.shape)
    if not np.any(scores >= HEAT_THRESHOLD):
        return no_person()
    lines, edges = skeleton(points, names, scores, bones, HEAT_THRESHOLD)
    return Pose(points=points, skeleton=lines, names=names, scores=scores, edges=edges)


# -- the operation ----------------------------------------------------------------------------

@operation("detect.pose", title="Detect body pose", menu="Analyze/Detect", editor=Editor(preview="apply"))
def pose(
    image: Image,
    *,
    model: Path | None = None,
    progress: Progress | None = None,
) -> Pose:
    """Find one person's body keypoints and the skeleton joining them.

    The model sees an 8-bit RGB copy of the image (gray repeated, alpha dropped).

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image.
    model : pathlib.Path, optional
        Without it: MediaPipe's BlazePose (the legacy ``solutions.pose`` graph, static-image
        mode, full landmark model; the person detector and landmark ``.tflite`` files that
        mediapipe 0.10.21 ships, checked by the model store before use), 33 keypoints, scores
        = visibility, bones drawn when both ends are ≥ 0.5 visible; keypoints it infers
        outside the image are kept. With it, your heatmap network: an OpenPose COCO caffe
        model (``.prototxt`` beside its ``.caffemodel``, either may be given; input 368 px
        high, BGR in [0, 1], via ``cv2.dnn``), or an ``.onnx`` model whose first output is
        ``(1, K, h, w)`` heatmaps (input RGB in [0, 1] resized to the model's fixed input, or
        like OpenPose when dynamic; K = 17: COCO keypoints, 18 or 19/57: OpenPose COCO, else
        numbered without a skeleton). Each keypoint is its heatmap's peak, score = the peak
        value; bones are drawn when both ends score ≥ 0.1. Heatmap models give one pose: the
        strongest peak of each map, even if several people are in view.
    progress : Progress, optional
        Progress ("loading model …" on first use) and cancellation between stages.

    Returns
    -------
    Pose
        ``points`` (K, 2) in image pixels (x, y), ``names``, ``scores``, ``skeleton`` (one
        two-point polyline per drawn bone, labelled ``"left_shoulder-left_elbow"`` etc.) and
        ``edges`` (those bones as index pairs, in the same order). When no person is found
        (BlazePose finds none; every heatmap peak below 0.1) the Pose is empty: no points,
        no bones.
    """
    image = check_image(image)
    progress = token(progress)
    rgb = rgb_uint8(image)
    if model is None:
        result = _blazepose(rgb, progress)
    else:
        result = _heatmap_pose(rgb, user_path(model, "model"), progress)
    progress(1.0, f"{len(result.points)} keypoint(s)" if len(result.points) else "no person found")
    return result
