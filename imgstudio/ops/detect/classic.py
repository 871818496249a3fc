"""Classic (non-neural) detectors on OpenCV: HOG people, Haar cascades, barcodes and QR codes,
geometric shapes.

Every detector sees an 8-bit copy of the image (uint16 and float32 rescaled, alpha ignored) and
returns boxes ``xyxy`` in pixels of the input, ``x1``/``y1`` exclusive. OpenCV is imported
inside the functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import numpy as np

from imgstudio.core.progress import Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import Boxes, Image, Range, Result, Text, check_image
from imgstudio.ops._pixels import rgb_uint8, to_uint8, token
from imgstudio.ops._threads import interruptible

T = TypeVar("T")

#: The HOG people detector's window (OpenCV's default descriptor), (width, height).
HOG_WINDOW = (64, 128)

#: Short names of the cascades shipped in ``cv2.data.haarcascades`` → their files.
CASCADES: dict[str, str] = {
    "face": "haarcascade_frontalface_default.xml",
    "face_alt": "haarcascade_frontalface_alt.xml",
    "face_alt2": "haarcascade_frontalface_alt2.xml",
    "face_alt_tree": "haarcascade_frontalface_alt_tree.xml",
    "profile_face": "haarcascade_profileface.xml",
    "eye": "haarcascade_eye.xml",
    "eye_glasses": "haarcascade_eye_tree_eyeglasses.xml",
    "left_eye": "haarcascade_lefteye_2splits.xml",
    "right_eye": "haarcascade_righteye_2splits.xml",
    "smile": "haarcascade_smile.xml",
    "fullbody": "haarcascade_fullbody.xml",
    "upperbody": "haarcascade_upperbody.xml",
    "lowerbody": "haarcascade_lowerbody.xml",
    "cat_face": "haarcascade_frontalcatface.xml",
    "cat_face_extended": "haarcascade_frontalcatface_extended.xml",
    "plate_rus": "haarcascade_russian_plate_number.xml",
    "plate_rus_16stages": "haarcascade_license_plate_rus_16stages.xml",
}
Cascade = Literal["face", "face_alt", "face_alt2", "face_alt_tree", "profile_face", "eye",
                  "eye_glasses", "left_eye", "right_eye", "smile", "fullbody", "upperbody",
                  "lowerbody", "cat_face", "cat_face_extended", "plate_rus",
                  "plate_rus_16stages"]

#: Gaussian blurs (sigma, px) of the extra passes of the 1-D barcode detector: OpenCV's finds
#: bars by gradient coherence and misses perfectly sharp, wide bars (a generated barcode
#: image); a blur of about a quarter of the bar width makes them findable (measured on EAN-13
#: renderings with 1-10 px modules).
BARCODE_BLURS = (0.0, 1.0, 2.0, 4.0)

#: Shapes from :func:`shapes`: a contour counts as a circle when it fills at least this much
#: of its smallest enclosing circle (a regular hexagon fills 0.83, a pentagon 0.76).
CIRCLE_FILL = 0.9
#: A four-sided contour is a rectangle when it fills at least this much of its smallest
#: (rotated) enclosing rectangle, and a square when its sides' ratio is at least this.
RECT_FILL = 0.9
SQUARE_RATIO = 0.9
#: The smallest difference from the background colour (8-bit levels) that makes a pixel part
#: of a shape.
MIN_CONTRAST = 16


# -- shared helpers ---------------------------------------------------------------------------

def _grey8(image: np.ndarray) -> np.ndarray:
    """An 8-bit grey copy (BT.601 via ``cv2.cvtColor``) of any editor image."""
    import cv2

    if image.ndim == 2:
        return np.ascontiguousarray(to_uint8(image))
    return cv2.cvtColor(rgb_uint8(image), cv2.COLOR_RGB2GRAY)


def _xywh_to_xyxy(rects: Any, shape: tuple[int, ...]) -> np.ndarray:
    """OpenCV ``(x, y, w, h)`` rectangles as float ``xyxy`` clipped to an image of ``shape``."""
    r = np.asarray(rects, dtype=float).reshape(-1, 4)
    xyxy = np.column_stack([r[:, 0], r[:, 1], r[:, 0] + r[:, 2], r[:, 1] + r[:, 3]])
    h, w = shape[:2]
    np.clip(xyxy[:, 0::2], 0, w, out=xyxy[:, 0::2])
    np.clip(xyxy[:, 1::2], 0, h, out=xyxy[:, 1::2])
    return xyxy


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two ``xyxy`` boxes."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(0.0, w) * max(0.0, h)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


# -- detect.hog_people ------------------------------------------------------------------------

@operation("detect.hog_people", title="Detect people (HOG)", menu="Analyze/Detect")
def hog_people(
    image: Image,
    *,
    win_stride: Annotated[int, Range(1, 64)] = 8,
    scale: Annotated[float, Range(1.01, 2.0, step=0.01)] = 1.05,
    nms_threshold: Annotated[float, Range(0.0, 1.0, step=0.05)] = 0.3,
    threshold: Annotated[float, Range(0.0, 10.0, step=0.1)] = 0.0,
    progress: Progress | None = None,
) -> Boxes:
    """Find standing people with OpenCV's HOG + linear SVM detector and non-max suppression.

    ``cv2.HOGDescriptor`` with ``HOGDescriptor_getDefaultPeopleDetector()`` (Dalal & Triggs,
    a 64×128 window trained on upright pedestrians, INRIA) scans an image pyramid with
    ``detectMultiScale`` without OpenCV's own rectangle grouping; the raw windows are then
    thinned with ``cv2.dnn.NMSBoxes``. People are found from about 96 px tall (the window
    holds a margin around the body); an image smaller than 64×128 px gives no boxes.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image; colour is used (the gradient of the strongest channel).
    win_stride : int
        Step of the detection window in pixels (both directions); smaller finds more but
        costs about ``(8 / win_stride)**2`` times the time.
    scale : float
        Size ratio between pyramid levels; closer to 1 scans more sizes (slower).
    nms_threshold : float
        Windows overlapping a better-scoring kept window by more than this intersection over
        union are dropped; 1 keeps every window.
    threshold : float
        The SVM margin a window needs (OpenCV's ``hitThreshold``); 0 is the detector's own
        decision boundary. Clear people score about 1-3, false hits on clutter mostly below 1.
    progress : Progress, optional
        Progress and cancellation (a cancel takes effect within 50 ms).

    Returns
    -------
    Boxes
        The kept windows, best first; ``scores`` are the SVM margins, every label
        ``"person"``.
    """
    import cv2

    image = check_image(image)
    progress = token(progress)
    if image.shape[0] < HOG_WINDOW[1] or image.shape[1] < HOG_WINDOW[0]:
        # no window fits; OpenCV would crash on such an image rather than return nothing
        return Boxes(np.zeros((0, 4)), np.zeros(0), [])
    pixels = np.ascontiguousarray(to_uint8(image)) if image.ndim == 2 else rgb_uint8(image)
    progress(0.0, "scanning for people (HOG)")

    def scan() -> tuple[Any, Any]:
        hog = cv2.HOGDescriptor()
        hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
        return hog.detectMultiScale(pixels, hitThreshold=threshold,
                                    winStride=(win_stride, win_stride), scale=scale,
                                    groupThreshold=0)

    rects, weights = interruptible(scan, progress)
    rects = np.asarray(rects, dtype=int).reshape(-1, 4)
    weights = np.asarray(weights, dtype=float).ravel()
    keep = np.zeros(0, int)
    if len(rects):
        keep = np.asarray(cv2.dnn.NMSBoxes(rects.tolist(), weights.tolist(), float(threshold),
                                           float(nms_threshold)), dtype=int).ravel()
        keep = keep[np.argsort(-weights[keep], kind="stable")]
    progress(1.0, f"{len(keep)} person(s)")
    return Boxes(_xywh_to_xyxy(rects[keep], image.shape), weights[keep], ["person"] * len(keep))


# -- detect.haar ------------------------------------------------------------------------------

def cascade_path(cascade: str) -> Path:
    """The file of the shipped cascade named ``cascade`` (a key of :data:`CASCADES`)."""
    import cv2

    if cascade not in CASCADES:
        raise ValueError(f"cascade must be one of {', '.join(CASCADES)}; got {cascade!r}")
    return Path(cv2.data.haarcascades) / CASCADES[cascade]


@operation("detect.haar", title="Detect with a Haar cascade", menu="Analyze/Detect")
def haar(
    image: Image,
    *,
    cascade: Cascade = "face",
    scale_factor: Annotated[float, Range(1.01, 2.0, step=0.01)] = 1.1,
    min_neighbors: Annotated[int, Range(0, 100)] = 5,
    progress: Progress | None = None,
) -> Boxes:
    """Find faces, eyes, smiles, bodies or number plates with a Haar cascade shipped with OpenCV.

    ``cv2.CascadeClassifier.detectMultiScale3`` (Viola-Jones boosted Haar features) on the
    BT.601 grey image, with ``outputRejectLevels=True`` for a score per box; the boxes are the
    ones ``detectMultiScale`` returns with the same settings.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image.
    cascade : str
        The cascade file of ``cv2.data.haarcascades``: ``face`` (frontalface_default),
        ``face_alt``, ``face_alt2``, ``face_alt_tree``, ``profile_face`` (faces turned to
        their right; flip the image for the other side), ``eye``, ``eye_glasses``
        (eye_tree_eyeglasses), ``left_eye``/``right_eye`` (2splits), ``smile`` (run it on a
        face crop: on a whole image it fires on much else), ``fullbody``, ``upperbody``,
        ``lowerbody``, ``cat_face``, ``cat_face_extended``, ``plate_rus``
        (russian_plate_number), ``plate_rus_16stages`` (license_plate_rus_16stages).
    scale_factor : float
        Size ratio between the scanned scales; closer to 1 finds more sizes (slower).
    min_neighbors : int
        Overlapping raw hits a detection needs to be kept; higher gives fewer, surer boxes
        (0 returns every raw hit).
    progress : Progress, optional
        Progress and cancellation (a cancel takes effect within 50 ms).

    Returns
    -------
    Boxes
        Best first; ``scores`` are OpenCV's level weights (the sum of the cascade's last
        stage for the grouped hit; their scale differs from cascade to cascade), every label
        the cascade's name.
    """
    import cv2

    image = check_image(image)
    progress = token(progress)
    path = cascade_path(cascade)
    grey = _grey8(image)
    progress(0.0, f"scanning with the {cascade} cascade")

    def scan() -> tuple[Any, Any, Any]:
        classifier = cv2.CascadeClassifier(str(path))
        if classifier.empty():
            raise RuntimeError(f"cannot load the OpenCV cascade {path}")
        return classifier.detectMultiScale3(grey, scaleFactor=scale_factor,
                                            minNeighbors=min_neighbors,
                                            outputRejectLevels=True)

    rects, _, weights = interruptible(scan, progress)
    rects = np.asarray(rects, dtype=int).reshape(-1, 4)
    weights = np.asarray(weights, dtype=float).ravel()
    order = np.lexsort((rects[:, 0], rects[:, 1], -weights)) if len(rects) else np.zeros(0, int)
    progress(1.0, f"{len(order)} {cascade} detection(s)")
    return Boxes(_xywh_to_xyxy(rects[order], image.shape), weights[order],
                 [cascade] * len(order))


# -- detect.barcode ---------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Codes(Result):
    """Decoded barcodes and QR codes: their boxes (labels = the decoded values), the values
    and the symbologies (``"QR_CODE"``, ``"EAN_13"``, ``"UPC_A"``...)."""

    boxes: Boxes
    values: list[str]
    kinds: list[str]

    @property
    def text(self) -> Text:
        """The values with their boxes as a :class:`~imgstudio.core.types.Text`."""
        return Text([(v, tuple(float(c) for c in xyxy))
                     for v, xyxy in zip(self.values, self.boxes.xyxy, strict=True)])


def _corners_box(points: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The axis-aligned ``xyxy`` box around a code's four corner points, in the image."""
    pts = np.asarray(points, dtype=float).reshape(-1, 2)
    h, w = shape[:2]
    return np.array([max(0.0, pts[:, 0].min()), max(0.0, pts[:, 1].min()),
                     min(float(w), pts[:, 0].max()), min(float(h), pts[:, 1].max())])


