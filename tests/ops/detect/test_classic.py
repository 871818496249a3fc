"""detect.hog_people, detect.haar, detect.barcode and detect.shapes (imgstudio.ops.detect.classic).

References: OpenCV called directly with the same settings plus a greedy non-max suppression
written here (HOG), ``detectMultiScale`` (Haar) and Eileen Collins' face and eyes on
``skimage.data.astronaut()`` (read by eye, see tests/ops/faces/helpers.py), codes made here
(``cv2.QRCodeEncoder``; an EAN-13 encoder from the standard's tables), shapes drawn at known
places. scikit-image ships no photo of a standing person, so the people detector is checked on
drawn silhouettes (head, torso, arms, legs) it finds with SVM margins above 2.
"""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest
import skimage.data

import imgstudio.api as api
from imgstudio.core.progress import Cancelled, Progress
from imgstudio.core.types import Boxes
from imgstudio.ops.detect.classic import CASCADES, Codes, iou

# her face (cheeks x 180-272, hairline y 75 to chin y 183) and eye centres, read by eye
FACE_BOX = np.array([180.0, 75.0, 272.0, 183.0])
EYES = [(203.0, 101.0), (247.0, 104.0)]


@pytest.fixture(scope="module")
def astro() -> np.ndarray:
    return skimage.data.astronaut()


def variants(image: np.ndarray) -> dict[str, np.ndarray]:
    """The same picture as uint16, float32, grey and RGBA."""
    out = {"uint16": image.astype(np.uint16) * np.uint16(257),
           "float32": image.astype(np.float32) / np.float32(255)}
    if image.ndim == 3:
        out["gray"] = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        out["rgba"] = np.dstack([image, np.full(image.shape[:2], 255, np.uint8)])
    return out


def contains(box, point) -> bool:
    return box[0] <= point[0] < box[2] and box[1] <= point[1] < box[3]


def area(box) -> float:
    return float(max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1]))


def intersection(a, b) -> float:
    return area((max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])))


# -- detect.hog_people ------------------------------------------------------------------------

def silhouette(mask: np.ndarray, x: int, y: int, h: int) -> None:
    """A standing figure ``h`` px tall with its head's top at ``y`` and its axis at ``x + h/5``,
    drawn (255) on ``mask``: head, neck, torso, arms hanging, two legs."""
    s = h / 100.0
    cx = x + int(20 * s)

    def poly(points):
        cv2.fillPoly(mask, [np.array([(cx + int(dx * s), y + int(dy * s)) for dx, dy in points])],
                     255)

    cv2.ellipse(mask, (cx, y + int(8 * s)), (int(6 * s), int(8 * s)), 0, 0, 360, 255, -1)
    poly([(-3, 15), (3, 15), (3, 19), (-3, 19)])
    poly([(-11, 19), (11, 19), (9, 55), (-9, 55)])
    for side in (-1, 1):
        poly([(side * 11, 19), (side * 15, 50), (side * 11, 52), (side * 8, 25)])
        poly([(side * 1, 54), (side * 9, 54), (side * 10, 100), (side * 3, 100)])


@pytest.fixture(scope="module")
def people():
    """Two dark figures (100 and 150 px tall) on a light background, and their extents."""
    figures = []
    image = np.full((240, 320), 200, np.uint8)
    for x, y, h in ((40, 50, 100), (200, 30, 150)):
        mask = np.zeros_like(image)
        silhouette(mask, x, y, h)
        ys, xs = np.nonzero(mask)
        figures.append(np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], float))
        image[mask > 0] = 40
    image = cv2.GaussianBlur(image, (3, 3), 0)
    return np.dstack([image] * 3), figures


def greedy_nms(xyxy: np.ndarray, scores: np.ndarray, threshold: float) -> list[int]:
    """Indices kept by the textbook greedy NMS: best first, dropping boxes whose IoU with a
    kept one is above ``threshold``."""
    kept: list[int] = []
    for i in np.argsort(-scores, kind="stable"):
        if all(iou(xyxy[i], xyxy[j]) <= threshold for j in kept):
            kept.append(int(i))
    return kept


def raw_hog(image: np.ndarray, stride: int = 8, scale: float = 1.05):
    hog = cv2.HOGDescriptor()
    hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
    rects, weights = hog.detectMultiScale(image, winStride=(stride, stride), scale=scale,
                                          groupThreshold=0)
    rects = np.asarray(rects, float).reshape(-1, 4)
    xyxy = np.column_stack([rects[:, :2], rects[:, :2] + rects[:, 2:]])
    return xyxy, np.asarray(weights, float).ravel()


