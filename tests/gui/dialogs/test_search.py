"""Tools → Image Search…: index a folder in a worker, find the source of a transformed copy,
open a result as a layer, cancel an indexing run without harming the previous index."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PySide6.QtCore import Qt

from imgstudio.core.document import Document, ImageLayer
from imgstudio.core.io import load_image, save_image
from imgstudio.core.workspace import Workspace
from imgstudio.gui.dialogs.search import SearchDialog, index_file, thumbnail

SOURCES = ["astronaut", "brick", "camera", "chelsea", "clock", "coffee", "coins", "gravel",
           "hubble_deep_field", "immunohistochemistry", "moon", "rocket"]


def _small(image: np.ndarray, side: int = 192) -> np.ndarray:
    import cv2

    if image.dtype == bool:
        image = image.astype(np.uint8) * 255
    h, w = image.shape[:2]
    scale = side / max(h, w)
    return cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)


@pytest.fixture
def folder(tmp_path):
    """12 small images from skimage.data (central crops, 192 px), two of them as JPEG."""
    import skimage.data

    root = tmp_path / "photos"
    (root / "more").mkdir(parents=True)
    for n, name in enumerate(SOURCES):
        image = getattr(skimage.data, name)()
        h, w = image.shape[:2]
        crop = image[h // 8: h - h // 8, w // 8: w - w // 8]
        sub = root / "more" if n % 4 == 3 else root  # sub-folders are indexed too
        save_image(sub / f"{name}{'.jpg' if n % 5 == 4 else '.png'}", _small(crop))
    return root


def _transformed(image: np.ndarray) -> np.ndarray:
    """Rotated 12°, shrunk to 85 %, darker: what one might derive from a photo."""
    import cv2

    h, w = image.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), 12.0, 0.85)
    out = cv2.warpAffine(image, m, (w, h), borderMode=cv2.BORDER_REFLECT)
    return np.clip(out.astype(np.float32) * 0.8, 0, 255).astype(np.uint8)


def _open_dialog(window, qtbot) -> SearchDialog:
    window.wizard_actions["image_search"].trigger()
    dialog = window.search_dialog
    qtbot.waitExposed(dialog)
    assert dialog.isVisible() and dialog.windowTitle() == "Image Search"
    return dialog


def _index(dialog, qtbot):
    with qtbot.waitSignal(dialog.indexed, timeout=30000) as blocker:
        qtbot.mouseClick(dialog.index_button, Qt.LeftButton)
    return blocker.args[0]


def test_image_search_is_in_the_tools_menu(window):
    tools = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Tools")
    assert window.wizard_actions["image_search"] in tools.actions()
    assert window.wizard_actions["image_search"].text() == "Image &Search…"


def test_the_dialog_closes_with_the_window(window, qtbot):
    dialog = _open_dialog(window, qtbot)
    window.hide()
    assert not dialog.isVisible()


def test_index_search_and_open_the_source_of_a_transformed_copy(window, folder, qtbot,
                                                                  screenshot_dir):
    source = folder / "coffee.png"
    query = _transformed(load_image(source))
    window.files.show_workspace(Workspace(Document([ImageLayer(query, "derived")])))
    dialog = _open_dialog(window, qtbot)
    assert not dialog.index_button.isEnabled()  # no folder yet
    dialog.set_folder(folder)
    assert "Not indexed" in dialog.index_status.text()

    table = _index(dialog, qtbot)
    assert len(table) == 12 and set(table.columns["status"]) == {"indexed"}
    assert index_file(folder).is_file()
    assert dialog.index_status.text() == "Index: 12 images (SIFT features)."
    assert "12 read" in dialog.message_label.text()

    with qtbot.waitSignal(dialog.searched, timeout=30000) as blocker:
        qtbot.mouseClick(dialog.search_button, Qt.LeftButton)
    hits = blocker.args[0]
    paths = dialog.result_paths()
    assert paths == hits.columns["path"] and paths[0] == str(source)
    assert dialog.results.count() >= 1
    first = dialog.results.item(0)
    assert not first.icon().isNull()
    assert first.text().startswith("1. coffee.png\nscore ")
    scores = hits.columns["score"]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0.1
    assert not dialog.query_thumb.pixmap().isNull()

    dialog.resize(760, 560)
    qtbot.wait(50)
    dialog.grab().save(str(screenshot_dir / "search_dialog.png"))

    # Double-click: the source opens as a new layer above the query.
    doc = window.workspace.document
    rect = dialog.results.visualItemRect(first)
    # A real double-click is press, release, double-click, release (QTest's mouseDClick alone
    # lacks the first click, which the view needs to know the pressed item).
    qtbot.mouseClick(dialog.results.viewport(), Qt.LeftButton, pos=rect.center())
    qtbot.mouseDClick(dialog.results.viewport(), Qt.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: len(doc) == 2, timeout=5000)
    assert doc.active.name == "coffee"
    assert np.array_equal(doc.active.data, load_image(source))
    assert window.workspace.history.can_undo


def test_search_with_an_image_file_chosen_in_the_dialog(window, folder, qtbot, tmp_path):
    source = folder / "more" / "chelsea.png"  # in a sub-folder
    query_file = tmp_path / "query.png"
    save_image(query_file, _transformed(load_image(source)))
    dialog = _open_dialog(window, qtbot)  # empty document: no active layer
    dialog.set_folder(folder)
    _index(dialog, qtbot)
    with qtbot.waitSignal(dialog.failed, timeout=5000):
        qtbot.mouseClick(dialog.search_button, Qt.LeftButton)
    assert "no active image layer" in dialog.message_label.text()

    dialog.set_query_file(query_file)
    assert dialog.file_radio.isChecked()
    with qtbot.waitSignal(dialog.searched, timeout=30000):
        qtbot.mouseClick(dialog.search_button, Qt.LeftButton)
    assert dialog.result_paths()[0] == str(source)


def test_searching_a_folder_without_an_index_says_so(window, tmp_path, qtbot, astronaut_small):
    window.files.show_workspace(Workspace(Document([ImageLayer(astronaut_small, "a")])))
    dialog = _open_dialog(window, qtbot)
    dialog.set_folder(tmp_path)
    with qtbot.waitSignal(dialog.failed, timeout=10000) as blocker:
        qtbot.mouseClick(dialog.search_button, Qt.LeftButton)
    assert "no search index" in blocker.args[0]
    assert dialog.search_button.isEnabled() and not dialog.busy


def test_cancel_during_indexing_keeps_the_previous_index(window, folder, qtbot):
    dialog = _open_dialog(window, qtbot)
    dialog.set_folder(folder)
    _index(dialog, qtbot)
    file = index_file(folder)
    before = file.read_bytes()
    for n in range(6):  # new files: the next run has work to do
        save_image(folder / f"noise{n}.png",
                   np.random.default_rng(n).integers(0, 256, (96, 96), dtype=np.uint8))

    # Hold the worker at its third file (a direct connection runs on the worker thread), so
    # Cancel is certainly pressed while it indexes.
    reached, release = threading.Event(), threading.Event()

    def gate(_fraction, message):
        if "(3/" in message and not reached.is_set():
            reached.set()
            release.wait(20)

    def hook(job):
        job.signals.progress.connect(gate, Qt.ConnectionType.DirectConnection)

    window.jobs.job_added.connect(hook)
    try:
        qtbot.mouseClick(dialog.index_button, Qt.LeftButton)
        job = dialog.job
        assert job is not None and dialog.busy and not dialog.search_button.isEnabled()
        qtbot.waitUntil(reached.is_set, timeout=20000)
        assert dialog.cancel_button.isEnabled()
        with qtbot.waitSignal(job.signals.cancelled, timeout=20000):
            qtbot.mouseClick(dialog.cancel_button, Qt.LeftButton)
            release.set()
    finally:
        release.set()
        window.jobs.job_added.disconnect(hook)
    qtbot.waitUntil(lambda: not dialog.busy, timeout=5000)

    assert file.read_bytes() == before
    assert not list(folder.glob(".imgstudio-index.npz.*"))  # no temporary file left
    assert dialog.message_label.text() == "Indexing cancelled; the previous index is unchanged"
    assert dialog.index_status.text() == "Index: 12 images (SIFT features)."
    assert dialog.index_button.isEnabled() and dialog.search_button.isEnabled()
    row = window.docks["Jobs"].widget().row_for(job)
    assert row.state == "cancelled"

    table = _index(dialog, qtbot)  # the next run is incremental
    statuses = table.columns["status"]
    assert statuses.count("unchanged") == 12 and statuses.count("indexed") == 6
    assert dialog.index_status.text() == "Index: 18 images (SIFT features)."


def test_thumbnail_is_small_uint8_rgb():
    grey16 = np.linspace(0, 65535, 300 * 200, dtype=np.uint16).reshape(300, 200)
    thumb = thumbnail(grey16, 96)
    assert thumb.shape == (96, 64, 3) and thumb.dtype == np.uint8
    assert thumb.max() >= 250 and thumb.min() <= 5
    rgba = np.zeros((10, 20, 4), np.float32)
    assert thumbnail(rgba, 96).shape == (10, 20, 3)
