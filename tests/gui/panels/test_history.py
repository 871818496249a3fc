"""HistoryPanel: rows for the steps, click to jump, recipe and script export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QFileDialog

from imgstudio.core.document import Document, ImageLayer
from imgstudio.core.history import SetLayerProperty, SetPixels
from imgstudio.core.recipe import LayerRef, RecipeStep, RecordedStep, load_recipe
from imgstudio.core.workspace import Workspace
from imgstudio.gui.panels.history import HistoryPanel, format_value
from tests.gui.helpers import _click_row


def _gamma(image: np.ndarray, gamma: float) -> np.ndarray:
    return np.round(255 * (image / 255) ** (1 / gamma)).astype(np.uint8)


def _step(layer, op_id, params=None):
    """An op call recorded as replacing ``layer`` in place."""
    return RecordedStep(op_id, params or {}, {"image": LayerRef(layer.id, layer.name)},
                        layer.name, ((None, layer.id),))


@pytest.fixture
def edited(workspace):
    """Three steps: gamma 2.0, invert, hide; returns the pixel states after each."""
    layer = workspace.document[0]
    states = [layer.data.copy()]
    for label, step, new in [
        ("Gamma", _step(layer, "basic.gamma", {"gamma": 2.0}), _gamma(layer.data, 2.0)),
        ("Invert", _step(layer, "basic.invert"), None),
    ]:
        new = 255 - layer.data if new is None else new
        workspace.history.execute(SetPixels(layer, new, label=label, step=step))
        states.append(layer.data.copy())
    workspace.history.execute(SetLayerProperty(layer, "visible", False))
    states.append(layer.data.copy())
    return states


@pytest.fixture
def panel(qtbot, workspace):
    w = HistoryPanel(workspace)
    qtbot.addWidget(w)
    w.resize(280, 360)
    w.show()
    return w


def test_rows_show_original_then_steps_with_params(panel, edited):
    assert panel.row_texts() == [
        "Original", "Gamma (gamma=2.0)", "Invert", "Set visible of astronaut"]
    assert panel.list.currentRow() == 3
    assert panel.list.item(3).font().bold()


def test_clicking_rows_jumps_back_and_forward(qtbot, panel, workspace, edited):
    layer = workspace.document[0]
    _click_row(qtbot, panel, 1)
    assert workspace.history.index == 0
    np.testing.assert_array_equal(layer.data, edited[1])
    assert layer.visible
    _click_row(qtbot, panel, 0)
    np.testing.assert_array_equal(layer.data, edited[0])
    _click_row(qtbot, panel, 2)
    np.testing.assert_array_equal(layer.data, edited[2])
    assert panel.list.currentRow() == 2
    assert panel.row_texts()[1:3] == ["Gamma (gamma=2.0)", "Invert"]


def test_redoable_rows_are_greyed_and_current_is_bold(qtbot, panel, workspace, edited):
    _click_row(qtbot, panel, 1)
    greyed = panel.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
    normal = panel.palette().color(QPalette.ColorGroup.Active, QPalette.ColorRole.Text)
    colours = [panel.list.item(r).foreground().color() for r in range(4)]
    assert colours == [normal, normal, greyed, greyed]
    assert [panel.list.item(r).font().bold() for r in range(4)] == [False, True, False, False]


def test_undo_redo_buttons(qtbot, panel, workspace, edited):
    layer = workspace.document[0]
    qtbot.mouseClick(panel.undo_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(panel.undo_button, Qt.MouseButton.LeftButton)
    np.testing.assert_array_equal(layer.data, edited[1])
    assert panel.list.currentRow() == 1
    qtbot.mouseClick(panel.redo_button, Qt.MouseButton.LeftButton)
    np.testing.assert_array_equal(layer.data, edited[2])
    workspace.history.jump(-1)
    assert not panel.undo_button.isEnabled() and panel.redo_button.isEnabled()
    assert panel.list.currentRow() == 0


def test_a_new_edit_drops_the_redo_rows(panel, workspace, edited):
    workspace.history.jump(0)
    layer = workspace.document[0]
    workspace.history.execute(SetPixels(layer, layer.data // 2, label="Halve"))
    assert panel.row_texts() == ["Original", "Gamma (gamma=2.0)", "Halve"]


def test_save_recipe_round_trips(panel, workspace, edited, tmp_path):
    path = panel.save_recipe_to(tmp_path / "steps")
    assert path.endswith("steps.json")
    name = workspace.document[0].name
    assert load_recipe(path).steps == (
        RecipeStep("basic.gamma", {"gamma": 2.0}, {"image": name}, name),
        RecipeStep("basic.invert", {}, {"image": name}, name))


def test_export_script_writes_a_compilable_script(panel, edited, tmp_path):
    messages = []
    panel.info.connect(messages.append)
    path = panel.export_script_to(tmp_path / "replay.py")
    text = Path(path).read_text(encoding="utf-8")
    compile(text, path, "exec")
    name = panel.workspace.document[0].name
    assert f"layers.run('basic.gamma', {{'image': {name!r}}}, {name!r}, {{'gamma': 2.0}})" in text
    assert f"layers.run('basic.invert', {{'image': {name!r}}}, {name!r}, {{}})" in text
    assert messages == [f"Exported script to {path}"]


def test_save_button_asks_for_a_path_and_writes(qtbot, panel, edited, tmp_path, monkeypatch):
    target = tmp_path / "chosen.json"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    with qtbot.waitSignal(panel.info):
        qtbot.mouseClick(panel.save_recipe_button, Qt.MouseButton.LeftButton)
    assert len(load_recipe(target).steps) == 2


def test_export_failure_is_reported_not_raised(qtbot, panel, workspace, tmp_path, monkeypatch):
    layer = workspace.document[0]
    workspace.history.execute(SetPixels(layer, 255 - layer.data, label="Mystery",
                                        step=_step(layer, "nowhere.mystery", {"k": 1})))
    target = tmp_path / "out.py"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    with qtbot.waitSignal(panel.error) as blocker:
        qtbot.mouseClick(panel.export_script_button, Qt.MouseButton.LeftButton)
    assert "nowhere.mystery" in blocker.args[0]
    assert not target.exists()


def test_export_buttons_follow_the_recipe(panel, workspace, edited):
    assert panel.save_recipe_button.isEnabled()
    workspace.history.jump(-1)
    assert not panel.save_recipe_button.isEnabled()
    assert not panel.export_script_button.isEnabled()


def test_history_notices_become_messages(qtbot, rgb_image):
    ws = Workspace(Document([ImageLayer(rgb_image, "noise")]), undo_budget=1)
    try:
        w = HistoryPanel(ws)
        qtbot.addWidget(w)
        layer = ws.document[0]
        with qtbot.waitSignal(w.message, timeout=1000) as blocker:
            for _ in range(3):
                ws.history.execute(SetPixels(layer, (layer.data + 1).astype(np.uint8)))
                if blocker.signal_triggered:
                    break
        assert "Dropped" in blocker.args[0]
        assert w.row_texts()[0] == "Original"
        assert len(w.row_texts()) == len(ws.history.steps) + 1
    finally:
        ws.close()


def test_format_value_is_short():
    assert format_value(0.1 + 0.2) == "0.3"
    assert format_value("reflect") == "reflect"
    assert format_value(list(range(100))).endswith("…")


def test_history_panel_screenshot(qtbot, panel, workspace, edited, screenshot_dir):
    _click_row(qtbot, panel, 2)
    panel.grab().save(str(screenshot_dir / "history_panel.png"))