def test_hog_people_finds_each_drawn_figure_once(people):
    image, figures = people
    boxes = api.run("detect.hog_people", image)
    assert len(boxes) == 2 and boxes.labels == ["person", "person"]
    assert np.all(boxes.scores > 2.0)  # measured 2.83 and 2.18
    for figure in figures:
        box = next(b for b in boxes.xyxy if contains(b, (figure[[0, 2]].mean(),
                                                         figure[[1, 3]].mean())))
        # the figure lies inside its box, which holds OpenCV's margin (64×128 around ~40×96)
        assert intersection(box, figure) >= 0.95 * area(figure)
        assert area(box) <= 4 * area(figure)


def test_hog_people_equals_opencv_and_greedy_nms(people):
    image, _ = people
    xyxy, weights = raw_hog(image)
    assert len(xyxy) > 10  # overlapping windows on every figure: NMS has work to do
    kept = greedy_nms(xyxy, weights, 0.3)
    boxes = api.run("detect.hog_people", image)
    np.testing.assert_allclose(boxes.xyxy, xyxy[kept])
    np.testing.assert_allclose(boxes.scores, weights[kept])
    for i in range(len(boxes)):
        for j in range(i):
            assert iou(boxes.xyxy[i], boxes.xyxy[j]) <= 0.3


def test_hog_people_nms_threshold_and_settings_reach_opencv(people):
    image, _ = people
    xyxy, weights = raw_hog(image, stride=4, scale=1.1)
    every = api.run("detect.hog_people", image, win_stride=4, scale=1.1, nms_threshold=1.0)
    order = np.argsort(-weights, kind="stable")
    np.testing.assert_allclose(every.xyxy, xyxy[order])  # nothing suppressed
    loose = api.run("detect.hog_people", image, win_stride=4, scale=1.1, nms_threshold=0.6)
    assert len(loose) == len(greedy_nms(xyxy, weights, 0.6))
    strong = api.run("detect.hog_people", image, threshold=2.5)
    assert len(strong) == 1 and strong.scores[0] >= 2.5


@pytest.mark.parametrize("shape", [(200, 200, 3), (48, 64, 3), (127, 300), (300, 63)])
def test_hog_people_on_a_blank_or_small_image_gives_no_boxes(shape):
    boxes = api.run("detect.hog_people", np.full(shape, 128, np.uint8))
    assert isinstance(boxes, Boxes) and boxes.xyxy.shape == (0, 4)


def test_hog_people_accepts_every_image_kind(people):
    image, _ = people
    expected = api.run("detect.hog_people", image).xyxy
    for name, other in variants(image).items():
        np.testing.assert_allclose(api.run("detect.hog_people", other).xyxy, expected,
                                   err_msg=name)


def test_hog_people_cancel(people):
    token = Progress()
    token.cancel()
    with pytest.raises(Cancelled):
        api.run("detect.hog_people", people[0], progress=token)


def test_hog_people_bad_params(people):
    for name, value in (("win_stride", 0), ("scale", 1.0), ("nms_threshold", 1.5),
                        ("threshold", -1.0)):
        with pytest.raises(ValueError, match=name):
            api.run("detect.hog_people", people[0], **{name: value})


# -- detect.haar ------------------------------------------------------------------------------

def test_haar_finds_her_face_and_her_eyes_inside_it(astro):
    faces = api.run("detect.haar", astro)
    assert len(faces) == 1 and faces.labels == ["face"]
    assert iou(faces.xyxy[0], FACE_BOX) >= 0.5  # measured 0.72
    eyes = api.run("detect.haar", astro, cascade="eye")
    assert len(eyes) == 2 and eyes.labels == ["eye", "eye"]
    face = faces.xyxy[0]
    for box in eyes.xyxy:
        assert face[0] <= box[0] and box[2] <= face[2] and face[1] <= box[1] and box[3] <= face[3]
    assert sorted(next(k for k, e in enumerate(EYES) if contains(b, e)) for b in eyes.xyxy) == [
        0, 1]  # one box on each eye


