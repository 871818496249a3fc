"""faces.embed and faces.recognize (imgstudio.ops.faces.recognize): dlib face descriptors, a
gallery file and the tolerance.

The known answers (her face box, the cameraman) are explained in tests/ops/faces/helpers.py."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import skimage.data

import imgstudio.api as api
from imgstudio.core.io import save_image
from tests.ops.faces.helpers import iou, noise, similarity


@pytest.fixture(scope="module")
def cameraman_head() -> np.ndarray:
    """A 140² crop of the cameraman's head (his face is about 75 px wide)."""
    return np.ascontiguousarray(skimage.data.camera()[90:230, 150:290])


# -- faces.embed ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def her_vector(astro) -> np.ndarray:
    table = api.run("faces.embed", astro)
    return np.array(table.columns["embedding"][0])


@pytest.fixture(scope="module")
def his_vector(cameraman_head) -> np.ndarray:
    table = api.run("faces.embed", cameraman_head, detector="cnn")
    assert len(table) == 1
    return np.array(table.columns["embedding"][0])


def test_embed_table_has_one_row_per_face(astro):
    table = api.run("faces.embed", astro)
    assert set(table.columns) == {"face", "x0", "y0", "x1", "y1", "score", "embedding"}
    assert len(table) == 1 and len(table.columns["embedding"][0]) == 128
    box = [table.columns[k][0] for k in ("x0", "y0", "x1", "y1")]
    assert np.array_equal(box, api.run("faces.detect", astro).xyxy[0])
    empty = api.run("faces.embed", noise())
    assert len(empty) == 0 and "embedding" in empty.columns


def test_embed_same_person_is_closer_than_a_different_person(astro, her_vector, his_vector):
    gray = cv2.cvtColor(astro, cv2.COLOR_RGB2GRAY)
    variants = {  # measured distances to her original: 0.19 0.12 0.00 0.18 0.09 0.18
        "flipped": astro[:, ::-1],
        "brighter": np.clip(astro.astype(int) + 50, 0, 255).astype(np.uint8),
        "cropped": astro[20:300, 100:400],
        "gray": gray,
        "rotated": similarity(astro, 10, 0.9),
        "smaller": cv2.resize(astro, (300, 300), interpolation=cv2.INTER_AREA),
    }
    same = {}
    for name, image in variants.items():
        table = api.run("faces.embed", np.ascontiguousarray(image))
        assert len(table) == 1, name
        same[name] = np.linalg.norm(np.array(table.columns["embedding"][0]) - her_vector)
    assert max(same.values()) < 0.3, same  # dlib's same-person tolerance is 0.6
    different = np.linalg.norm(his_vector - her_vector)  # measured 0.81
    assert different > 0.6 and different > 2 * max(same.values())


@pytest.mark.parametrize("kind", ["uint16", "float32"])
def test_embed_does_not_depend_on_dtype(astro, her_vector, kind):
    image = astro.astype(np.uint16) * 257 if kind == "uint16" else astro.astype(np.float32) / 255
    vector = np.array(api.run("faces.embed", image).columns["embedding"][0])
    assert np.allclose(vector, her_vector)


def test_embed_bad_params(astro):
    with pytest.raises(ValueError, match="detector"):
        api.run("faces.embed", astro, detector="mtcnn")
    with pytest.raises(ValueError, match="image"):
        api.run("faces.embed", astro[..., :2])


# -- faces.recognize --------------------------------------------------------------------------


def test_recognize_names_her_from_a_gallery_file(astro, tmp_path):
    save_image(tmp_path / "eileen.png", np.ascontiguousarray(astro[30:230, 120:330]))
    boxes = api.run("faces.recognize", astro[:, ::-1].copy(), gallery=tmp_path)
    assert boxes.labels == ["eileen"] and boxes.scores[0] > 0.7  # distance measured 0.19
    assert iou(boxes.xyxy[0], api.run("faces.detect", astro[:, ::-1].copy()).xyxy[0]) > 0.99


def test_recognize_picks_the_nearest_person_or_unknown(astro_small, cameraman_head, tmp_path):
    save_image(tmp_path / "cameraman.png", cameraman_head)
    query = np.ascontiguousarray(astro_small[10:120, 60:170])  # her head, 110² (CNN: ~1 s)
    without_her = api.run("faces.recognize", query, gallery=tmp_path, detector="cnn")
    assert without_her.labels == ["unknown"]
    assert without_her.scores[0] < 0.4  # 1 - distance to the cameraman: measured 0.15
    (tmp_path / "eileen").mkdir()
    save_image(tmp_path / "eileen" / "1.png",
               np.ascontiguousarray(similarity(astro_small, 5, 1.0)[10:130, 50:180]))
    with_her = api.run("faces.recognize", query, gallery=tmp_path, detector="cnn")
    assert with_her.labels == ["eileen"]


def test_recognize_tolerance_decides(astro, tmp_path):
    save_image(tmp_path / "eileen.png", astro)
    flipped = astro[:, ::-1].copy()  # 0.19 from her original
    assert api.run("faces.recognize", flipped, gallery=tmp_path, tolerance=0.05).labels == ["unknown"]
    assert api.run("faces.recognize", flipped, gallery=tmp_path, tolerance=0.3).labels == ["eileen"]


def test_recognize_bad_gallery(astro, tmp_path):
    with pytest.raises(ValueError, match="gallery"):
        api.run("faces.recognize", astro, gallery=tmp_path / "missing")
    with pytest.raises(ValueError, match="gallery"):
        api.run("faces.recognize", astro, gallery=tmp_path)  # empty folder
    save_image(tmp_path / "nobody.png", noise())
    with pytest.raises(ValueError, match="gallery image .*nobody.png: no face found"):
        api.run("faces.recognize", astro, gallery=tmp_path)
    with pytest.raises(ValueError, match="tolerance"):
        api.run("faces.recognize", astro, gallery=tmp_path, tolerance=-1)
