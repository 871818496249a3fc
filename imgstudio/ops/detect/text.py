"""detect.text: read text with PP-OCR (rapidocr), Tesseract, or EAST boxes read by PP-OCR.

- ``ppocr``: the PP-OCR detection, direction and recognition models that rapidocr 3.10 ships
  (store names ``ppocr-det``, ``ppocr-cls``, ``ppocr-rec``), located and sha256-checked by the
  model store and handed to rapidocr by path, so the checked files are the ones that run.
- ``tesseract``: the Tesseract program (Debian's ``tesseract-ocr``) through pytesseract.
- ``east``: OpenCV's ``TextDetectionModel_EAST`` on the user's
  ``frozen_east_text_detection.pb``; EAST only finds boxes, each is then read by the PP-OCR
  recognition model.

rapidocr, pytesseract and OpenCV are imported inside the functions.
"""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path
from typing import Any, Literal

import numpy as np

from imgstudio.core.editor import Editor
from imgstudio.core.errors import MissingExtraError
from imgstudio.core.progress import Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import Image, Text, check_image
from imgstudio.ops._params import user_path
from imgstudio.ops._pixels import rgb_uint8, token

Engine = Literal["ppocr", "tesseract", "east"]
ENGINES = ("ppocr", "tesseract", "east")
PPOCR_MODELS = {"Det": "ppocr-det", "Cls": "ppocr-cls", "Rec": "ppocr-rec"}
TESSERACT_INSTALL = "sudo apt-get install tesseract-ocr (other languages: tesseract-ocr-LANG)"
#: EAST's input is the image rounded to multiples of 32, its longer side at most this.
EAST_MAX_SIDE = 1280
#: EAST boxes scoring below this are dropped; overlapping ones merged above this IoU.
EAST_CONFIDENCE, EAST_NMS = 0.5, 0.4
#: ImageNet RGB means EAST was trained with (OpenCV's sample values).
EAST_MEAN = (123.68, 116.78, 103.94)

Box = tuple[float, float, float, float]


# -- PP-OCR -----------------------------------------------------------------------------------

def _ppocr(progress: Progress) -> tuple[Any, Any]:
    """The cached rapidocr engine built on the store's checked PP-OCR files, and its lock."""
    from imgstudio.models import loading, store

    # first the package (its absence is a missing extra, not a missing model), then its files
    if "rapidocr" not in sys.modules:
        progress(0.0, "loading rapidocr…")
    rapidocr = loading.require("rapidocr", "detect.text (engine='ppocr')")
    located = {section: store.find(name) for section, name in PPOCR_MODELS.items()}
    key = ("detect.text", "ppocr") + tuple(loc.info.sha256 for loc in located.values())

    def build() -> Any:
        progress(0.0, "loading model ppocr (PP-OCR)…")
        params: dict[str, Any] = {f"{section}.model_path": str(loc.path)
                                  for section, loc in located.items()}
        params.update({
            "Global.log_level": "error",  # rapidocr logs every model load at INFO to stderr
            "EngineConfig.onnxruntime.intra_op_num_threads": loading.torch_threads(),
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        })
        return rapidocr.RapidOCR(params=params)

    engine, lock, _ = store.cached(key, build)
    return engine, lock


def _quad_box(points: np.ndarray, shape: tuple[int, ...]) -> Box:
    pts = np.asarray(points, dtype=float).reshape(-1, 2)
    h, w = shape[:2]
    return (float(np.clip(pts[:, 0].min(), 0, w)), float(np.clip(pts[:, 1].min(), 0, h)),
            float(np.clip(pts[:, 0].max(), 0, w)), float(np.clip(pts[:, 1].max(), 0, h)))


def _read_ppocr(rgb: np.ndarray, progress: Progress) -> list[tuple[str, Box]]:
    engine, lock = _ppocr(progress)
    progress.check()
    progress(0.1, "reading text (PP-OCR)")
    bgr = np.ascontiguousarray(rgb[..., ::-1])  # rapidocr takes arrays as OpenCV's BGR
    with lock:
        result = engine(bgr, use_det=True, use_cls=True, use_rec=True)
    progress.check()
    boxes, txts = getattr(result, "boxes", None), getattr(result, "txts", None)
    if boxes is None or txts is None:
        return []
    items = [(str(t).strip(), _quad_box(b, rgb.shape)) for b, t in zip(boxes, txts, strict=True)]
    return reading_order([(t, b) for t, b in items if t])


