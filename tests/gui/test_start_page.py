"""The start page: hint, Open button and recent files on an empty canvas; it hides once a
layer exists and comes back when the last one goes."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from imgstudio.core.document import Document, ImageLayer
from imgstudio.core.history import RemoveLayer
from imgstudio.core.workspace import Workspace
from imgstudio.gui.start_page import HINT, StartPage
from tests.gui.canvas_events import make_view


@pytest.fixture
def recent(tmp_path):
    paths = []
    for name in ("cells.tif", "beach.png"):
        path = tmp_path / name
        path.write_bytes(b"x")
        paths.append(str(path))
    paths.append(str(tmp_path / "gone.jpg"))  # listed but deleted since
    return paths


@pytest.fixture
def empty_view(qtbot):
    ws = Workspace(Document())
    view = make_view(qtbot, ws, (640, 420))
    yield view
    ws.close()


def test_page_lists_recent_files_and_emits_open_requests(qtbot, recent):
    page = StartPage(lambda: recent)
    qtbot.addWidget(page)
    page.show()
    assert page.hint.text() == HINT
    assert [b.text().split()[0] for b in page.entries] == ["cells.tif", "beach.png", "gone.jpg"]
    assert [b.isEnabled() for b in page.entries] == [True, True, False]
    with qtbot.waitSignal(page.open_requested) as sig:
        qtbot.mouseClick(page.entries[1], Qt.MouseButton.LeftButton)
    assert sig.args == [recent[1]]
    with qtbot.waitSignal(page.open_dialog_requested):
        qtbot.mouseClick(page.open_button, Qt.MouseButton.LeftButton)


def test_page_rereads_recent_files_each_time_it_shows(qtbot, recent):
    shown = recent[:1]
    page = StartPage(lambda: shown)
    qtbot.addWidget(page)
    page.show()
    assert len(page.entries) == 1
    page.hide()
    shown = recent[:2]
    page.show()
    assert len(page.entries) == 2


def test_no_recent_files_hides_the_heading(qtbot):
    page = StartPage(list)
    qtbot.addWidget(page)
    page.show()
    assert page.entries == [] and not page.recent_title.isVisible()
    assert page.open_button.isVisible()


def test_start_page_covers_an_empty_canvas_until_a_layer_exists(qtbot, empty_view, recent,
                                                                 screenshot_dir):
    view = empty_view
    page = StartPage(lambda: recent)
    view.set_start_page(page)
    assert page.parent() is view and page.isVisible()
    assert page.geometry() == view.rect()
    view.grab().save(str(screenshot_dir / "start_page_empty.png"))
    ws = view.workspace
    layer = ImageLayer(np.zeros((40, 60, 3), np.uint8), "img")
    ws.add_layer(layer)
    assert not page.isVisible()
    ws.history.undo()
    assert page.isVisible()
    ws.history.redo()
    ws.history.execute(RemoveLayer(ws.document, layer))
    assert page.isVisible()


def test_start_page_follows_the_canvas_size(qtbot, empty_view):
    page = StartPage(list)
    empty_view.set_start_page(page)
    empty_view.resize(500, 330)
    qtbot.wait(10)
    assert page.geometry() == empty_view.rect()


def test_canvas_with_layers_does_not_show_the_page(qtbot, workspace):
    view = make_view(qtbot, workspace)
    page = StartPage(list)
    view.set_start_page(page)
    assert not page.isVisible()
    assert view.start_page is page


def test_the_window_starts_on_the_page_and_a_recent_entry_opens_its_file(qtbot, window, png):
    """The real window: empty at start, the page lists what was opened; a click reopens it."""
    from imgstudio.core.workspace import Workspace

    page = window.canvas.start_page
    assert page is not None and page.isVisible()
    window.files.open_files([str(png)])
    assert len(window.workspace.document) == 1 and not window.canvas.start_page.isVisible()
    window.bind(Workspace())  # File → Close does this after asking
    page = window.canvas.start_page
    qtbot.waitUntil(page.isVisible)
    entry = next(b for b in page.entries if b.toolTip() == str(png))
    qtbot.mouseClick(entry, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(window.workspace.document) == 1)
    assert window.workspace.document[0].data.shape[:2] == (64, 96)
    window.grab().save("test-output/screenshots/start_page_window.png")
