"""detect.yolo: objects found by a bring-your-own YOLO model (ONNX, or darknet cfg + weights).

ONNX models run on onnxruntime, darknet ones on OpenCV's dnn module; both are imported inside
the functions. The decoding (both ONNX output layouts), the letterbox and its undoing are plain
numpy below; non-maximum suppression is OpenCV's ``cv2.dnn.NMSBoxesBatched``, per class.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import numpy as np

from imgstudio.core.editor import Editor
from imgstudio.core.progress import Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import Boxes, Image, Range, check_image
from imgstudio.ops._params import user_path
from imgstudio.ops._pixels import rgb_uint8, token

#: Input size (height, width) used when an ONNX model's input shape is dynamic.
DEFAULT_SIZE = 640
#: Grey of the letterbox border (Ultralytics' value).
PAD_VALUE = 114


@dataclass(frozen=True)
class Letterbox:
    """How an image was fitted into the model's input: input = image · ``scale`` + ``pad``."""

    scale: float
    pad_x: int
    pad_y: int


def letterbox(rgb: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, Letterbox]:
    """``rgb`` scaled to fit ``size`` = (height, width) keeping its aspect, centred on grey.

    As Ultralytics' ``LetterBox``: scale ``min(H / h, W / w)``, new size rounded, the border
    split in two (the extra pixel going to the bottom/right).
    """
    import cv2

    h, w = rgb.shape[:2]
    height, width = size
    scale = min(height / h, width / w)
    new_w, new_h = max(1, int(round(w * scale))), max(1, int(round(h * scale)))
    if (new_w, new_h) != (w, h):
        rgb = cv2.resize(rgb, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    dw, dh = (width - new_w) / 2, (height - new_h) / 2
    top, left = int(round(dh - 0.1)), int(round(dw - 0.1))
    out = cv2.copyMakeBorder(rgb, top, height - new_h - top, left, width - new_w - left,
                             cv2.BORDER_CONSTANT, value=(PAD_VALUE,) * 3)
    return out, Letterbox(scale, left, top)


def unletterbox(xyxy: np.ndarray, box: Letterbox, shape: tuple[int, ...]) -> np.ndarray:
    """Boxes in model-input pixels back to the image's pixels, clipped to the image."""
    out = np.array(xyxy, dtype=float).reshape(-1, 4)
    out[:, [0, 2]] = (out[:, [0, 2]] - box.pad_x) / box.scale
    out[:, [1, 3]] = (out[:, [1, 3]] - box.pad_y) / box.scale
    return clip(out, shape)


def clip(xyxy: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    h, w = shape[:2]
    out = np.array(xyxy, dtype=float).reshape(-1, 4)
    out[:, [0, 2]] = out[:, [0, 2]].clip(0, w)
    out[:, [1, 3]] = out[:, [1, 3]].clip(0, h)
    return out


def decode(output: np.ndarray, n_classes: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidate boxes of one YOLO ONNX output: ``(xyxy, scores, class_ids)``, in input pixels.

    Two layouts, with rows ``cx, cy, w, h`` in model-input pixels:

    - YOLOv5 (and v7): ``(1, N, 5 + C)``, each row ``cx, cy, w, h, objectness, C class
      probabilities``; score = objectness × best class probability;
    - YOLOv8 (and v9, v11): ``(1, 4 + C, N)``, each column ``cx, cy, w, h, C class scores``
      (no objectness); score = best class score.

    With ``n_classes`` known (a ``classes`` file) the layout is the one whose size fits;
    without (or when both fit), the shorter axis holds the attributes — N, the number of
    anchors, is in the thousands for real models — unless it is too short to: last axis → v5,
    middle axis → v8.
    """
    out = np.asarray(output, dtype=np.float32)
    if out.ndim == 3:
        if out.shape[0] != 1:
            raise ValueError(f"model output has a batch of {out.shape[0]}; expected 1")
        out = out[0]
    if out.ndim != 2:
        raise ValueError(f"model output must be (1, N, 5+C) (YOLOv5) or (1, 4+C, N) (YOLOv8); "
                         f"got shape {np.shape(output)}")
    rows, cols = out.shape
    v5_fits, v8_fits = cols >= 6, rows >= 5  # room for a box, (objectness,) a class
    if v5_fits and v8_fits:
        by_shape = "v5" if cols <= rows else "v8"
    else:
        by_shape = "v8" if v8_fits else "v5"
    if n_classes is not None:
        fits = [name for name, ok in (("v5", cols == 5 + n_classes), ("v8", rows == 4 + n_classes),
                                      ("v8t", cols == 4 + n_classes)) if ok]
        if not fits:
            raise ValueError(f"classes: {n_classes} names do not fit the model's output "
                             f"{np.shape(output)} (expected 5+C last or 4+C second)")
        # both fit when N happens to be 5 + C: then the shorter axis decides
        layout = by_shape if by_shape in fits else fits[0]
    else:
        layout = by_shape
    if layout == "v8":
        out = out.T
    if layout == "v5":
        if out.shape[1] < 6:
            raise ValueError(f"model output {np.shape(output)} has no class columns")
        cls = out[:, 5:] * out[:, 4:5]
    else:
        if out.shape[1] < 5:
            raise ValueError(f"model output {np.shape(output)} has no class rows")
        cls = out[:, 4:]
    class_ids = np.argmax(cls, axis=1)
    scores = cls[np.arange(len(cls)), class_ids].astype(float)
    cx, cy, bw, bh = (out[:, i].astype(float) for i in range(4))
    xyxy = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], axis=1)
    return xyxy, scores, class_ids


def suppress(xyxy: np.ndarray, scores: np.ndarray, class_ids: np.ndarray, conf: float,
             nms: float) -> np.ndarray:
    """Indices kept: score > ``conf``, then greedy NMS at IoU ``nms`` within each class
    (``cv2.dnn.NMSBoxesBatched``; boxes of different classes never suppress each other),
    best first."""
    import cv2

    keep = np.flatnonzero(scores > conf)
    if len(keep) == 0:
        return keep
    boxes = xyxy[keep]
    xywh = np.column_stack([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]]).astype(np.float64)
    picked = cv2.dnn.NMSBoxesBatched(xywh.tolist(), scores[keep].astype(np.float32).tolist(),
                                     class_ids[keep].astype(np.int32).tolist(), float(conf),
                                     float(nms))
    picked = keep[np.asarray(picked, dtype=int).reshape(-1)]
    return picked[np.argsort(-scores[picked], kind="stable")]


def read_classes(path: Path | None) -> list[str] | None:
    """Class names, one per line (blank lines at the ends dropped), or None."""
    if path is None:
        return None
    path = user_path(path, "classes")
    if not path.is_file():
        raise ValueError(f"classes must be a text file with one name per line; not found: {path}")
    try:
        names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"classes: cannot read {path} ({exc})") from None
    while names and not names[-1]:
        names.pop()
    while names and not names[0]:
        names.pop(0)
    if not names:
        raise ValueError(f"classes: {path} holds no names")
    return names


# -- models -----------------------------------------------------------------------------------

def _darknet_files(model: Path) -> tuple[Path, Path] | None:
    suffix = model.suffix.lower()
    if suffix == ".cfg":
        return model, model.with_suffix(".weights")
    if suffix == ".weights":
        return model.with_suffix(".cfg"), model
    return None


def _darknet_net_size(cfg: Path) -> tuple[int, int, bool]:
    """(height, width, letterbox) from the ``[net]`` section of a darknet cfg."""
    values: dict[str, str] = {}
    section = ""
    for raw in cfg.read_text(encoding="utf-8", errors="replace").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith("["):
            if section == "net":
                break
            section = line.strip("[]").strip().lower()
        elif section == "net" and "=" in line:
            key, value = line.split("=", 1)
            values[key.strip().lower()] = value.strip()
    try:
        return (int(values.get("height", 416)), int(values.get("width", 416)),
                values.get("letter_box", "0") == "1")
    except ValueError:
        raise ValueError(f"model: {cfg} has a non-integer width/height in [net]") from None


class _Onnx:
    def __init__(self, path: Path):
        from imgstudio.models import loading

        ort = loading.require("onnxruntime", "detect.yolo")
        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.intra_op_num_threads = loading.torch_threads()
        try:
            self.session = ort.InferenceSession(str(path), sess_options=options,
                                                providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ValueError(f"model: cannot load {path} as ONNX ({str(exc).splitlines()[0]})") from None
        first = self.session.get_inputs()[0]
        shape = list(first.shape)
        if len(shape) != 4:
            raise ValueError(f"model: input {first.name!r} has shape {shape}; expected (1, 3, H, W)")
        self.input_name = first.name
        self.half = first.type == "tensor(float16)"
        self.size = tuple(d if isinstance(d, int) and d > 0 else DEFAULT_SIZE for d in shape[2:])

    def __call__(self, blob: np.ndarray) -> np.ndarray:
        feed = blob.astype(np.float16) if self.half else blob
        return np.asarray(self.session.run(None, {self.input_name: feed})[0], dtype=np.float32)


class _Darknet:
    def __init__(self, cfg: Path, weights: Path):
        import cv2

        try:
            self.net = cv2.dnn.readNetFromDarknet(str(cfg), str(weights))
        except cv2.error as exc:
            raise ValueError(f"model: OpenCV cannot read the darknet model {cfg} + {weights} "
                             f"({str(exc).strip().splitlines()[-1]})") from None
        height, width, self.letterbox = _darknet_net_size(cfg)
        self.size = (height, width)
        self.outputs = self.net.getUnconnectedOutLayersNames()

    def __call__(self, blob: np.ndarray) -> np.ndarray:
        self.net.setInput(blob)
        outs = self.net.forward(self.outputs)
        return np.concatenate([np.asarray(o, dtype=np.float32).reshape(-1, o.shape[-1])
                               for o in outs], axis=0)


def _load(model: Path, progress: Progress) -> tuple[Any, Any]:
    from imgstudio.models import store

    darknet = _darknet_files(model)
    files = darknet if darknet is not None else (model,)
    for f in files:
        if not f.is_file():
            raise ValueError(f"model: file not found: {f}")
    key = ("detect.yolo",) + tuple((str(f.resolve()), store.sha256_of(f)) for f in files)

    def build() -> Any:
        progress(0.0, f"loading model {model.name}…")
        return _Darknet(*darknet) if darknet is not None else _Onnx(model)

    net, lock, _ = store.cached(key, build)
    return net, lock


# -- the operation ----------------------------------------------------------------------------

@operation("detect.yolo", title="Detect objects (YOLO)", menu="Analyze/Detect",
           editor=Editor(preview="apply"))
def yolo(
    image: Image,
    *,
    model: Path,
    conf: Annotated[float, Range(0.0, 1.0, step=0.05)] = 0.5,
    nms: Annotated[float, Range(0.0, 1.0, step=0.05)] = 0.4,
    classes: Path | None = None,
    progress: Progress | None = None,
) -> Boxes:
    """Find objects with your own YOLO model (ONNX v5/v8 style, or darknet cfg + weights).

    The image (8-bit RGB, alpha dropped, gray repeated) is fitted into the model's input:
    for ONNX, letterboxed (aspect kept, grey border) to the input size its graph declares
    (640 × 640 when dynamic), RGB scaled to [0, 1], NCHW; boxes are mapped back to the image.
    Candidates scoring above ``conf`` go through greedy non-maximum suppression **per class**
    (``cv2.dnn.NMSBoxesBatched``: boxes of different classes never suppress each other, as
    Ultralytics' default).

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image.
    model : pathlib.Path
        An ``.onnx`` file whose first output is ``(1, N, 5+C)`` (YOLOv5/v7: box, objectness,
        class probabilities) or ``(1, 4+C, N)`` (YOLOv8/v11: box, class scores), boxes as
        ``cx, cy, w, h`` in input pixels (the layout is told apart by the ``classes`` count,
        else by the shorter axis); or a darknet ``.cfg`` with its ``.weights`` beside it (same
        name; either file may be given), run by OpenCV's dnn: input size from the cfg's
        ``[net]``, resized without a border unless it says ``letter_box=1``, as darknet does.
        Models with NMS built in (YOLOv10, "end2end" exports) are not supported.
    conf : float
        Keep candidates scoring above this (v5: objectness × class probability).
    nms : float
        IoU above which the less confident of two boxes of one class is dropped.
    classes : pathlib.Path, optional
        Text file with one class name per line, in the model's class order; without it the
        labels are "0", "1", ...
    progress : Progress, optional
        Progress ("loading model …" on first use) and cancellation between the stages.

    Returns
    -------
    Boxes
        ``xyxy`` in image pixels (clipped to the image), ``scores``, class-name ``labels``;
        most confident first.
    """
    image = check_image(image)
    progress = token(progress)
    if model is None or str(model) == "":
        raise ValueError("model is required: a YOLO .onnx file or a darknet .cfg/.weights")
    model = user_path(model, "model")
    if not model.is_file():
        raise ValueError(f"model: file not found: {model}")
    if not 0.0 <= conf <= 1.0:
        raise ValueError(f"conf must be in [0, 1]; got {conf!r}")
    if not 0.0 <= nms <= 1.0:
        raise ValueError(f"nms must be in [0, 1]; got {nms!r}")
    names = read_classes(classes)
    net, lock = _load(model, progress)
    progress.check()
    progress(0.2, "preparing the image")
    rgb = rgb_uint8(image)
    darknet = isinstance(net, _Darknet)
    if darknet and not net.letterbox:
        import cv2

        height, width = net.size
        fitted = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_LINEAR)
        fit = None
    else:
        fitted, fit = letterbox(rgb, net.size)
    blob = np.ascontiguousarray(fitted.transpose(2, 0, 1)[None], dtype=np.float32) / np.float32(255)
    progress(0.3, "running the model")
    with lock:
        output = net(blob)
    progress.check()
    progress(0.8, "decoding")
    if darknet:
        xyxy, scores, class_ids = _decode_darknet(output, net.size, names)
    else:
        xyxy, scores, class_ids = decode(output, len(names) if names else None)
    keep = suppress(xyxy, scores, class_ids, conf, nms)
    boxes = xyxy[keep]
    if fit is None:  # darknet without letterbox: plain resize to the network's size
        height, width = net.size
        boxes = boxes * np.array([image.shape[1] / width, image.shape[0] / height] * 2)
        boxes = clip(boxes, image.shape)
    else:
        boxes = unletterbox(boxes, fit, image.shape)
    labels = [names[c] if names and c < len(names) else str(int(c)) for c in class_ids[keep]]
    progress(1.0, f"{len(keep)} object(s)")
    return Boxes(xyxy=boxes, scores=scores[keep], labels=labels)


def _decode_darknet(rows: np.ndarray, size: tuple[int, int], names: list[str] | None
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """OpenCV's darknet region/yolo output: rows ``cx, cy, w, h`` (fractions of the network
    input), objectness, then C class scores already multiplied by the objectness."""
    if rows.ndim != 2 or rows.shape[1] < 6:
        raise ValueError(f"model: darknet output rows of {rows.shape[-1]} values; expected 5+C")
    if names is not None and rows.shape[1] != 5 + len(names):
        raise ValueError(f"classes: {len(names)} names but the model predicts "
                         f"{rows.shape[1] - 5} classes")
    height, width = size
    cls = rows[:, 5:]
    class_ids = np.argmax(cls, axis=1)
    scores = cls[np.arange(len(cls)), class_ids].astype(float)
    cx, cy = rows[:, 0] * width, rows[:, 1] * height
    bw, bh = rows[:, 2] * width, rows[:, 3] * height
    xyxy = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], axis=1).astype(float)
    return xyxy, scores, class_ids
