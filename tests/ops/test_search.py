"""Image search (imgstudio.ops.search): persisted incremental index, FLANN + ratio-test query."""

from __future__ import annotations

import json
import os
import shutil

import cv2
import numpy as np
import pytest
import skimage.data

import imgstudio.api as api
from imgstudio.core.progress import Cancelled, Progress
from imgstudio.core.types import Table
from imgstudio.ops.search import INDEX_NAME, index, query, vote

SOURCES = ["astronaut", "camera", "coffee", "chelsea", "rocket", "coins", "moon", "page",
           "immunohistochemistry", "hubble_deep_field", "retina", "brick", "gravel", "text"]
QUERIED = ["astronaut", "coffee", "rocket", "coins", "page", "immunohistochemistry", "text"]


def load_source(name: str) -> np.ndarray:
    """A skimage.data image shrunk to at most 256 pixels a side (RGB or grey uint8)."""
    image = getattr(skimage.data, name)()
    scale = 256 / max(image.shape[:2])
    return cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)


def crop(image: np.ndarray, top: float, left: float, size: float) -> np.ndarray:
    rows, cols = image.shape[:2]
    y, x = int(rows * top), int(cols * left)
    return np.ascontiguousarray(image[y:y + int(rows * size), x:x + int(cols * size)])


def rotate(image: np.ndarray, angle: float) -> np.ndarray:
    rows, cols = image.shape[:2]
    m = cv2.getRotationMatrix2D(((cols - 1) / 2, (rows - 1) / 2), angle, 1.0)
    return cv2.warpAffine(image, m, (cols, rows), borderMode=cv2.BORDER_REFLECT)


def brighten(image: np.ndarray, gain: float, offset: float) -> np.ndarray:
    return np.clip(image.astype(np.float32) * gain + offset, 0, 255).astype(np.uint8)


def recolour(image: np.ndarray) -> np.ndarray:
    """Colour images: swap red and blue; grey: a gamma curve."""
    if image.ndim == 3:
        return np.ascontiguousarray(image[..., ::-1])
    return (255 * (image / 255.0) ** 0.6).astype(np.uint8)


def write(path, image: np.ndarray) -> None:
    api.save_image(path, image)


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """A folder of 42 PNGs: every source, a crop of it and a darker copy (in sub-folders)."""
    folder = tmp_path_factory.mktemp("library")
    (folder / "variants").mkdir()
    for name in SOURCES:
        image = load_source(name)
        write(folder / f"{name}.png", image)
        write(folder / "variants" / f"{name}_crop.png", crop(image, 0.2, 0.25, 0.7))
        write(folder / "variants" / f"{name}_dark.png", brighten(image, 0.6, 0))
    table = index(folder=folder)
    return folder, table


def stem(path: str) -> str:
    return os.path.basename(path).rsplit(".", 1)[0]


# -- index ------------------------------------------------------------------------------------

def test_index_lists_every_image_and_writes_a_pickle_free_npz(library):
    folder, table = library
    assert isinstance(table, Table) and len(table) == 3 * len(SOURCES)
    assert set(table.columns["status"]) == {"indexed"}
    assert min(table.columns["features"]) > 0 and np.median(table.columns["features"]) > 100
    assert all(p.startswith(str(folder)) for p in table.columns["path"])
    with np.load(folder / INDEX_NAME, allow_pickle=False) as data:
        assert {a.dtype.kind for a in data.values()} <= {"f", "u"}
        manifest = json.loads(data["manifest"].tobytes().decode())
        assert data["descriptors"].shape == (sum(table.columns["features"]), 128)
    paths = [f["path"] for f in manifest["files"]]
    assert "variants/astronaut_crop.png" in paths and manifest["detector"] == "sift"
    assert manifest["root"] == "."


