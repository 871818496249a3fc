"""The Face morph wizard driven end to end through its real pages, buttons and mouse events."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import skimage.data
from PIL import Image as PILImage
from PySide6.QtCore import QPoint, QPointF
from PySide6.QtWidgets import QWizard

from imgstudio.core.document import Document, ImageLayer
from imgstudio.core.io import load_image, save_image
from imgstudio.core.workspace import Workspace
from imgstudio.gui.wizards.face_morph import (
    PAGE_DETECT,
    PAGE_EXPORT,
    PAGE_FACES,
    PAGE_FRAMES,
    PAGE_LANDMARKS,
    PAGE_TRIANGLES,
    FaceMorphWizard,
)
from imgstudio.ops.faces.morph import add_border_points, morph_frame
from tests.gui.canvas_events import LEFT, RIGHT, click, drag

SLOW_MS = 120_000  # model loading and detection on a cold, busy machine


@pytest.fixture(scope="module")
def faces() -> tuple[np.ndarray, np.ndarray]:
    """Her face (A) and the same picture mirrored, enlarged 10 % and shifted (B): the face
    moves ~40 px and turns the other way, so the morph is visible."""
    a = skimage.data.astronaut()
    matrix = np.float32([[1.1, 0, -30], [0, 1.1, -10]])
    b = cv2.warpAffine(cv2.flip(a, 1), matrix, (512, 512), borderMode=cv2.BORDER_REFLECT)
    return a, b


def square_image(x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    """A 120×160 RGB picture with a coloured rectangle on a gradient: no face in it."""
    image = np.zeros((120, 160, 3), np.uint8)
    image[..., 2] = np.linspace(0, 200, 160, dtype=np.uint8)[None, :]
    image[y0:y1, x0:x1] = (250, 200, 40)
    return image


def rect_points(x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    return np.array([[x0, y0], [x1 - 1, y0], [x1 - 1, y1 - 1], [x0, y1 - 1],
                     [(x0 + x1) / 2, (y0 + y1) / 2]], dtype=float)


def make_wizard(qtbot, jobs, workspace) -> FaceMorphWizard:
    wizard = FaceMorphWizard(workspace, jobs)
    qtbot.addWidget(wizard)
    wizard.resize(1000, 720)
    wizard.show()
    qtbot.waitExposed(wizard)
    return wizard


@pytest.fixture
def face_wizard(qtbot, jobs, faces):
    a, b = faces
    ws = Workspace(Document([ImageLayer(a.copy(), "her"), ImageLayer(b.copy(), "mirrored")]))
    wizard = make_wizard(qtbot, jobs, ws)
    yield wizard
    wizard.shutdown()
    ws.close()


def next_page(qtbot, wizard: FaceMorphWizard, expected: int, timeout: int = SLOW_MS) -> None:
    """Wait until the page lets the user go on, click Next, check where it went."""
    qtbot.waitUntil(lambda: wizard.currentPage().isComplete(), timeout=timeout)
    button = wizard.button(QWizard.WizardButton.NextButton)
    assert button.isEnabled()
    qtbot.mouseClick(button, LEFT)
    assert wizard.currentId() == expected


def wait_idle(qtbot, slot, timeout: int = SLOW_MS) -> None:
    qtbot.waitUntil(lambda: not slot.busy, timeout=timeout)


def test_face_morph_end_to_end(qtbot, face_wizard, faces, tmp_path, screenshot_dir):
    wizard, (a, b) = face_wizard, faces
    ws = wizard.workspace
    # 1. Faces: the two layers are offered and chosen, A then B
    assert wizard.currentId() == PAGE_FACES
    assert [wizard.faces_page.combos[0].itemText(i) for i in range(2)] == ["her", "mirrored"]
    assert wizard.faces_page.combos[1].currentText() == "mirrored"
    assert np.array_equal(wizard.session.images[0], a)
    assert np.array_equal(wizard.session.images[1], b)
    # 2. Detect: one face in each, found in a worker
    next_page(qtbot, wizard, PAGE_DETECT)
    next_page(qtbot, wizard, PAGE_LANDMARKS)
    assert [len(bx) for bx in wizard.session.boxes] == [1, 1]
    assert "1 face(s) found" in wizard.detect_page.labels[0].text()
    # 3. Landmarks: 68 on each face, shown in the views
    page = wizard.landmarks_page
    qtbot.waitUntil(lambda: len(wizard.points_a) == 68 and len(wizard.points_b) == 68
                    and not page.slot.busy, timeout=SLOW_MS)
    view = page.views[0]
    assert np.array_equal(view.points(), wizard.points_a)
    before = wizard.points_a
    nose = 30  # the tip of the nose: no other landmark within a few pixels
    start = view.map_from_image(*before[nose])
    start = QPoint(round(start.x()), round(start.y()))
    end = start + QPoint(30, -20)
    drag(view, [start, start + QPoint(10, -7), end])
    after = wizard.points_a
    moved = np.subtract(view.map_to_image(QPointF(end)), view.map_to_image(QPointF(start)))
    scale = view.map_from_image(1, 0).x() - view.map_from_image(0, 0).x()  # screen px per pixel
    np.testing.assert_allclose(after[nose] - before[nose], moved, atol=1e-6)  # exactly the drag
    np.testing.assert_allclose(moved, np.array([30, -20]) / scale, atol=1e-6)
    assert np.abs(moved).max() > 4  # a real displacement in image pixels
    assert np.array_equal(np.delete(after, nose, 0), np.delete(before, nose, 0))
    assert np.array_equal(view.points(), after)
    wizard.grab().save(str(screenshot_dir / "face_morph_landmarks.png"))
    # save / load round trip of the edited points
    wizard.save_points(tmp_path / "a.txt", "a")
    assert len((tmp_path / "a.txt").read_text().splitlines()) == 68
    np.testing.assert_allclose(np.loadtxt(tmp_path / "a.txt"), after, atol=1e-3)
    # 4. Triangulation of the average shape
    next_page(qtbot, wizard, PAGE_TRIANGLES)
    qtbot.waitUntil(lambda: wizard.triangles_page.isComplete(), timeout=SLOW_MS)
    tri = wizard.triangles_page.triangulation
    assert len(tri.points) == 68 + 8 and len(tri.triangles) > 100
    wizard.grab().save(str(screenshot_dir / "face_morph_triangulation.png"))
    # 5. Frames: 5 frames, the preview at alpha 0 is face A
    next_page(qtbot, wizard, PAGE_FRAMES)
    frames_page = wizard.frames_page
    frames_page.frames_spin.setValue(5)
    assert not frames_page.isComplete()
    qtbot.waitUntil(frames_page.isComplete, timeout=SLOW_MS)
    assert len(wizard.frames()) == 5
    frames_page.alpha_slider.setValue(0)
    qtbot.waitUntil(lambda: frames_page.shown_alpha == 0.0, timeout=SLOW_MS)
    shown = frames_page.preview.image().astype(int)
    assert np.abs(shown - a).max() <= 1
    frames_page.alpha_slider.setValue(37)  # off the sequence: computed in the background
    qtbot.waitUntil(lambda: frames_page.shown_alpha == 0.37, timeout=SLOW_MS)
    pa, pb = add_border_points(after, a.shape), add_border_points(wizard.points_b, b.shape)
    assert np.array_equal(frames_page.preview.image(), morph_frame(a, b, pa, pb, 0.37))
    frames_page.alpha_slider.setValue(50)
    qtbot.waitUntil(lambda: frames_page.shown_alpha == 0.5, timeout=SLOW_MS)
    wizard.grab().save(str(screenshot_dir / "face_morph_frames.png"))
    # 6. Export: PNG frames
    next_page(qtbot, wizard, PAGE_EXPORT)
    export = wizard.export_page
    wizard.export_frames(tmp_path / "frames")
    wait_idle(qtbot, export.slot)
    files = sorted((tmp_path / "frames").iterdir())
    assert [f.name for f in files] == [f"frame_{k:03d}.png" for k in range(5)]
    first, middle, last = (load_image(files[k]) for k in (0, 2, 4))
    assert np.abs(first.astype(int) - a).max() <= 1
    assert np.abs(last.astype(int) - b).max() <= 1
    assert np.array_equal(middle, morph_frame(a, b, pa, pb, 0.5))  # with the dragged point
    assert not np.array_equal(middle, morph_frame(a, b, add_border_points(before, a.shape),
                                                  pb, 0.5))
    # GIF, plain and ping-pong
    wizard.export_gif(tmp_path / "morph.gif")
    wait_idle(qtbot, export.slot)
    with PILImage.open(tmp_path / "morph.gif") as gif:
        assert gif.n_frames == 5 and gif.size == (512, 512)
    export.pingpong_check.setChecked(True)
    wizard.export_gif(tmp_path / "pingpong.gif")
    wait_idle(qtbot, export.slot)
    with PILImage.open(tmp_path / "pingpong.gif") as gif:
        assert gif.n_frames == 8
    export.pingpong_check.setChecked(False)
    # MP4
    wizard.export_mp4(tmp_path / "morph.mp4")
    wait_idle(qtbot, export.slot)
    video = cv2.VideoCapture(str(tmp_path / "morph.mp4"))
    assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == 5
    video.release()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left
    # layers: 5 more, one undo removes them all
    n = len(ws.document)
    steps = len(ws.history.steps)
    qtbot.mouseClick(export.layers_button, LEFT)
    assert len(ws.document) == n + 5 and len(ws.history.steps) == steps + 1
    assert np.array_equal(ws.document[n + 2].data, middle)
    ws.history.undo()
    assert len(ws.document) == n
    ws.history.redo()
    assert len(ws.document) == n + 5


def test_hand_placed_points_morph_without_detection(qtbot, jobs, tmp_path, monkeypatch):
    a_rect, b_rect = (30, 20, 90, 80), (70, 40, 140, 110)
    a, b = square_image(*a_rect), square_image(*b_rect)
    save_image(tmp_path / "a.png", a)
    save_image(tmp_path / "b.png", b)
    ws = Workspace()
    wizard = make_wizard(qtbot, jobs, ws)
    try:
        assert not wizard.faces_page.isComplete()  # an empty document offers no layer
        assert wizard.set_file_a(tmp_path / "a.png") and wizard.set_file_b(tmp_path / "b.png")
        assert not wizard.set_file_b(tmp_path / "missing.png")
        assert "missing.png" in wizard.faces_page.message.text()
        wizard.faces_page.detect_check.setChecked(False)
        next_page(qtbot, wizard, PAGE_LANDMARKS)  # the Detect page is skipped
        page = wizard.landmarks_page
        assert page.add_radio.isChecked() and not page.isComplete()
        assert wizard.session.boxes == [None, None]
        pts_a, pts_b = rect_points(*a_rect), rect_points(*b_rect)
        for name, pts in (("a.txt", pts_a), ("b.txt", pts_b)):
            (tmp_path / name).write_text("# x y\n" + "\n".join(f"{x} {y}" for x, y in pts))
        wizard.load_points(tmp_path / "a.txt", "a")
        assert not page.isComplete() and "more on B" in page.status.text()
        wizard.load_points(tmp_path / "b.txt", "b")
        assert np.array_equal(wizard.points_b, pts_b) and page.isComplete()
        next_page(qtbot, wizard, PAGE_TRIANGLES)
        next_page(qtbot, wizard, PAGE_FRAMES)
        wizard.frames_page.frames_spin.setValue(3)
        next_page(qtbot, wizard, PAGE_EXPORT)
        wizard.export_frames(tmp_path / "out")
        wait_idle(qtbot, wizard.export_page.slot)
        files = sorted((tmp_path / "out").iterdir())
        assert len(files) == 3
        expected = morph_frame(a, b, add_border_points(pts_a, a.shape),
                               add_border_points(pts_b, b.shape), 0.5)
        assert np.array_equal(load_image(files[1]), expected)
        assert np.array_equal(load_image(files[0]), a) and np.array_equal(load_image(files[2]), b)
        # an OpenCV without the MP4 codec: a clear message, no file
        monkeypatch.setattr(cv2, "VideoWriter", lambda *args: cv2.VideoCapture())  # not opened
        wizard.export_mp4(tmp_path / "morph.mp4")
        wait_idle(qtbot, wizard.export_page.slot)
        message = wizard.export_page.slot.label.text()
        assert "Export MP4 failed" in message and "'mp4v' unavailable" in message
        assert not (tmp_path / "morph.mp4").exists()
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    finally:
        wizard.shutdown()
        ws.close()


def test_click_adds_points_in_order_and_counts_must_match(qtbot, jobs):
    a, b = square_image(30, 20, 90, 80), square_image(70, 40, 140, 110)
    ws = Workspace(Document([ImageLayer(a, "a"), ImageLayer(b, "b")]))
    wizard = make_wizard(qtbot, jobs, ws)
    try:
        wizard.faces_page.detect_check.setChecked(False)
        next_page(qtbot, wizard, PAGE_LANDMARKS)
        page = wizard.landmarks_page
        view_a, view_b = page.views
        targets = [(30, 20), (89, 20), (89, 79), (30, 79)]
        for x, y in targets:
            p = view_a.map_from_image(x, y)
            click(view_a, QPoint(round(p.x()), round(p.y())))
        np.testing.assert_allclose(wizard.points_a, targets, atol=1.0)
        for x, y in targets[:3]:
            p = view_b.map_from_image(x + 40, y + 20)
            click(view_b, QPoint(round(p.x()), round(p.y())))
        assert len(wizard.points_b) == 3 and not page.isComplete()
        assert "place 1 more on B" in page.status.text()
        p = view_b.map_from_image(70, 99)
        click(view_b, QPoint(round(p.x()), round(p.y())))
        assert page.isComplete()
        # right-click removes a point; a click outside the image adds none
        p = view_a.map_from_image(89, 79)
        click(view_a, QPoint(round(p.x()), round(p.y())), button=RIGHT)
        assert len(wizard.points_a) == 3 and not page.isComplete()
        click(view_a, QPoint(2, 2))
        assert len(wizard.points_a) == 3
    finally:
        wizard.shutdown()
        ws.close()


def test_no_face_found_says_so_and_leaves_points_to_the_hand(qtbot, jobs, faces,
                                                             screenshot_dir):
    a, _ = faces
    blank = square_image(30, 20, 90, 80)
    ws = Workspace(Document([ImageLayer(a, "her"), ImageLayer(blank, "square")]))
    wizard = make_wizard(qtbot, jobs, ws)
    try:
        next_page(qtbot, wizard, PAGE_DETECT)
        qtbot.waitUntil(wizard.detect_page.isComplete, timeout=SLOW_MS)
        assert "No face found in B" in wizard.detect_page.labels[1].text()
        wizard.grab().save(str(screenshot_dir / "face_morph_detect_no_face.png"))
        next_page(qtbot, wizard, PAGE_LANDMARKS)
        page = wizard.landmarks_page
        qtbot.waitUntil(lambda: len(wizard.points_a) == 68, timeout=SLOW_MS)
        assert len(wizard.points_b) == 0 and page.add_radio.isChecked()
        assert "No face found" in page.views[1].message()
        assert "68 more on B" in page.status.text() and not page.isComplete()
        wizard.grab().save(str(screenshot_dir / "face_morph_landmarks_by_hand.png"))
    finally:
        wizard.shutdown()
        ws.close()


def test_closing_the_wizard_cancels_and_waits_for_its_jobs(qtbot, face_wizard):
    wizard = face_wizard
    next_page(qtbot, wizard, PAGE_DETECT)
    job = wizard.detect_page.slot.job
    assert job is not None
    wizard.reject()
    assert job.done and job.progress.cancelled
    assert not wizard.isVisible() and not wizard.busy


def test_main_window_menu_opens_the_wizard(qtbot, tmp_path, faces):
    from PySide6.QtCore import QSettings

    from imgstudio.gui.main_window import MainWindow

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    a, b = faces
    window = MainWindow(Workspace(Document([ImageLayer(a, "her"), ImageLayer(b, "him")])),
                        settings=settings)
    window.files.ask_unsaved = lambda: "discard"
    qtbot.addWidget(window)
    window.show()
    try:
        menus = {m.text(): m.menu() for m in window.menuBar().actions() if m.menu()}
        assert window.wizard_actions["face_morph"] in menus["&Tools"].actions()
        window.wizard_actions["face_morph"].trigger()
        wizard = window.face_morph_wizard
        assert wizard.isVisible() and wizard.workspace is window.workspace
        assert wizard.faces_page.combos[1].currentText() == "him"
        window.wizard_actions["face_morph"].trigger()
        assert window.face_morph_wizard is wizard  # one at a time
        wizard.close()
    finally:
        window.jobs.cancel_all()
        window.jobs.wait()
        window.force_close()
