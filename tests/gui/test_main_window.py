"""The assembled main window, driven through its real actions and widgets."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import QApplication, QToolBar

import imgstudio.api as api
from imgstudio.core.io import load_image
from imgstudio.gui.main_window import MainWindow
from imgstudio.gui.tools import TOOL_CLASSES


def test_open_file_shows_one_layer_and_title(window, png, astronaut_small):
    assert window.files.open_files([str(png)]) == []
    doc = window.workspace.document
    assert len(doc) == 1 and np.array_equal(doc[0].data, astronaut_small)
    assert "photo.png" in window.windowTitle()


def test_open_missing_file_reports_in_the_message_bar(window, tmp_path):
    errors = window.files.open_files([str(tmp_path / "nope.png")])
    assert errors and "nope.png" in errors[0]
    assert "nope.png" in window.message_bar.current_text()


def test_undo_redo_shortcuts_follow_the_history(window, png, qtbot, astronaut_small):
    window.files.open_files([str(png)])
    from imgstudio.core.apply import apply_operation

    apply_operation(window.workspace.document, window.workspace.history, "basic.invert")
    assert window.act_undo.isEnabled()
    window.act_undo.trigger()
    assert np.array_equal(window.workspace.document[0].data, astronaut_small)
    window.act_redo.trigger()
    assert np.array_equal(window.workspace.document[0].data, 255 - astronaut_small)


def test_every_operation_has_a_menu_action(window):
    ids = {spec.id for spec in api.list_operations()}
    assert set(window.op_actions) == ids


def test_menu_action_opens_the_operation_form_and_apply_matches_api(window, png, qtbot,
                                                                      astronaut_small):
    window.files.open_files([str(png)])
    window.op_actions["basic.flip"].trigger()
    panel = window.operation_panel
    assert panel.spec.id == "basic.flip"
    with qtbot.waitSignal(panel.applied, timeout=10000):
        panel.apply()
    assert np.array_equal(window.workspace.document[0].data,
                          api.run("basic.flip", astronaut_small))


def test_command_palette_filters_and_runs(window, png, qtbot):
    window.files.open_files([str(png)])
    palette = window.show_palette()
    qtbot.keyClicks(palette.edit, "gamma")
    labels = palette.visible_labels()
    assert labels and all("gamma" in label.lower() for label in labels)
    qtbot.keyClick(palette.edit, Qt.Key_Return)
    assert window.operation_panel.spec.id == "basic.gamma"


def test_dropping_a_file_imports_it_as_a_layer(window, png):
    window.files.open_files([str(png)])
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(png))])
    enter = QDragEnterEvent(QPoint(50, 50), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(50, 50), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(window, drop)
    assert len(window.workspace.document) == 2


def test_save_as_project_and_reopen(window, png, tmp_path, monkeypatch):
    window.files.open_files([str(png)])
    window.workspace.new_labels_layer()
    target = str(tmp_path / "work.imgs")
    monkeypatch.setattr("PySide6.QtWidgets.QFileDialog.getSaveFileName",
                        lambda *a, **k: (target, ""))
    assert window.files.save_as()
    assert not window.workspace.modified and "work.imgs" in window.windowTitle()
    assert window.files.recent_files()[0] == os.path.abspath(target)
    window.files.open_path(target)
    assert [lay.kind.value for lay in window.workspace.document] == ["image", "labels"]


def test_unsaved_changes_prompt_can_cancel_closing(window, png):
    window.files.open_files([str(png)])
    window.workspace.new_labels_layer()
    window.files.ask_unsaved = lambda: "cancel"
    assert not window.close()
    assert window.isVisible()
    window.files.ask_unsaved = lambda: "discard"


def test_export_active_layer(window, png, tmp_path, monkeypatch, astronaut_small):
    window.files.open_files([str(png)])
    target = str(tmp_path / "out.tif")
    monkeypatch.setattr("PySide6.QtWidgets.QFileDialog.getSaveFileName",
                        lambda *a, **k: (target, ""))
    window.files.export_dialog()
    assert np.array_equal(load_image(target), astronaut_small)


def test_window_state_is_remembered(qtbot, settings):
    first = MainWindow(settings=settings)
    qtbot.addWidget(first)
    first.resize(780, 590)  # the offscreen screen is 800×600; restored geometry is clamped to it
    first.show()
    qtbot.waitExposed(first)
    first.force_close()
    second = MainWindow(settings=settings)
    qtbot.addWidget(second)
    assert (second.width(), second.height()) == (780, 590)
    second.force_close()


def test_main_window_screenshot(window, png, qtbot, screenshot_dir):
    window.files.open_files([str(png)])
    window.workspace.new_labels_layer()
    window.op_actions["basic.gamma"].trigger()
    qtbot.wait(200)
    path = screenshot_dir / "main_window.png"
    assert window.grab().save(str(path))
    assert path.stat().st_size > 10_000


def test_screenshot_mode_starts_paints_saves_and_exits(tmp_path, png):
    out = tmp_path / "shot.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    proc = subprocess.run([sys.executable, "-m", "imgstudio", "--screenshot", str(out), str(png)],
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    shot = load_image(out)
    assert shot.shape[0] > 400 and shot.shape[1] > 600
    assert shot.std() > 10  # not a blank window


def test_undo_during_a_brush_stroke_records_the_stroke_first(window, png, qtbot):
    from tests.gui.canvas_events import at, move, press

    window.files.open_files([str(png)])
    labels = window.workspace.new_labels_layer()
    window.set_tool("brush")
    canvas = window.canvas
    qtbot.wait(50)
    press(canvas, at(canvas, 20.5, 20.5))
    move(canvas, at(canvas, 40.5, 20.5))
    assert labels.data.any()
    window.act_undo.trigger()  # Ctrl+Z with the mouse still down
    assert not labels.data.any()
    window.act_redo.trigger()
    assert labels.data[20, 30] == 1


def test_apply_runs_inside_a_rectangle_roi_drawn_on_the_canvas(window, png, qtbot,
                                                                astronaut_small):
    from tests.gui.canvas_events import at, drag

    window.files.open_files([str(png)])
    window.set_tool("rect")
    canvas = window.canvas
    qtbot.wait(50)
    drag(canvas, [at(canvas, 10.0, 8.0), at(canvas, 20.0, 14.0), at(canvas, 30.0, 20.0)])
    selection = canvas.selection
    assert selection is not None
    box = selection.bbox()
    window.op_actions["basic.invert"].trigger()
    with qtbot.waitSignal(window.operation_panel.applied, timeout=10000):
        window.operation_panel.apply()
    out = window.workspace.document[0].data
    inside = selection.mask(astronaut_small.shape[:2])
    assert inside.sum() == box.width * box.height > 0
    assert np.array_equal(out[inside], 255 - astronaut_small[inside])
    assert np.array_equal(out[~inside], astronaut_small[~inside])


def test_a_failing_operation_shows_the_message_bar_and_changes_nothing(window, png, qtbot,
                                                                      astronaut_small):
    window.files.open_files([str(png)])
    window.op_actions["basic.levels"].trigger()
    form = window.operation_panel.form
    form.set_values({"black": 200.0, "white": 100.0})
    window.operation_panel.apply_button.click()
    qtbot.waitUntil(lambda: not window.operation_panel.busy, timeout=10000)
    assert window.message_bar.current_level() == "error"
    assert "white" in window.message_bar.current_text()
    assert not window.workspace.history.steps
    assert np.array_equal(window.workspace.document[0].data, astronaut_small)


def test_selection_becomes_a_labels_layer_for_grabcut(window, png, qtbot):
    from tests.gui.canvas_events import at, drag

    window.files.open_files([str(png)])
    window.set_tool("rect")
    qtbot.wait(50)
    canvas = window.canvas
    drag(canvas, [at(canvas, 5.0, 5.0), at(canvas, 25.0, 15.0)])
    selection = canvas.selection
    window.act_labels_from_selection.trigger()
    layer = window.workspace.document.active
    assert layer.kind.value == "labels"
    assert np.array_equal(layer.data > 0, selection.mask(layer.data.shape))
    assert canvas.selection is None  # consumed: an op would otherwise run inside it
    window.act_mask_to_labels.trigger()
    assert window.workspace.document.active.data.max() == 1


def test_every_tool_class_has_an_action_with_its_title_and_shortcut(window):
    assert list(window.tool_actions) == list(TOOL_CLASSES)
    for name, cls in TOOL_CLASSES.items():
        act = window.tool_actions[name]
        assert act.text() == cls.title
        assert act.shortcut() == QKeySequence(cls.shortcut)
        assert cls.title in act.toolTip() and act.isCheckable()


def test_clicking_a_tool_button_in_the_toolbar_selects_that_tool(window, qtbot):
    toolbar = window.findChild(QToolBar, "toolbar-tools")
    for name in ("rect", "brush", "polygon", "pan"):
        button = toolbar.widgetForAction(window.tool_actions[name])
        qtbot.mouseClick(button, Qt.LeftButton)
        assert window.canvas.tool == name
        assert window.tool_actions[name].isChecked()


def test_the_recent_menu_lists_an_opened_file_and_reopens_it(window, png):
    window.files.open_files([str(png)])
    window.workspace.new_labels_layer()
    window.recent_menu.aboutToShow.emit()
    entries = window.recent_menu.actions()
    assert [a.text() for a in entries] == [os.path.abspath(png)] and entries[0].isEnabled()
    entries[0].trigger()  # ask_unsaved -> "discard"
    assert [lay.kind.value for lay in window.workspace.document] == ["image"]


def test_the_title_marks_unsaved_changes_without_qt_warnings(window, png, capfd):
    from imgstudio.core.apply import apply_operation

    assert window.files.open_files([str(png)]) == []
    assert not window.isWindowModified()
    ws = window.workspace
    apply_operation(ws.document, ws.history, "basic.invert")
    assert ws.modified and window.isWindowModified()
    assert "photo.png" in window.windowTitle() and "[*]" in window.windowTitle()
    assert "placeholder" not in capfd.readouterr().err


def test_the_canvas_has_the_keyboard_from_the_start(window, png, qtbot):
    assert window.files.open_files([str(png)]) == []
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is window.canvas, timeout=3000)
    zoom = window.canvas.zoom
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Plus)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_1)
    assert window.label_spin.value() == 1  # not "+11"
    assert window.canvas.zoom != zoom


def test_crop_takes_the_rectangle_selection(window, png, qtbot, astronaut_small):
    from tests.gui.canvas_events import at, drag

    window.files.open_files([str(png)])
    window.set_tool("rect")
    canvas = window.canvas
    qtbot.wait(50)
    drag(canvas, [at(canvas, 10.0, 8.0), at(canvas, 25.0, 15.0), at(canvas, 40.0, 30.0)])
    box = canvas.selection.bbox()
    assert box.width > 10 and box.height > 10
    window.op_actions["basic.crop"].trigger()
    values = window.operation_panel.form.values()
    assert (values["x"], values["y"], values["width"], values["height"]) == (
        box.x0, box.y0, box.width, box.height)
    with qtbot.waitSignal(window.operation_panel.applied, timeout=10000):
        window.operation_panel.apply()
    out = window.workspace.document[0].data
    assert np.array_equal(out, astronaut_small[box.y0:box.y1, box.x0:box.x1])