def _recognise(engine: Any, rgb: np.ndarray, corners: np.ndarray) -> str:
    """PP-OCR recognition of the quadrilateral ``corners`` (tl, tr, br, bl) of ``rgb``."""
    import cv2

    width = int(round(max(np.linalg.norm(corners[1] - corners[0]),
                          np.linalg.norm(corners[2] - corners[3]))))
    height = int(round(max(np.linalg.norm(corners[3] - corners[0]),
                           np.linalg.norm(corners[2] - corners[1]))))
    if width < 2 or height < 2:
        return ""
    target = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)
    matrix = cv2.getPerspectiveTransform(corners.astype(np.float32), target)
    crop = cv2.warpPerspective(rgb, matrix, (width, height), flags=cv2.INTER_CUBIC,
                               borderMode=cv2.BORDER_REPLICATE)
    result = engine(np.ascontiguousarray(crop[..., ::-1]), use_det=False, use_cls=False,
                    use_rec=True)
    txts = getattr(result, "txts", None) or ()
    return " ".join(str(t).strip() for t in txts if str(t).strip())


# -- Tesseract --------------------------------------------------------------------------------

def _read_tesseract(rgb: np.ndarray, model: Path | None, progress: Progress) -> list[tuple[str, Box]]:
    from imgstudio.models import loading

    pytesseract = loading.require("pytesseract", "detect.text (engine='tesseract')",
                                  "pip install pytesseract")
    command = pytesseract.pytesseract.tesseract_cmd
    if shutil.which(command) is None:
        raise MissingExtraError(
            f"detect.text (engine='tesseract') needs the tesseract program, which is not "
            f"installed ({command!r} not found); install it with: {TESSERACT_INSTALL}",
            command=TESSERACT_INSTALL)
    config, lang = "", "eng"
    if model is not None:
        if model.suffix != ".traineddata" or not model.is_file():
            raise ValueError(f"model: for engine='tesseract', a Tesseract .traineddata file; "
                             f"got {model}")
        config, lang = f"--tessdata-dir {shlex.quote(str(model.parent))}", model.stem
    progress(0.1, "reading text (Tesseract)")
    try:
        data = pytesseract.image_to_data(rgb, lang=lang, config=config,
                                         output_type=pytesseract.Output.DICT)
    except pytesseract.TesseractError as exc:
        raise ValueError(f"model: tesseract failed ({exc.message.strip().splitlines()[-1]})"
                         if model is not None else f"tesseract failed: {exc.message}") from None
    progress.check()
    lines: dict[tuple[int, int, int], list[tuple[str, Box]]] = {}
    for i, word in enumerate(data["text"]):
        word = str(word).strip()
        if data["level"][i] != 5 or not word:
            continue
        x, y, w, h = (int(data[k][i]) for k in ("left", "top", "width", "height"))
        line = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
        lines.setdefault(line, []).append((word, (float(x), float(y), float(x + w), float(y + h))))
    out = []
    for words in lines.values():  # Tesseract's own order: blocks, paragraphs, lines
        boxes = np.array([b for _, b in words])
        out.append((" ".join(w for w, _ in words),
                    (float(boxes[:, 0].min()), float(boxes[:, 1].min()),
                     float(boxes[:, 2].max()), float(boxes[:, 3].max()))))
    return out


# -- EAST -------------------------------------------------------------------------------------

def east_input_size(shape: tuple[int, ...]) -> tuple[int, int]:
    """EAST's input (width, height): the image's, scaled to a longer side ≤ 1280 and rounded
    to multiples of 32 (at least 32)."""
    h, w = shape[:2]
    scale = min(1.0, EAST_MAX_SIDE / max(h, w))
    return (max(32, int(round(w * scale / 32)) * 32), max(32, int(round(h * scale / 32)) * 32))


def _east(model: Path | None, progress: Progress) -> tuple[Any, Any]:
    from imgstudio.models import store

    if model is None:
        raise ValueError("model: engine='east' needs the EAST model file "
                         "(frozen_east_text_detection.pb, or an ONNX export of it)")
    if not model.is_file():
        raise ValueError(f"model: file not found: {model}")
    key = ("detect.text", "east", str(model.resolve()), store.sha256_of(model))

    def build() -> Any:
        import cv2

        progress(0.0, f"loading model {model.name}…")
        try:
            net = cv2.dnn.TextDetectionModel_EAST(str(model))
        except Exception as exc:  # cv2.error, or a SystemError wrapping it
            detail = str(exc.__cause__ or exc).strip().splitlines()
            raise ValueError(f"model: OpenCV cannot read {model} as an EAST network"
                             + (f" ({detail[-1]})" if detail else "")) from None
        net.setConfidenceThreshold(EAST_CONFIDENCE)
        net.setNMSThreshold(EAST_NMS)
        return net

    net, lock, _ = store.cached(key, build)
    return net, lock