def test_reindex_is_incremental(library, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(library[0], folder)  # copytree keeps mtimes: the index stays valid
    again = api.run("search.index", folder=folder)
    assert set(again.columns["status"]) == {"unchanged"}

    new = folder / "new" / "coffee_rotated.png"
    new.parent.mkdir()
    write(new, rotate(load_source("coffee"), 25))
    (folder / "moon.png").unlink()
    changed = folder / "text.png"
    write(changed, load_source("camera"))  # same name, new content
    os.utime(changed, ns=(1, 1))
    table = index(folder=folder)
    status = dict(zip(map(stem, table.columns["path"]), table.columns["status"], strict=True))
    assert status["coffee_rotated"] == "indexed" and status["text"] == "indexed"
    assert status["moon"] == "removed"
    assert sum(s == "unchanged" for s in status.values()) == 3 * len(SOURCES) - 2

    found = query(rotate(load_source("coffee"), 25)[30:220, 30:220], index=folder)
    assert stem(found.columns["path"][0]) == "coffee_rotated"
    assert all(stem(p) != "moon" for p in query(load_source("moon"), index=folder)
               .columns["path"])


def test_unreadable_files_are_skipped_and_reported(tmp_path):
    write(tmp_path / "rocket.png", load_source("rocket"))
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    (tmp_path / "notes.txt").write_text("not an image")
    table = index(folder=tmp_path)
    status = dict(zip(map(stem, table.columns["path"]), table.columns["status"], strict=True))
    assert status["rocket"] == "indexed" and status["broken"].startswith("skipped:")
    assert "notes" not in status
    assert stem(query(load_source("rocket"), index=tmp_path).columns["path"][0]) == "rocket"


def test_cancel_leaves_the_previous_index_intact(library, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(library[0], folder)
    os.utime(folder / "coins.png", ns=(5, 5))  # forces some work
    before = (folder / INDEX_NAME).read_bytes()
    seen = []

    def cancel_soon(fraction, message):
        seen.append(fraction)
        if len(seen) == 5:
            token.cancel()

    token = Progress(cancel_soon)
    with pytest.raises(Cancelled):
        index(folder=folder, progress=token)
    assert (folder / INDEX_NAME).read_bytes() == before
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == [INDEX_NAME]


def test_index_to_a_custom_output_and_orb_detector(library, tmp_path):
    folder = library[0]
    output = tmp_path / "orb-index.npz"
    table = api.run("search.index", folder=folder, output=output, detector="orb",
                    max_features=300)
    assert set(table.columns["status"]) == {"indexed"} and max(table.columns["features"]) <= 300
    with np.load(output, allow_pickle=False) as data:
        assert data["descriptors"].dtype == np.uint8 and data["descriptors"].shape[1] == 32
    for name in ("astronaut", "rocket", "text"):
        best = query(rotate(crop(load_source(name), 0.1, 0.1, 0.8), 10), index=output)
        assert stem(best.columns["path"][0]).startswith(name)
        assert os.path.dirname(best.columns["path"][0]).startswith(str(folder))


# -- query ------------------------------------------------------------------------------------

QUERIES = {
    "crop": lambda im: crop(im, 0.05, 0.4, 0.55),
    "rotate10": lambda im: rotate(im, 10),
    "brightness": lambda im: brighten(im, 1.1, 40),
    "recolour": recolour,
}


@pytest.mark.parametrize("change", sorted(QUERIES))
def test_the_source_of_a_transformed_query_ranks_first(library, change):
    folder, _ = library
    for name in QUERIED:
        result = api.run("search.query", QUERIES[change](load_source(name)), index=folder,
                         top_k=5)
        assert stem(result.columns["path"][0]).startswith(name), (name, result.rows()[:3])
        scores = result.columns["score"]
        assert scores == sorted(scores, reverse=True) and 0 < scores[0] <= 1
        assert len(result) <= 5


def test_query_scores_count_good_matches_and_skip_unmatched_images(library):
    folder, _ = library
    result = query(load_source("astronaut"), index=folder / INDEX_NAME, top_k=1000)
    top = {stem(p) for p in result.columns["path"][:3]}
    assert top == {"astronaut", "astronaut_crop", "astronaut_dark"}
    assert all(m > 0 for m in result.columns["matches"])
    assert result.columns["matches"][0] > 10 * result.columns["matches"][3]


def test_vote_equals_a_brute_force_per_image_ratio_test():
    rng = np.random.default_rng(0)
    owner = np.repeat(np.arange(6), [5, 1, 8, 3, 7, 4])
    database = rng.random((len(owner), 8)).astype(np.float32)
    queries = np.vstack([database[[0, 7, 20]] + 0.01, rng.random((30, 8), dtype=np.float32)])
    d2 = ((queries[:, None, :] - database[None, :, :]) ** 2).sum(axis=2)
    order = np.argsort(d2, axis=1)
    neighbours = order.astype(np.int32)
    distances = np.take_along_axis(d2, order, axis=1)
    for ratio in (0.5, 0.75, 0.9):
        expected = np.zeros(6, np.int64)
        for qd in d2:
            for img in range(6):
                mine = np.sort(qd[owner == img])
                second = mine[1] if len(mine) > 1 else np.inf
                expected[img] += mine[0] < ratio**2 * second
        got = vote(neighbours, distances, owner, 6, ratio, squared=True, exhaustive=True)
        np.testing.assert_array_equal(got, expected)
        # With only K neighbours the vote may only lose matches, never invent them.
        partial = vote(neighbours[:, :4], distances[:, :4], owner, 6, ratio, squared=True,
                       exhaustive=False)
        assert np.all(partial <= expected)


# -- errors -----------------------------------------------------------------------------------

def test_bad_input_names_the_parameter(library, tmp_path):
    folder, _ = library
    with pytest.raises(ValueError, match="folder"):
        api.run("search.index", folder=tmp_path / "missing")
    with pytest.raises(ValueError, match="output"):
        api.run("search.index", folder=folder, output=tmp_path / "no" / "such" / "index.npz")
    with pytest.raises(ValueError, match="index"):
        api.run("search.query", load_source("coins"), index=tmp_path)
    (tmp_path / "fake.npz").write_bytes(b"not an index")
    with pytest.raises(ValueError, match="index"):
        api.run("search.query", load_source("coins"), index=tmp_path / "fake.npz")
    with pytest.raises(ValueError, match="top_k"):
        api.run("search.query", load_source("coins"), index=folder, top_k=0)
    with pytest.raises(ValueError, match="max_features"):
        api.run("search.index", folder=folder, max_features=0)
    with pytest.raises(ValueError, match="image"):
        api.run("search.query", np.zeros((16, 16), np.uint8), index=folder)


def test_empty_folder_gives_an_empty_index_and_no_results(tmp_path):
    assert len(index(folder=tmp_path)) == 0
    assert len(query(load_source("coins"), index=tmp_path)) == 0