@pytest.mark.parametrize("cascade", ["face", "eye", "smile", "profile_face"])
def test_haar_gives_the_boxes_of_detect_multi_scale(astro, cascade):
    grey = cv2.cvtColor(astro, cv2.COLOR_RGB2GRAY)
    classifier = cv2.CascadeClassifier(os.path.join(cv2.data.haarcascades, CASCADES[cascade]))
    for factor, neighbours in ((1.1, 5), (1.2, 2)):
        rects = np.asarray(classifier.detectMultiScale(grey, scaleFactor=factor,
                                                       minNeighbors=neighbours)).reshape(-1, 4)
        expected = sorted(tuple(map(float, (x, y, x + w, y + h))) for x, y, w, h in rects)
        boxes = api.run("detect.haar", astro, cascade=cascade, scale_factor=factor,
                        min_neighbors=neighbours)
        assert sorted(map(tuple, boxes.xyxy.tolist())) == expected
        assert list(boxes.scores) == sorted(boxes.scores, reverse=True)


def test_haar_offers_every_cascade_opencv_ships():
    shipped = {f for f in os.listdir(cv2.data.haarcascades) if f.endswith(".xml")}
    assert set(CASCADES.values()) == shipped and len(shipped) == 17
    spec = api.get_operation("detect.haar")
    assert set(spec.param("cascade").choices) == set(CASCADES)
    blank = np.full((64, 64), 90, np.uint8)
    for name in CASCADES:  # every file loads and runs
        assert len(api.run("detect.haar", blank, cascade=name)) == 0


def test_haar_accepts_every_image_kind(astro):
    for name, image in variants(astro).items():
        boxes = api.run("detect.haar", image)
        assert len(boxes) == 1 and iou(boxes.xyxy[0], FACE_BOX) >= 0.5, name


def test_haar_bad_params(astro):
    for name, value in (("cascade", "nose"), ("scale_factor", 1.0), ("min_neighbors", -1)):
        with pytest.raises(ValueError, match=name):
            api.run("detect.haar", astro, **{name: value})


# -- detect.barcode ---------------------------------------------------------------------------

# EAN-13 (ISO/IEC 15420): L codes of the digits, R = their complement, G = R reversed; the
# first digit picks the L/G pattern of the left six digits
EAN_L = ["0001101", "0011001", "0010011", "0111101", "0100011",
         "0110001", "0101111", "0111011", "0110111", "0001011"]
EAN_R = ["".join("1" if c == "0" else "0" for c in code) for code in EAN_L]
EAN_G = [code[::-1] for code in EAN_R]
EAN_FIRST = ["LLLLLL", "LLGLGG", "LLGGLG", "LLGGGL", "LGLLGG",
             "LGGLLG", "LGGGLL", "LGLGLG", "LGLGGL", "LGGLGL"]


