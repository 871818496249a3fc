"""detect.text (imgstudio.ops.detect.text): text rendered here is read back exactly.

Lines are drawn with PIL in DejaVu Sans (Pillow's own scalable font where DejaVu is missing);
each line's ink box is measured from its own rendering, so a reported box can be checked to hold
its line. The EAST engine runs on a stand-in network written here (the real one is a 96 MB
download): its score and geometry maps are fixed arrays saying where the text is, so the test
checks the op's use of OpenCV's EAST decoder, the box scaling and the PP-OCR reading of the box.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage
from PIL import ImageDraw, ImageFont

import imgstudio.api as api
from imgstudio.core.errors import MissingExtraError, ModelNotFoundError
from imgstudio.core.progress import Progress
from imgstudio.core.types import Text
from imgstudio.models import store
from imgstudio.ops.detect.text import east_input_size, reading_order
from tests.ops.detect.onnx_writer import constant_onnx

DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def font(size: int = 28):
    if DEJAVU.is_file():
        return ImageFont.truetype(str(DEJAVU), size)
    return ImageFont.load_default(size=size)


def render(lines, size=(360, 150), size_pt: int = 28):
    """``lines`` = [(string, (x, y))] drawn black on white; the image and each line's ink box
    (x0, y0, x1, y1), ends exclusive."""
    canvas = PILImage.new("L", size, 255)
    ink = []
    for string, xy in lines:
        alone = PILImage.new("L", size, 255)
        ImageDraw.Draw(alone).text(xy, string, font=font(size_pt), fill=0)
        ImageDraw.Draw(canvas).text(xy, string, font=font(size_pt), fill=0)
        ys, xs = np.nonzero(np.asarray(alone) < 255)
        ink.append((xs.min(), ys.min(), xs.max() + 1, ys.max() + 1))
    grey = np.asarray(canvas)
    return np.ascontiguousarray(np.dstack([grey] * 3)), ink


def holds(box, ink, tolerance: float = 1.0) -> bool:
    """``box`` contains ``ink`` (give or take ``tolerance`` px of anti-aliasing)."""
    return (box[0] <= ink[0] + tolerance and box[1] <= ink[1] + tolerance
            and box[2] >= ink[2] - tolerance and box[3] >= ink[3] - tolerance)


def within(box, ink, margin: float) -> bool:
    """``box`` lies inside ``ink`` grown by ``margin`` px."""
    return (box[0] >= ink[0] - margin and box[1] >= ink[1] - margin
            and box[2] <= ink[2] + margin and box[3] <= ink[3] + margin)


LINES = [("Hello imgstudio", (20, 20)), ("OCR 2024 test", (20, 85))]


@pytest.fixture(scope="module")
def page():
    return render(LINES)


# -- ppocr --------------------------------------------------------------------------------------

def test_ppocr_reads_rendered_lines_exactly(page):
    image, ink = page
    result = api.run("detect.text", image)
    assert isinstance(result, Text)
    assert [s for s, _ in result.items] == [s for s, _ in LINES]
    assert result.text == "Hello imgstudio\nOCR 2024 test"
    for (_, box), line_ink in zip(result.items, ink, strict=True):
        # DB boxes are the text region grown by unclip_ratio 1.6: measured 6-14 px around
        assert holds(box, line_ink) and within(box, line_ink, 16), (box, line_ink)


def test_ppocr_gives_reading_order():
    # three words placed apart: two on one line, one below; listed out of order
    image, ink = render([("gamma", (30, 100)), ("beta", (250, 22)), ("alpha", (20, 20))])
    result = api.run("detect.text", image)
    assert [s for s, _ in result.items] == ["alpha", "beta", "gamma"]
    for (_, box), line_ink in zip(result.items, [ink[2], ink[1], ink[0]], strict=True):
        assert holds(box, line_ink)


def test_ppocr_reads_gray_and_float_images(page):
    image, _ = page
    for variant in (image[..., 0], image.astype(np.float32) / 255):
        assert [s for s, _ in api.run("detect.text", variant).items] == [s for s, _ in LINES]


def test_empty_image_gives_no_items():
    blank = np.full((80, 120, 3), 255, np.uint8)
    for engine in ("ppocr", "tesseract"):
        result = api.run("detect.text", blank, engine=engine)
        assert result.items == [] and result.text == ""


def test_reading_order_sorts_lines_then_columns():
    items = [("d", (5, 40, 20, 52)), ("b", (60, 12, 80, 30)), ("a", (0, 10, 40, 28)),
             ("c", (100, 14, 120, 26)), ("e", (50, 41, 90, 55))]
    assert [s for s, _ in reading_order(items)] == ["a", "b", "c", "d", "e"]
    assert reading_order([]) == []


def test_ppocr_uses_the_store_checked_files(tmp_path, monkeypatch):
    # copies imported into the user's folder are found first; they must be the files rapidocr
    # is given (not its own package copies)
    import rapidocr

    monkeypatch.setenv("IMGSTUDIO_MODELS", str(tmp_path / "models"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    store.forget()
    for name in ("ppocr-det", "ppocr-rec", "ppocr-cls"):
        store.import_file(store.find(name).path, name)
    given: list[dict] = []

    class Recording(rapidocr.RapidOCR):
        def __init__(self, config_path=None, params=None):
            given.append(dict(params))
            super().__init__(config_path, params)

    monkeypatch.setattr(rapidocr, "RapidOCR", Recording)
    messages: list[str] = []
    try:
        image, _ = render([("store", (10, 10))], size=(160, 60))
        result = api.run("detect.text", image, progress=Progress(lambda f, m: messages.append(m)))
        assert [s for s, _ in result.items] == ["store"]
        assert len(given) == 1
        for section, name in (("Det", "ppocr-det"), ("Rec", "ppocr-rec"), ("Cls", "ppocr-cls")):
            assert given[0][f"{section}.model_path"] == str(tmp_path / "models" / f"{name}.onnx")
        assert given[0]["Global.log_level"] == "error"
        assert any(m.startswith("loading model ppocr") for m in messages)
        messages.clear()
        api.run("detect.text", image, progress=Progress(lambda f, m: messages.append(m)))
        assert len(given) == 1 and not any(m.startswith("loading model") for m in messages)
    finally:
        store.forget()


def test_ppocr_refuses_a_model_file_that_fails_its_checksum(tmp_path, monkeypatch):
    # rapidocr's package folder replaced by one whose detection model has one byte changed
    real = store._package_folder("rapidocr")
    fake = tmp_path / "rapidocr"
    inside = store.manifest()["ppocr-det"].package["path"]
    (fake / inside).parent.mkdir(parents=True)
    data = bytearray((real / inside).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (fake / inside).write_bytes(bytes(data))
    monkeypatch.setattr(store, "_package_folder",
                        lambda module: fake if module == "rapidocr" else real)
    monkeypatch.setenv("IMGSTUDIO_MODELS", str(tmp_path / "models"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    store.forget()
    try:
        with pytest.raises(ModelNotFoundError, match="ppocr-det.*sha256") as info:
            api.run("detect.text", np.full((40, 40, 3), 255, np.uint8))
        assert info.value.name == "ppocr-det"
    finally:
        store.forget()


# -- tesseract ----------------------------------------------------------------------------------

def test_tesseract_reads_rendered_lines_exactly(page):
    image, ink = page
    result = api.run("detect.text", image, engine="tesseract")
    assert [s for s, _ in result.items] == [s for s, _ in LINES]
    for (_, box), line_ink in zip(result.items, ink, strict=True):
        assert holds(box, line_ink) and within(box, line_ink, 3), (box, line_ink)


def test_tesseract_with_a_traineddata_model(page, tmp_path):
    import pytesseract

    found = sorted(Path("/usr/share/tesseract-ocr").glob("*/tessdata/eng.traineddata"))
    if not found:
        pytest.skip("Debian's English Tesseract data is not where expected")
    mine = tmp_path / "my data" / "mine.traineddata"
    mine.parent.mkdir()
    shutil.copyfile(found[0], mine)
    image, _ = page
    result = api.run("detect.text", image, engine="tesseract", model=mine)
    assert [s for s, _ in result.items] == [s for s, _ in LINES]
    assert "mine" not in pytesseract.get_languages()  # it really came from the given folder
    with pytest.raises(ValueError, match="model"):
        api.run("detect.text", image, engine="tesseract", model=tmp_path / "none.traineddata")
    (tmp_path / "bad.traineddata").write_bytes(b"junk")
    with pytest.raises(ValueError, match="model"):
        api.run("detect.text", image, engine="tesseract", model=tmp_path / "bad.traineddata")


def test_tesseract_missing_program_names_the_apt_command(page, monkeypatch):
    import pytesseract

    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", "/nonexistent/tesseract")
    with pytest.raises(MissingExtraError, match="apt-get install tesseract-ocr") as info:
        api.run("detect.text", page[0], engine="tesseract")
    assert "apt-get" in info.value.command


# -- east ---------------------------------------------------------------------------------------

def test_east_boxes_are_scaled_back_and_read(tmp_path):
    # a 136 × 66 image goes in as 128 × 64, so the maps are 32 × 16 cells of 4 px; every cell
    # of the word says "the box is [x0, y0, x1, y1]" (EAST geometry: distances to the top,
    # right, bottom and left edges, angle 0), in input pixels
    image, ink = render([("EAST 42", (12, 16))], size=(136, 66))
    assert east_input_size(image.shape) == (128, 64)
    x0, y0, x1, y1 = ink[0][0] - 4, ink[0][1] - 4, ink[0][2] + 4, ink[0][3] + 4
    sx, sy = 128 / 136, 64 / 66
    scores = np.zeros((1, 1, 16, 32), np.float32)
    geometry = np.zeros((1, 5, 16, 32), np.float32)
    for row in range(int(y0 * sy) // 4 + 1, int(y1 * sy) // 4):
        for col in range(int(x0 * sx) // 4 + 1, int(x1 * sx) // 4):
            scores[0, 0, row, col] = 0.9
            ox, oy = col * 4.0, row * 4.0
            geometry[0, :4, row, col] = (oy - y0 * sy, x1 * sx - ox, y1 * sy - oy, ox - x0 * sx)
    model = constant_onnx(tmp_path / "east.onnx", {"geometry": geometry, "scores": scores},
                          input_shape=(1, 3, 64, 128))
    result = api.run("detect.text", image, engine="east", model=model)
    assert [s for s, _ in result.items] == ["EAST 42"]
    np.testing.assert_allclose(result.items[0][1], (x0, y0, x1, y1), atol=0.01)
    # no cell above the confidence threshold: nothing found, nothing read
    empty = constant_onnx(tmp_path / "none.onnx", {"geometry": geometry, "scores": scores * 0.5},
                          input_shape=(1, 3, 64, 128))
    assert api.run("detect.text", image, engine="east", model=empty).items == []


def test_east_input_size_rounds_to_32_and_caps_the_side():
    assert east_input_size((66, 136)) == (128, 64)
    assert east_input_size((10, 10, 3)) == (32, 32)
    assert east_input_size((2000, 4000)) == (1280, 640)


# -- errors -------------------------------------------------------------------------------------

def test_text_bad_params(tmp_path, page):
    image = page[0]
    with pytest.raises(ValueError, match="engine"):
        api.run("detect.text", image, engine="abbyy")
    with pytest.raises(ValueError, match="model"):
        api.run("detect.text", image, engine="east")
    with pytest.raises(ValueError, match="model"):
        api.run("detect.text", image, engine="east", model=tmp_path / "missing.pb")
    (tmp_path / "junk.pb").write_bytes(b"junk")
    with pytest.raises(ValueError, match="model"):
        api.run("detect.text", image, engine="east", model=tmp_path / "junk.pb")
    with pytest.raises(ValueError, match="model"):
        api.run("detect.text", image, engine="ppocr", model=tmp_path / "junk.pb")
