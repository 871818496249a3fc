"""faces.embed and faces.recognize: dlib's 128-D ResNet face descriptors and a named gallery."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Annotated

import numpy as np

from imgstudio.core.progress import Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import Boxes, Image, Range, Table, check_image
from imgstudio.ops._pixels import token
from imgstudio.ops.faces._models import (
    Detector,
    Face,
    check_detector,
    detect_faces,
    load_model,
    shape_of,
    to_rgb8,
)

#: dlib's distance below which two descriptors are taken as the same person (99.38 % on LFW).
DEFAULT_TOLERANCE = 0.6

# Gallery descriptors by (file, mtime_ns, size, detector), so re-running recognition on
# another image does not re-detect every gallery face. Bounded; cleared when full.
_GALLERY_CACHE: dict[tuple[str, int, int, str], np.ndarray] = {}
_GALLERY_CACHE_LOCK = threading.Lock()
_GALLERY_CACHE_MAX = 4096


def face_descriptors(
    rgb8: np.ndarray, detector: str = "hog", progress: Progress | None = None
) -> list[tuple[Face, np.ndarray]]:
    """Every detected face of an 8-bit RGB image with its 128-D descriptor, most confident
    first (5-point landmarks → ``face_recognition_model_v1.compute_face_descriptor``)."""
    progress = token(progress)
    faces = detect_faces(rgb8, detector, progress=progress.sub(0.0, 0.5))
    model, lock = load_model("recognition")
    out = []
    for k, face in enumerate(faces):
        progress(0.5 + 0.5 * k / len(faces), f"describing face {k + 1} of {len(faces)}")
        shape, _ = shape_of(rgb8, face.rect, 5)
        with lock:
            vector = np.array(model.compute_face_descriptor(rgb8, shape), dtype=np.float64)
        out.append((face, vector))
    return out


@operation("faces.embed", title="Face embeddings", menu="Faces")
def embed(
    image: Image,
    *,
    detector: Detector = "hog",
    progress: Progress | None = None,
) -> Table:
    """Describe every detected face by dlib's 128-D face-recognition vector.

    dlib's ResNet (``dlib_face_recognition_resnet_model_v1.dat``) on each face aligned with
    the 5-point landmarks. Two faces of the same person are usually less than 0.6 apart
    (Euclidean); that threshold gives 99.38 % on the LFW benchmark.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image (gray is replicated, alpha ignored).
    detector : {"hog", "cnn", "haar"}
        Face detector (see ``faces.detect``; upsample 1, threshold 0.5).
    progress : Progress, optional
        Progress and cancellation.

    Returns
    -------
    Table
        One row per face, most confident first: ``face`` (index), ``x0``, ``y0``, ``x1``,
        ``y1`` (box, x1/y1 exclusive), ``score`` (detector confidence) and ``embedding``
        (a list of 128 floats). No face gives an empty table with these columns.
    """
    image = check_image(image)
    check_detector(detector)
    progress = token(progress)
    progress(0.0, "detecting faces")
    found = face_descriptors(to_rgb8(image), detector, progress)
    progress(1.0, f"{len(found)} face(s)")
    return Table(columns={
        "face": list(range(len(found))),
        "x0": [f.xyxy[0] for f, _ in found],
        "y0": [f.xyxy[1] for f, _ in found],
        "x1": [f.xyxy[2] for f, _ in found],
        "y1": [f.xyxy[3] for f, _ in found],
        "score": [f.score for f, _ in found],
        "embedding": [v.tolist() for _, v in found],
    })


def gallery_files(gallery: Path) -> list[tuple[str, Path]]:
    """``(name, file)`` pairs of a gallery folder: ``<name>.<ext>`` files at its top level and
    every image in a ``<name>/`` sub-folder. Hidden files are skipped; sorted by name."""
    from imgstudio.core.io import SUPPORTED_READ_EXTENSIONS

    gallery = Path(gallery)
    if not gallery.is_dir():
        raise ValueError(f"gallery must be a folder of named face images; {gallery} is not a folder")

    def is_image(path: Path) -> bool:
        return (path.is_file() and not path.name.startswith(".")
                and path.name.lower().endswith(SUPPORTED_READ_EXTENSIONS))

    pairs = []
    for entry in sorted(gallery.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            pairs += [(entry.name, f) for f in sorted(entry.iterdir()) if is_image(f)]
        elif is_image(entry):
            name = entry.name
            for ext in SUPPORTED_READ_EXTENSIONS:  # ".nii.gz" as well as ".png"
                if name.lower().endswith(ext):
                    name = name[: -len(ext)]
                    break
            pairs.append((name, entry))
    if not pairs:
        raise ValueError(f"gallery {gallery} holds no images (<name>.png or <name>/*.png)")
    return pairs


def _gallery_descriptor(path: Path, detector: str, progress: Progress) -> np.ndarray:
    """Descriptor of the most confident face of one gallery file (cached by file state)."""
    from imgstudio.core.io import load_image

    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size, detector)
    with _GALLERY_CACHE_LOCK:
        if key in _GALLERY_CACHE:
            return _GALLERY_CACHE[key]
    found = face_descriptors(to_rgb8(load_image(path), f"gallery image {path}"), detector,
                             progress)
    if not found:
        raise ValueError(f"gallery image {path}: no face found (use a clearer frontal photo, "
                         "another detector, or remove it)")
    with _GALLERY_CACHE_LOCK:
        if len(_GALLERY_CACHE) >= _GALLERY_CACHE_MAX:
            _GALLERY_CACHE.clear()
        _GALLERY_CACHE[key] = found[0][1]
    return found[0][1]


@operation("faces.recognize", title="Recognise faces", menu="Faces")
def recognize(
    image: Image,
    *,
    gallery: Path,
    tolerance: Annotated[float, Range(0.0, 2.0, step=0.01)] = DEFAULT_TOLERANCE,
    detector: Detector = "hog",
    progress: Progress | None = None,
) -> Boxes:
    """Name the faces in an image after the nearest face of a gallery folder.

    Every gallery image contributes the descriptor of its most confident face (see
    ``faces.embed``); each face of ``image`` gets the name with the nearest descriptor if
    that is within ``tolerance``, else ``"unknown"``.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Image with the faces to name.
    gallery : pathlib.Path
        Folder of named faces: ``<name>.png`` (any readable image format) at its top level,
        and/or sub-folders ``<name>/`` holding several images of that person. Every image must
        show a detectable face. Descriptors are cached per file until it changes.
    tolerance : float
        Largest Euclidean descriptor distance accepted as the same person; dlib's 0.6 gives
        99.38 % on LFW. Lower is stricter.
    detector : {"hog", "cnn", "haar"}
        Face detector for the image and the gallery (see ``faces.detect``).
    progress : Progress, optional
        Progress and cancellation.

    Returns
    -------
    Boxes
        One box per detected face, most confident detection first; ``labels`` the matched
        name or ``"unknown"``; ``scores`` = 1 − distance to the nearest gallery face (≥ 0.4
        for a match at the default tolerance), clipped at 0.

    Raises
    ------
    ValueError
        ``gallery`` is not a folder, holds no images, or one of them shows no face.
    """
    image = check_image(image)
    check_detector(detector)
    progress = token(progress)
    progress(0.0, "reading the gallery")
    files = gallery_files(gallery)
    names, vectors = [], []
    for k, (name, path) in enumerate(files):
        sub = progress.sub(0.7 * k / len(files), 0.7 * (k + 1) / len(files))
        sub(0.0, f"gallery: {path.name}")
        names.append(name)
        vectors.append(_gallery_descriptor(path, detector, sub))
    gallery_vectors = np.array(vectors)
    progress(0.7, "detecting faces")
    found = face_descriptors(to_rgb8(image), detector, progress.sub(0.7, 1.0))
    labels, scores = [], []
    for _, vector in found:
        distances = np.linalg.norm(gallery_vectors - vector, axis=1)
        best = int(np.argmin(distances))
        labels.append(names[best] if distances[best] <= tolerance else "unknown")
        scores.append(max(0.0, 1.0 - float(distances[best])))
    progress(1.0, f"{len(found)} face(s)")
    return Boxes(xyxy=[f.xyxy for f, _ in found], scores=scores, labels=labels)