@operation("detect.barcode", title="Read barcodes and QR codes", menu="Analyze/Detect")
def barcode(image: Image) -> Codes:
    """Find and decode QR codes and 1-D barcodes (EAN-8/13, UPC-A/E, ...).

    QR codes: ``cv2.QRCodeDetector.detectAndDecodeMulti``, then
    ``cv2.QRCodeDetectorAruco`` (which reads large, sharp codes the first misses). 1-D codes:
    ``cv2.barcode.BarcodeDetector.detectAndDecodeWithType`` on the grey image and on copies
    blurred by σ = 1, 2 and 4 px (the detector misses perfectly sharp wide bars, as in a
    generated barcode image). A code seen by several passes is reported once (the first
    reading); a code found but not decoded is left out.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image (read as BT.601 grey).

    Returns
    -------
    Codes
        ``boxes`` (the axis-aligned box around each code's corners; labels = values, scores
        1), ``values`` (the decoded strings) and ``kinds`` (``"QR_CODE"`` or the barcode
        type OpenCV reports, e.g. ``"EAN_13"``), in reading order (top to bottom, then left
        to right).
    """
    import cv2

    image = check_image(image)
    grey = _grey8(image)
    found: list[tuple[str, str, np.ndarray]] = []

    def add(kind: str, value: str, points: np.ndarray) -> None:
        box = _corners_box(points, grey.shape)
        if value and box[2] > box[0] and box[3] > box[1] and all(
                iou(box, other) <= 0.3 for _, _, other in found):
            found.append((kind, value, box))

    for detector in (cv2.QRCodeDetector(), cv2.QRCodeDetectorAruco()):
        ok, values, points, _ = detector.detectAndDecodeMulti(grey)
        if ok and points is not None:
            for value, pts in zip(values, points, strict=False):
                add("QR_CODE", value, pts)
    bars = cv2.barcode.BarcodeDetector()
    for sigma in BARCODE_BLURS:
        view = grey if sigma == 0 else cv2.GaussianBlur(grey, (0, 0), sigma)
        ok, values, kinds, points = bars.detectAndDecodeWithType(view)
        if ok and points is not None:
            for value, kind, pts in zip(values, kinds, points, strict=False):
                add(kind, value, pts)
    found.sort(key=lambda item: (round(float(item[2][1])), float(item[2][0])))
    return Codes(
        boxes=Boxes(np.array([b for _, _, b in found]).reshape(-1, 4), None,
                    [v for _, v, _ in found]),
        values=[v for _, v, _ in found],
        kinds=[k for k, _, _ in found],
    )