def _read_east(rgb: np.ndarray, model: Path | None, progress: Progress) -> list[tuple[str, Box]]:
    import cv2

    net, lock = _east(model, progress)
    progress.check()
    progress(0.1, "finding text (EAST)")
    with lock:
        # the network was trained on RGB with ImageNet means; our image is RGB already
        net.setInputParams(1.0, east_input_size(rgb.shape), EAST_MEAN, False)
        try:
            rects, _ = net.detectTextRectangles(rgb)
        except cv2.error as exc:
            raise ValueError(f"model: {Path(model).name} is not an EAST network (it must output "
                             f"geometry (1, 5, H/4, W/4) and scores (1, 1, H/4, W/4)): "
                             f"{str(exc).strip().splitlines()[-1]}") from None
    progress.check()
    if not len(rects):
        return []
    engine, ocr_lock = _ppocr(progress)
    found = []
    for i, rect in enumerate(rects):
        progress(0.3 + 0.7 * i / len(rects), f"reading box {i + 1} of {len(rects)}")
        bl, tl, tr, br = cv2.boxPoints(rect)  # OpenCV's order: bottom-left first, clockwise
        corners = np.array([tl, tr, br, bl], np.float64)
        with ocr_lock:
            string = _recognise(engine, rgb, corners)
        found.append((string, _quad_box(corners, rgb.shape)))
    return reading_order(found)


# -- reading order ----------------------------------------------------------------------------

def reading_order(items: list[tuple[str, Box]]) -> list[tuple[str, Box]]:
    """Items sorted into lines (top to bottom), each line left to right.

    A box joins the line of the box above it in the sort when its vertical centre lies within
    that line's first box's rows.
    """
    rest = sorted(items, key=lambda it: ((it[1][1] + it[1][3]) / 2, it[1][0]))
    out: list[tuple[str, Box]] = []
    while rest:
        first = rest[0]
        top, bottom = first[1][1], first[1][3]
        line = [it for it in rest if top <= (it[1][1] + it[1][3]) / 2 <= bottom]
        line = line or [first]
        rest = [it for it in rest if all(it is not other for other in line)]
        out.extend(sorted(line, key=lambda it: it[1][0]))
    return out


# -- the operation ----------------------------------------------------------------------------

@operation("detect.text", title="Read text (OCR)", menu="Analyze/Detect", editor=Editor(preview="apply"))
def text(
    image: Image,
    *,
    engine: Engine = "ppocr",
    model: Path | None = None,
    progress: Progress | None = None,
) -> Text:
    """Find and read lines of text; each comes with its box.

    The engines see an 8-bit RGB copy of the image (gray repeated, alpha dropped).

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image.
    engine : {"ppocr", "tesseract", "east"}
        ``ppocr``: PP-OCRv6 text detection (DB), direction classifier and recognition, the
        ONNX models rapidocr 3.10 ships (multilingual Latin, Chinese, Japanese), checked by the
        model store. ``tesseract``: the Tesseract program (``apt-get install tesseract-ocr``),
        English unless ``model`` says otherwise; lines in Tesseract's layout order (columns
        kept apart). ``east``: your EAST detector finds the text boxes (confidence 0.5, NMS
        0.4, image rounded to multiples of 32 px, longer side ≤ 1280) and PP-OCR's recognition
        model reads each box (an empty string when it reads nothing).
    model : pathlib.Path, optional
        ``east``: the network, required (``frozen_east_text_detection.pb`` from OpenCV's
        samples, or an ONNX export with the same two outputs). ``tesseract``: a language's
        ``.traineddata`` file (e.g. ``deu.traineddata``) used instead of English. Not used by
        ``ppocr`` (its models come from the store).
    progress : Progress, optional
        Progress ("loading model …" on first use) and cancellation between stages.

    Returns
    -------
    Text
        ``items``: ``(string, (x0, y0, x1, y1))`` per line of text, box in image pixels
        (axis-aligned, clipped to the image), in reading order: top to bottom, left to right
        within a line (Tesseract: its own layout order). No text gives no items.
    """
    image = check_image(image)
    progress = token(progress)
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}; got {engine!r}")
    if model is not None:
        model = user_path(model, "model")
        if engine == "ppocr":
            raise ValueError("model is used only with engine='east' (the EAST network) or "
                             "'tesseract' (a .traineddata file); ppocr's models come from the "
                             "model store")
    rgb = rgb_uint8(image)
    if engine == "ppocr":
        items = _read_ppocr(rgb, progress)
    elif engine == "tesseract":
        items = _read_tesseract(rgb, model, progress)
    else:
        items = _read_east(rgb, model, progress)
    progress(1.0, f"{len(items)} line(s) of text")
    return Text(items=items)
