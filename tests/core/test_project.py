"""Project files: lossless round trip, atomic save, clear errors on bad files."""

from __future__ import annotations

import json
import os
import zipfile

import numpy as np
import pytest

from imgstudio.core.document import (
    Document,
    ImageLayer,
    LabelsLayer,
    PointsLayer,
    Shape,
    ShapesLayer,
)
from imgstudio.core.project import ProjectError, load_project, save_project
from imgstudio.core.recipe import Recipe, RecipeStep


@pytest.fixture
def document():
    rng = np.random.default_rng(0)
    doc = Document([
        ImageLayer(rng.integers(0, 65535, (20, 30, 3), dtype=np.uint16), "photo16"),
        ImageLayer(rng.random((20, 30), dtype=np.float32), "float", opacity=0.25,
                   blend_mode="screen"),
        LabelsLayer(rng.integers(0, 700, (20, 30)).astype(np.int32), "seeds", visible=False),
        PointsLayer([[1.5, 2.25], [10, 3]], "landmarks"),
        ShapesLayer([Shape("box", np.array([[0, 0], [4, 5.0]]), text="cat", score=0.7)], "boxes"),
    ])
    doc.active = doc[2]
    return doc


def test_round_trip_keeps_every_layer_exactly(tmp_path, document):
    path = tmp_path / "p.imgs"
    recipe = Recipe(("photo",), (
        RecipeStep("basic.invert", {}, {"image": "photo"}, "photo"),
        RecipeStep("basic.gamma", {"gamma": 2.0}, {"image": "photo"}, "photo")),
        layer_ids={"photo": document[0].id})
    save_project(path, document, recipe, {"zoom": 2.0})
    project = load_project(path)
    again = project.document
    assert [lay.name for lay in again] == [lay.name for lay in document]
    for a, b in zip(document, again, strict=False):
        assert type(a) is type(b) and a.id == b.id and a.properties() == b.properties()
        if isinstance(a, ShapesLayer):
            assert [s.to_json() for s in a.data] == [s.to_json() for s in b.data]
        else:
            assert a.data.dtype == b.data.dtype and np.array_equal(a.data, b.data)
    assert again.active.id == document.active.id
    assert project.recipe.to_json() == recipe.to_json() and project.view == {"zoom": 2.0}
    assert project.recipe.layer_ids == {"photo": document[0].id}


def test_project_holds_no_pickles(tmp_path, document):
    path = tmp_path / "p.imgs"
    save_project(path, document)
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        assert "manifest.json" in names
        for name in names:
            assert name.endswith((".json", ".npy"))
            if name.endswith(".npy"):
                # numpy refuses object arrays with allow_pickle=False; check the header too
                assert b"'descr': '|O'" not in zf.read(name)[:128]


def test_failed_save_leaves_the_previous_file_and_no_temp(tmp_path, document, monkeypatch):
    path = tmp_path / "p.imgs"
    save_project(path, document)
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("imgstudio.core.project._npy_bytes", boom)
    with pytest.raises(OSError, match="disk full"):
        save_project(path, document)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["p.imgs"]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "BadZipFile"),
        (b"PK\x03\x04 truncated", "BadZipFile"),
        (None, "manifest.json is missing"),
        ({"format": "something-else"}, "not an imgstudio project"),
        ({"format": "imgstudio-project", "version": 99}, "newer"),
        ({"format": "imgstudio-project", "version": 1,
          "layers": [{"kind": "image", "file": "layers/0000.npy"}]},
         "layer 0: the member 'layers/0000.npy' is missing"),
        ({"format": "imgstudio-project", "version": 1, "layers": [{"kind": "nonsense"}]},
         "layer 0: kind must be one of"),
    ],
)
def test_bad_project_files_raise_project_error_naming_the_file(tmp_path, content, reason):
    path = tmp_path / "bad.imgs"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("readme.txt", "hello")
            if content is not None:
                zf.writestr("manifest.json", json.dumps(content))
    with pytest.raises(ProjectError, match="bad.imgs") as info:
        load_project(path)
    assert reason in str(info.value)


def test_a_pickled_layer_file_is_refused(tmp_path, document):
    path = tmp_path / "evil.imgs"
    save_project(path, Document([ImageLayer(np.zeros((2, 2), np.uint8), "x")]))
    with zipfile.ZipFile(path) as zf:
        manifest = zf.read("manifest.json")
    import io

    buf = io.BytesIO()
    np.save(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("manifest.json", manifest)
        zf.writestr("layers/0000.npy", buf.getvalue())
    with pytest.raises(ProjectError, match="evil.imgs"):
        load_project(path)


def test_missing_project_file_is_named(tmp_path):
    with pytest.raises(ProjectError, match="nothere.imgs"):
        load_project(tmp_path / "nothere.imgs")


def test_labels_outline_mode_round_trips(tmp_path, document):
    document[2].contours = True
    save_project(tmp_path / "c.imgs", document)
    assert load_project(tmp_path / "c.imgs").document[2].contours is True


def _timed_load(path, repeat):
    """The least CPU time of ``repeat`` loads (CPU time: other processes on the machine do not
    count)."""
    import gc
    import time

    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.process_time()
        project = load_project(path)
        best = min(best, time.process_time() - start)
    return best, project


def test_loading_grows_linearly_with_the_number_of_layers(tmp_path):
    """Ten times the layers take at most twenty times as long (each insert used to scan every
    layer: 20 000 layers took 19 s, 100 times as long as 2 000)."""
    for n in (2000, 20000):
        save_project(tmp_path / f"{n}.imgs",
                     Document([PointsLayer(np.zeros((0, 2)), f"p{i}") for i in range(n)]))
    small, _ = _timed_load(tmp_path / "2000.imgs", 3)
    large, project = _timed_load(tmp_path / "20000.imgs", 2)
    assert len(project.document) == 20000
    assert large <= 20 * small, (small, large)