# -- detect.shapes ----------------------------------------------------------------------------

def _foreground(image: np.ndarray) -> np.ndarray:
    """Pixels that differ from the background colour as a 0/255 uint8 mask.

    The background colour is the median of the border pixels; a pixel's difference is its
    largest per-channel difference from it (8-bit levels), and it is foreground when that is
    above :data:`MIN_CONTRAST` and above the border's own variation (its median difference
    plus six robust standard deviations), so a noisy background does not count.
    """
    pixels = rgb_uint8(image).astype(np.int16)
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    background = np.median(border, axis=0)
    diff = np.abs(pixels - background).max(axis=2)
    spread = np.abs(border - background).max(axis=1)
    centre = float(np.median(spread))
    mad = float(np.median(np.abs(spread - centre)))
    level = max(float(MIN_CONTRAST), centre + 6 * 1.4826 * mad)
    return np.where(diff > level, 255, 0).astype(np.uint8)


def shape_label(contour: np.ndarray, epsilon: float) -> str:
    """The name of the shape of one contour (see :func:`shapes`)."""
    import cv2

    area = cv2.contourArea(contour)
    _, radius = cv2.minEnclosingCircle(contour)
    if radius > 0 and area / (np.pi * radius * radius) >= CIRCLE_FILL:
        return "circle"
    approx = cv2.approxPolyDP(contour, epsilon * cv2.arcLength(contour, True), True)
    corners = len(approx)
    if corners == 4:
        (_, _), (w, h), _ = cv2.minAreaRect(approx)
        if w * h > 0 and cv2.contourArea(approx) / (w * h) >= RECT_FILL:
            return "square" if min(w, h) / max(w, h) >= SQUARE_RATIO else "rectangle"
        return "quadrilateral"
    return {3: "triangle", 5: "pentagon", 6: "hexagon"}.get(corners, "polygon")


