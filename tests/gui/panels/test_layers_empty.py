"""The Layers panel with nothing to act on: buttons, opacity and blend are disabled and the
opacity shows no bogus value; they come alive with a layer."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from imgstudio.core.document import Document, ImageLayer, PointsLayer
from imgstudio.core.history import AddLayer
from imgstudio.core.workspace import Workspace
from imgstudio.gui.panels.layers import LayersPanel

ALL_BUTTONS = ("add_labels", "add_points", "duplicate", "delete", "up", "down")


@pytest.fixture
def empty():
    ws = Workspace(Document())
    yield ws
    ws.close()


@pytest.fixture
def panel(qtbot, empty):
    w = LayersPanel(empty)
    qtbot.addWidget(w)
    w.resize(300, 360)
    w.show()
    return w


def test_empty_document_disables_every_control(panel, screenshot_dir):
    for key in ALL_BUTTONS:
        assert not panel.buttons[key].isEnabled(), key
    assert not panel.actions["rename"].isEnabled()
    assert not panel.opacity_slider.isEnabled() and not panel.blend_combo.isEnabled()
    assert panel.opacity_label.text() == "–"
    assert "0%" not in panel.opacity_label.text()
    panel.grab().save(str(screenshot_dir / "layers_panel_empty.png"))


def test_clicking_disabled_add_buttons_adds_nothing(qtbot, panel, empty):
    qtbot.mouseClick(panel.buttons["add_points"], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(panel.buttons["add_labels"], Qt.MouseButton.LeftButton)
    assert len(empty.document) == 0 and len(empty.history.steps) == 0


def test_controls_come_alive_with_an_image_and_go_with_it(qtbot, panel, empty):
    image = ImageLayer(np.zeros((20, 30, 3), np.uint8), "img", opacity=0.7)
    empty.history.execute(AddLayer(empty.document, image))
    for key in ("add_labels", "add_points", "duplicate", "delete"):
        assert panel.buttons[key].isEnabled(), key
    assert panel.opacity_slider.isEnabled() and panel.opacity_slider.value() == 70
    assert panel.opacity_label.text() == "70%"
    empty.history.undo()
    assert not panel.buttons["add_points"].isEnabled()
    assert panel.opacity_label.text() == "–"


def test_a_points_layer_alone_does_not_enable_the_add_buttons(qtbot, panel, empty):
    empty.history.execute(AddLayer(empty.document, PointsLayer(np.zeros((0, 2)), "pts")))
    assert panel.buttons["delete"].isEnabled()
    assert not panel.buttons["add_labels"].isEnabled()
    assert not panel.buttons["add_points"].isEnabled()
    assert panel.opacity_slider.isEnabled()


def test_new_labels_layer_from_the_panel_shows_50_percent(qtbot, workspace):
    w = LayersPanel(workspace)
    qtbot.addWidget(w)
    w.show()
    qtbot.mouseClick(w.buttons["add_labels"], Qt.MouseButton.LeftButton)
    assert workspace.document.active.opacity == 0.5
    assert w.opacity_slider.value() == 50 and w.opacity_label.text() == "50%"
