"""Shared machinery of the face operations: model files, cached dlib/OpenCV models, detection,
landmarks and the 8-bit RGB view dlib needs.

Models come from the ``face_recognition_models`` package (dlib's published model files) and
OpenCV's bundled Haar cascades. Each model is loaded once per process and kept in
:data:`_MODELS`, keyed by its file path, together with a lock: dlib and OpenCV detectors are not
safe to call from two threads at once.

dlib, OpenCV and ``face_recognition_models`` are imported inside the functions, so importing
this module costs only numpy.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import numpy as np

from imgstudio.core.progress import Progress
from imgstudio.core.types import Range
from imgstudio.ops._pixels import rgb_uint8, token
from imgstudio.ops._threads import interruptible

Detector = Literal["hog", "cnn", "haar"]
DETECTORS: tuple[str, ...] = ("hog", "cnn", "haar")
#: ``face``: which detected face, 0 being the most confident.
FaceIndex = Annotated[int, Range(0, 99)]

#: dlib model files shipped by the ``face_recognition_models`` package.
MODEL_FILES = {
    "landmarks68": "shape_predictor_68_face_landmarks.dat",
    "landmarks5": "shape_predictor_5_face_landmarks.dat",
    "cnn": "mmod_human_face_detector.dat",
    "recognition": "dlib_face_recognition_resnet_model_v1.dat",
}
HAAR_CASCADE = "haarcascade_frontalface_default.xml"
#: OpenCV settings of the Haar face detector (``detectMultiScale3``).
HAAR_SCALE_FACTOR = 1.1
HAAR_MIN_NEIGHBORS = 3
#: Smallest face (px) every detector looks for at upsample 0; each upsample step halves it.
HAAR_SMALLEST_FACE = 80
#: dlib's CNN is run only on images whose shorter side, upsampled, is at least this: it finds
#: no face under ~70 px (measured), raises on tiny inputs and can corrupt the heap on 1–2 px
#: wide ones. 5 760 random sizes from 48 px up ran clean under MALLOC_CHECK_=3.
CNN_MIN_SIDE = 48
#: Largest image (pixels, after upsampling) given to dlib's CNN: it needs ~1 GB per megapixel
#: (measured 1.0 GB at 1 MP, 3.8 GB at 4 MP) and about 10 s per megapixel on a CPU core.
CNN_MAX_PIXELS = 4_000_000

# 68-point (iBUG 300-W) indices.
EYE_RIGHT_68 = slice(36, 42)  # the subject's right eye: on the left of a frontal photo
EYE_LEFT_68 = slice(42, 48)
MOUTH_68 = slice(48, 68)
NOSE_TIP_68 = 33
# 5-point model: 0, 1 = corners of the eye on the image's right; 2, 3 = the other eye; 4 = nose.

_MODELS: dict[str, tuple[Any, threading.Lock]] = {}
_MODELS_LOCK = threading.Lock()

T = TypeVar("T")


# -- model files and loading ------------------------------------------------------------------

def model_path(name: str) -> Path:
    """Path of the dlib model ``name`` (a key of :data:`MODEL_FILES`).

    Found next to the ``face_recognition_models`` package without importing it (its
    ``__init__`` pulls in the deprecated ``pkg_resources``).
    """
    import importlib.util

    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "the face operations need dlib's model files: pip install face_recognition_models"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / MODEL_FILES[name]
    if not path.is_file():
        raise RuntimeError(f"dlib model file missing: {path}")
    return path


def _load(key: str, factory: Callable[[], Any]) -> tuple[Any, threading.Lock]:
    with _MODELS_LOCK:
        entry = _MODELS.get(key)
        if entry is None:
            entry = (factory(), threading.Lock())
            _MODELS[key] = entry
        return entry


def load_model(kind: str) -> tuple[Any, threading.Lock]:
    """The cached model ``kind`` and its lock.

    ``kind`` is ``"hog"`` (dlib's frontal face detector), ``"haar"`` (OpenCV cascade) or a
    key of :data:`MODEL_FILES`.
    """
    import dlib

    if kind == "hog":
        return _load("dlib:frontal_face_detector", dlib.get_frontal_face_detector)
    if kind == "haar":
        import cv2

        path = str(Path(cv2.data.haarcascades) / HAAR_CASCADE)

        def make_cascade() -> Any:
            cascade = cv2.CascadeClassifier(path)
            if cascade.empty():
                raise RuntimeError(f"cannot load the OpenCV cascade {path}")
            return cascade

        return _load(path, make_cascade)
    path = str(model_path(kind))
    factory = {
        "landmarks68": dlib.shape_predictor,
        "landmarks5": dlib.shape_predictor,
        "cnn": dlib.cnn_face_detection_model_v1,
        "recognition": dlib.face_recognition_model_v1,
    }[kind]
    return _load(path, lambda: factory(path))


# -- progress and cancellation ----------------------------------------------------------------

# -- pixels -----------------------------------------------------------------------------------

def to_rgb8(image: np.ndarray, name: str = "image") -> np.ndarray:
    """A contiguous ``(H, W, 3)`` uint8 RGB copy of an editor image, as dlib wants it.

    Gray is replicated, alpha dropped, uint16 and float32 [0, 1] rescaled to 0–255.
    """
    if image.dtype not in (np.uint8, np.uint16, np.float32):
        raise ValueError(f"{name} must be uint8, uint16 or float32; got {image.dtype}")
    if image.ndim != 2 and (image.ndim != 3 or image.shape[2] not in (3, 4)):
        raise ValueError(f"{name} must have shape (H, W), (H, W, 3) or (H, W, 4); got {image.shape}")
    return rgb_uint8(image)


# -- detection --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Face:
    """One detection: dlib rectangle (inclusive corners), exclusive ``xyxy`` and score."""

    rect: Any  # dlib.rectangle
    xyxy: tuple[float, float, float, float]
    score: float


def check_detector(detector: str) -> None:
    if detector not in DETECTORS:
        raise ValueError(f"detector must be one of {', '.join(DETECTORS)}; got {detector!r}")


def detect_faces(
    rgb8: np.ndarray,
    detector: str = "hog",
    upsample: int = 1,
    threshold: float = 0.5,
    progress: Progress | None = None,
) -> list[Face]:
    """Faces in ``rgb8`` with score ≥ ``threshold``, most confident first.

    Scores: ``hog`` — dlib's SVM margin (``run(..., adjust_threshold)``); ``cnn`` — the MMOD
    confidence (dlib reports only detections above 0); ``haar`` — OpenCV's level weight of the
    grouped detection (the sum of the cascade's last stage, ``outputRejectLevels=True``).
    """
    import dlib

    check_detector(detector)
    if upsample < 0:
        raise ValueError(f"upsample must be >= 0; got {upsample}")
    progress = token(progress)
    h, w = rgb8.shape[:2]
    found: list[tuple[float, float, float, float, float]] = []  # x0, y0, x1, y1 (exclusive), score
    if detector == "hog":
        model, lock = load_model("hog")

        def run_hog() -> Any:
            with lock:
                return model.run(rgb8, upsample, threshold)

        rects, scores, _ = interruptible(run_hog, progress)
        found = [(r.left(), r.top(), r.right() + 1, r.bottom() + 1, s)
                 for r, s in zip(rects, scores, strict=True)]
    elif detector == "cnn":
        factor = 2**upsample
        if h * w * factor**2 > CNN_MAX_PIXELS:
            raise ValueError(
                f"image too large for detector='cnn' at upsample={upsample}: "
                f"{h * w * factor**2 / 1e6:.1f} MP to scan, limit {CNN_MAX_PIXELS / 1e6:g} MP "
                "(dlib's CNN needs about 1 GB of memory per MP); downscale the image, lower "
                "upsample or use detector='hog'"
            )
        if min(h, w) * factor >= CNN_MIN_SIDE:  # smaller images hold no face it can find
            model, lock = load_model("cnn")
            progress.check()
            with lock:
                dets = model(rgb8, upsample)
            progress.check()
            found = [(d.rect.left(), d.rect.top(), d.rect.right() + 1, d.rect.bottom() + 1,
                      d.confidence) for d in dets]
    else:
        import cv2

        model, lock = load_model("haar")
        # upsample means "faces down to ~80 / 2**upsample px", as for dlib's detectors: the
        # cascade's own window is 24 px, so that is its minSize and the image is doubled only
        # when it asks for less than 24 px (smaller windows mostly fire on texture)
        min_face = HAAR_SMALLEST_FACE / 2**upsample
        factor = 1
        while min_face * factor < 24:
            factor *= 2
        min_size = round(min_face * factor)
        gray = cv2.cvtColor(rgb8, cv2.COLOR_RGB2GRAY)
        if factor > 1:
            gray = cv2.resize(gray, (w * factor, h * factor), interpolation=cv2.INTER_LINEAR)

        def run_haar() -> Any:
            with lock:
                return model.detectMultiScale3(
                    gray, scaleFactor=HAAR_SCALE_FACTOR, minNeighbors=HAAR_MIN_NEIGHBORS,
                    minSize=(min_size, min_size), outputRejectLevels=True,
                )

        rects, _, weights = interruptible(run_haar, progress)
        for (x, y, bw, bh), weight in zip(np.reshape(rects, (-1, 4)), np.ravel(weights), strict=True):
            found.append((x / factor, y / factor, (x + bw) / factor, (y + bh) / factor, float(weight)))
    faces = []
    for x0, y0, x1, y1, score in found:
        if score < threshold:
            continue
        xyxy = (float(max(x0, 0)), float(max(y0, 0)), float(min(x1, w)), float(min(y1, h)))
        if xyxy[2] <= xyxy[0] or xyxy[3] <= xyxy[1]:
            continue
        rect = dlib.rectangle(int(round(x0)), int(round(y0)), int(round(x1)) - 1, int(round(y1)) - 1)
        faces.append(Face(rect, xyxy, float(score)))
    faces.sort(key=lambda f: -f.score)
    return faces


def pick_face(faces: list[Face], face: int, name: str = "image") -> Face:
    """``faces[face]`` or a ``ValueError`` ("no face found" / index out of range)."""
    if not faces:
        raise ValueError(f"no face found in {name}")
    if not 0 <= face < len(faces):
        raise ValueError(f"face must be < {len(faces)} ({len(faces)} face(s) found); got {face}")
    return faces[face]


def shape_of(rgb8: np.ndarray, rect: Any, model: Literal[5, 68]) -> tuple[Any, np.ndarray]:
    """dlib's ``full_object_detection`` for ``rect`` and its points as float ``(N, 2)`` (x, y)."""
    predictor, lock = load_model("landmarks68" if model == 68 else "landmarks5")
    with lock:
        shape = predictor(rgb8, rect)
    points = np.array([(p.x, p.y) for p in shape.parts()], dtype=float)
    return shape, points


def face_points(
    image: np.ndarray,
    *,
    model: Literal[5, 68] = 68,
    face: int = 0,
    detector: str = "hog",
    name: str = "image",
    progress: Progress | None = None,
) -> np.ndarray:
    """Landmarks of the ``face``-th most confident face of an editor ``image``."""
    rgb8 = to_rgb8(image, name)
    chosen = pick_face(detect_faces(rgb8, detector, progress=progress), face, name)
    return shape_of(rgb8, chosen.rect, model)[1]


def eye_centres_5(points5: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eye centres from the 5-point model, (image-left eye, image-right eye)."""
    return points5[2:4].mean(axis=0), points5[0:2].mean(axis=0)


def eye_centres_68(points68: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eye centres from the 68-point model, (image-left eye, image-right eye)."""
    return points68[EYE_RIGHT_68].mean(axis=0), points68[EYE_LEFT_68].mean(axis=0)