@operation("detect.shapes", title="Detect shapes", menu="Analyze/Detect")
def shapes(
    image: Image,
    *,
    epsilon: Annotated[float, Range(0.001, 0.2, step=0.005)] = 0.02,
    min_area: Annotated[int, Range(1, 1_000_000)] = 64,
) -> Boxes:
    """Find flat shapes on a plain background and name them (triangle, square, circle...).

    The foreground is every pixel whose colour differs from the background's (the median
    colour of the image border) by more than 16 levels of 8 bits in some channel, and by
    more than the border's own noise (its median difference plus six robust standard
    deviations). Each outer contour (``cv2.findContours``) is a circle when it fills at least
    90 % of its smallest enclosing circle; otherwise it is simplified with ``cv2.approxPolyDP`` (tolerance
    ``epsilon`` × its perimeter) and named by its number of corners: 3 triangle, 4 square or
    rectangle (filling ≥ 90 % of its rotated bounding rectangle; square when the sides' ratio
    is ≥ 0.9; any other four-sided shape "quadrilateral"), 5 pentagon, 6 hexagon, more
    "polygon". Touching shapes merge into one.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Shapes of any colour on a background of one colour.
    epsilon : float
        Simplification tolerance as a fraction of each contour's perimeter: larger merges
        more corners (a rounded square stays a square), smaller keeps more (a rough edge
        adds corners).
    min_area : int
        Contours enclosing a smaller area (``cv2.contourArea``, in pixels) are ignored
        (noise, specks).

    Returns
    -------
    Boxes
        The bounding box of each shape (``x1``, ``y1`` exclusive) labelled with its name,
        scores 1, in reading order (top to bottom, then left to right).
    """
    import cv2

    image = check_image(image)
    mask = _foreground(image)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    found = []
    for contour in contours:
        if cv2.contourArea(contour) < min_area:
            continue
        x, y, w, h = cv2.boundingRect(contour)
        found.append(((y, x), (x, y, x + w, y + h), shape_label(contour, epsilon)))
    found.sort(key=lambda item: item[0])
    return Boxes(np.array([box for _, box, _ in found], dtype=float).reshape(-1, 4), None,
                 [label for _, _, label in found])