def ean13(digits: str) -> tuple[str, str]:
    """The 13-digit code (check digit added) of 12 digits and its 95 modules ("1" = bar)."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits))
    code = digits + str(-total % 10)
    left = "".join((EAN_L if p == "L" else EAN_G)[int(d)]
                   for d, p in zip(code[1:7], EAN_FIRST[int(code[0])], strict=True))
    right = "".join(EAN_R[int(d)] for d in code[7:])
    return code, "101" + left + "01010" + right + "101"


def render_bars(modules: str, module: float, height: int) -> np.ndarray:
    """Bars of ``module`` px (fractional widths antialiased, as a camera sees them) with a
    quiet zone of 11 modules, black on white, uint8."""
    fine = 8
    row = np.array([0 if m == "1" else 255 for m in modules], np.uint8)
    sharp = np.pad(np.repeat(row, fine)[None].repeat(height * fine // 2, 0), 11 * fine,
                   constant_values=255)
    size = (round(sharp.shape[1] * module / fine), round(sharp.shape[0] * module / fine))
    return cv2.resize(sharp, size, interpolation=cv2.INTER_AREA)


def test_ean13_encoder_matches_the_standard_example():
    code, modules = ean13("400638133393")  # the standard's example, check digit 1
    assert code == "4006381333931" and len(modules) == 95
    assert modules.startswith("101" + EAN_L[0]) and modules.endswith(EAN_R[1] + "101")


@pytest.fixture(scope="module")
def qr():
    text = "imgstudio: hello, QR!"
    matrix = cv2.QRCodeEncoder.create().encode(text)  # includes a quiet zone
    return text, cv2.resize(matrix, None, fx=4, fy=4, interpolation=cv2.INTER_NEAREST)


def test_barcode_reads_a_qr_code_exactly(qr):
    text, image = qr
    canvas = np.full((200, 260), 255, np.uint8)
    canvas[30:30 + image.shape[0], 50:50 + image.shape[1]] = image
    codes = api.run("detect.barcode", np.dstack([canvas] * 3))
    assert isinstance(codes, Codes)
    assert codes.values == [text] and codes.kinds == ["QR_CODE"] and codes.boxes.labels == [text]
    ys, xs = np.nonzero(canvas < 128)  # the dark modules span the code
    drawn = np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], float)
    assert iou(codes.boxes.xyxy[0], drawn) >= 0.9
    assert codes.text.text == text and codes.text.items[0][1] == tuple(codes.boxes.xyxy[0])


@pytest.mark.parametrize("module", [1.5, 2.5, 3.3])
def test_barcode_reads_an_ean13_exactly(module):
    code, modules = ean13("590123412345")
    bars = render_bars(modules, module, 60)
    canvas = np.full((bars.shape[0] + 40, bars.shape[1] + 60), 255, np.uint8)
    canvas[20:20 + bars.shape[0], 30:30 + bars.shape[1]] = bars
    codes = api.run("detect.barcode", canvas)
    assert codes.values == [code] and codes.kinds == ["EAN_13"]
    ys, xs = np.nonzero(canvas < 128)
    drawn = np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], float)
    box = codes.boxes.xyxy[0]
    assert contains(box, ((drawn[0] + drawn[2]) / 2, (drawn[1] + drawn[3]) / 2))
    assert iou(box, drawn) >= 0.5  # OpenCV's box is loose across the bars (measured ≥ 0.6)


def test_barcode_reads_a_sharp_generated_barcode_through_its_blur_pass():
    code, modules = ean13("400638133393")
    row = np.array([0 if m == "1" else 255 for m in modules], np.uint8)
    sharp = np.pad(np.repeat(row, 4)[None].repeat(160, 0), 44, constant_values=255)
    # OpenCV alone misses perfectly sharp 4-px bars; the op's blurred passes find them
    assert cv2.barcode.BarcodeDetector().detectAndDecodeWithType(sharp)[1] == ()
    codes = api.run("detect.barcode", sharp)
    assert codes.values == [code] and codes.kinds == ["EAN_13"]


def test_barcode_reads_both_codes_of_one_image_in_reading_order(qr):
    text, image = qr
    code, modules = ean13("400638133393")
    bars = render_bars(modules, 2.5, 60)
    canvas = np.full((340, 400), 255, np.uint8)
    canvas[10:10 + image.shape[0], 10:10 + image.shape[1]] = image
    canvas[200:200 + bars.shape[0], 40:40 + bars.shape[1]] = bars
    codes = api.run("detect.barcode", canvas)
    assert codes.values == [text, code] and codes.kinds == ["QR_CODE", "EAN_13"]
    assert len(codes.boxes) == 2 and codes.boxes.xyxy[0][3] < codes.boxes.xyxy[1][1]


def test_barcode_accepts_every_image_kind(qr):
    text, image = qr
    rgb = np.dstack([np.pad(image, 20, constant_values=255)] * 3)
    for name, other in variants(rgb).items():
        assert api.run("detect.barcode", other).values == [text], name


def test_barcode_on_noise_finds_nothing():
    noise = np.random.default_rng(0).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    for image in (noise, np.full((50, 50), 255, np.uint8)):
        codes = api.run("detect.barcode", image)
        assert codes.values == [] and codes.kinds == [] and codes.boxes.xyxy.shape == (0, 4)


def test_barcode_bad_input():
    with pytest.raises(ValueError, match="image"):
        api.run("detect.barcode", np.zeros((10, 10, 2), np.uint8))
    with pytest.raises(ValueError, match="unknown parameter"):
        api.run("detect.barcode", np.zeros((10, 10), np.uint8), kind="qr")


# -- detect.shapes ----------------------------------------------------------------------------

def regular(cx: float, cy: float, radius: float, n: int, angle: float) -> np.ndarray:
    """Integer corners of a regular ``n``-gon (first corner at ``angle`` radians)."""
    a = angle + np.arange(n) * 2 * np.pi / n
    return np.stack([cx + radius * np.cos(a), cy + radius * np.sin(a)], 1).round().astype(
        np.int32)


def rectangle(cx, cy, w, h, degrees) -> np.ndarray:
    return np.round(cv2.boxPoints(((cx, cy), (w, h), degrees))).astype(np.int32)


def drawn_scene(background=(235, 235, 235), rotate=0.0):
    """One of each shape (its own colour) at a known place and its drawn extent."""
    image = np.full((210, 330, 3), background, np.uint8)
    r = np.deg2rad(rotate)
    polygons = {
        "triangle": regular(55, 55, 38, 3, -np.pi / 2 + r),
        "square": rectangle(150, 52, 62, 62, rotate),
        "rectangle": rectangle(260, 55, 100, 50, rotate),
        "pentagon": regular(55, 155, 40, 5, -np.pi / 2 + r),
        "hexagon": regular(270, 155, 40, 6, r),
    }
    colours = [(200, 30, 30), (30, 160, 30), (30, 30, 200), (180, 120, 0), (0, 90, 90)]
    truth = {}
    for (name, points), colour in zip(polygons.items(), colours, strict=True):
        cv2.fillPoly(image, [points], colour)
        truth[name] = points
    cv2.circle(image, (160, 158), 38, (120, 0, 160), -1)
    truth["circle"] = np.array([[122, 120], [198, 196]])
    boxes = {name: np.array([p[:, 0].min(), p[:, 1].min(), p[:, 0].max() + 1,
                             p[:, 1].max() + 1], float) for name, p in truth.items()}
    return image, boxes


def check_scene(found: Boxes, truth: dict[str, np.ndarray]) -> None:
    assert len(found) == len(truth)
    for name, box in truth.items():
        best = max(range(len(found)), key=lambda i: iou(found.xyxy[i], box))
        assert found.labels[best] == name
        assert iou(found.xyxy[best], box) >= 0.9, name


def test_shapes_names_and_boxes_every_drawn_shape():
    image, truth = drawn_scene()
    found = api.run("detect.shapes", image)
    check_scene(found, truth)
    assert set(found.labels) >= {"triangle", "square", "rectangle", "pentagon", "circle"}
    # reading order: the top row first
    assert found.labels[:3] == ["triangle", "square", "rectangle"]


@pytest.mark.parametrize("degrees", [20.0, 35.0])
def test_shapes_names_rotated_shapes(degrees):
    image, truth = drawn_scene(rotate=degrees)
    check_scene(api.run("detect.shapes", image), truth)


def test_shapes_on_a_dark_or_noisy_background_and_every_image_kind():
    image, truth = drawn_scene(background=(20, 20, 40))
    check_scene(api.run("detect.shapes", image), truth)
    image, truth = drawn_scene()
    noise = np.random.default_rng(1).normal(0, 6, image.shape)
    check_scene(api.run("detect.shapes", np.clip(image + noise, 0, 255).astype(np.uint8)), truth)
    light, truth = drawn_scene()
    for name, other in variants(light).items():
        if name != "gray":  # grey loses the colour contrast of some shapes; see below
            check_scene(api.run("detect.shapes", other), truth)
    grey = np.full((100, 200), 255, np.uint8)
    cv2.fillPoly(grey, [regular(50, 50, 35, 3, -np.pi / 2)], 0)
    cv2.circle(grey, (150, 50), 35, 90, -1)
    assert api.run("detect.shapes", grey).labels == ["triangle", "circle"]


def test_shapes_names_other_quadrilaterals_and_skips_specks():
    image = np.full((120, 200, 3), 255, np.uint8)
    rhombus = np.array([[50, 10], [90, 60], [50, 110], [10, 60]], np.int32)  # not a rectangle
    cv2.fillPoly(image, [rhombus], (0, 0, 0))
    image[20:23, 150:153] = 0  # a 9-px speck
    found = api.run("detect.shapes", image)
    assert found.labels == ["quadrilateral"]
    assert len(api.run("detect.shapes", image, min_area=1)) == 2


def test_shapes_epsilon_trades_corners():
    image = np.full((120, 120), 255, np.uint8)
    cv2.fillPoly(image, [regular(60, 60, 45, 6, 0)], 0)
    assert api.run("detect.shapes", image).labels == ["hexagon"]
    # a tolerance of 10 % of the perimeter cuts corners: fewer than six are left
    assert api.run("detect.shapes", image, epsilon=0.1).labels != ["hexagon"]


def test_shapes_blank_image_gives_no_boxes():
    for image in (np.full((40, 60, 3), 200, np.uint8), np.zeros((40, 60), np.float32)):
        assert api.run("detect.shapes", image).xyxy.shape == (0, 4)


def test_shapes_bad_params():
    image, _ = drawn_scene()
    for name, value in (("epsilon", 0.0), ("epsilon", 0.5), ("min_area", 0)):
        with pytest.raises(ValueError, match=name):
            api.run("detect.shapes", image, **{name: value})
