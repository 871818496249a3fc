"""LayersPanel: the list mirrors the document; every edit is one history step."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QDropEvent, QMouseEvent
from PySide6.QtWidgets import QLineEdit, QStyle, QStyleOptionSlider

from imgstudio.core.document import BLEND_MODES, ImageLayer, PointsLayer
from imgstudio.core.history import AddLayer, MoveLayer, SetLayerProperty
from imgstudio.gui.panels.layers import LayersPanel
from tests.gui.helpers import _check_rect, _click_row


@pytest.fixture
def panel(qtbot, workspace):
    w = LayersPanel(workspace)
    qtbot.addWidget(w)
    w.resize(300, 360)
    w.show()
    return w


def _names(panel):
    return [panel.list.item(i).text() for i in range(panel.list.count())]


def _add_image(workspace, name, value=0):
    layer = ImageLayer(np.full((64, 96, 3), value, np.uint8), name)
    workspace.history.execute(AddLayer(workspace.document, layer))
    return layer


def test_list_shows_layers_top_first_with_visibility(panel, workspace):
    _add_image(workspace, "top")
    workspace.document["top" if False else workspace.document[1].id].visible = False
    assert _names(panel) == ["top", "astronaut"]
    assert panel.list.item(0).checkState() == Qt.CheckState.Unchecked
    assert panel.list.item(1).checkState() == Qt.CheckState.Checked
    assert not panel.list.item(0).icon().isNull()


def test_list_follows_add_remove_move_and_undo(panel, workspace):
    history = workspace.history
    a = _add_image(workspace, "a")
    b = _add_image(workspace, "b")
    assert _names(panel) == ["b", "a", "astronaut"]
    history.execute(MoveLayer(workspace.document, b, 0))
    assert _names(panel) == ["a", "astronaut", "b"]
    history.undo()
    assert _names(panel) == ["b", "a", "astronaut"]
    history.undo()
    history.undo()
    assert _names(panel) == ["astronaut"]
    history.redo()
    assert _names(panel) == ["a", "astronaut"]
    assert panel.list.currentRow() == panel.row_of(a)


def test_clicking_a_row_makes_its_layer_active_without_a_step(qtbot, panel, workspace):
    a = _add_image(workspace, "a")
    steps = len(workspace.history.steps)
    assert workspace.document.active is a
    _click_row(qtbot, panel, 1)
    assert workspace.document.active is workspace.document.by_name("astronaut")
    assert len(workspace.history.steps) == steps
    workspace.document.active = a  # and the other way round
    assert panel.list.currentRow() == 0


def test_visibility_checkbox_is_one_step_and_undoes(qtbot, panel, workspace):
    layer = workspace.document[0]
    qtbot.mouseClick(panel.list.viewport(), Qt.MouseButton.LeftButton,
                     pos=_check_rect(panel, 0).center())
    assert layer.visible is False
    assert len(workspace.history.steps) == 1
    assert isinstance(workspace.history.steps[0], SetLayerProperty)
    workspace.history.undo()
    assert layer.visible is True
    assert panel.list.item(0).checkState() == Qt.CheckState.Checked


def _slider_handle(slider):
    opt = QStyleOptionSlider()
    slider.initStyleOption(opt)
    return slider.style().subControlRect(QStyle.ComplexControl.CC_Slider, opt,
                                         QStyle.SubControl.SC_SliderHandle, slider)


def _mouse(widget, kind, pos, buttons):
    event = QMouseEvent(kind, QPointF(pos), QPointF(widget.mapToGlobal(pos)),
                        Qt.MouseButton.LeftButton, buttons, Qt.KeyboardModifier.NoModifier)
    widget.event(event)


def test_opacity_drag_records_one_step_from_the_press_value(qtbot, panel, workspace):
    layer = workspace.document[0]
    slider = panel.opacity_slider
    assert slider.value() == 100
    start = _slider_handle(slider).center()
    left = Qt.MouseButton.LeftButton
    _mouse(slider, QEvent.Type.MouseButtonPress, start, left)
    for dx in (-20, -60, -100):
        _mouse(slider, QEvent.Type.MouseMove, start + QPoint(dx, 0), left)
    live = layer.opacity
    assert live < 1.0  # live feedback while dragging
    assert workspace.history.steps == ()
    _mouse(slider, QEvent.Type.MouseButtonRelease, start + QPoint(-100, 0),
           Qt.MouseButton.NoButton)
    assert len(workspace.history.steps) == 1
    assert layer.opacity == pytest.approx(slider.value() / 100) == pytest.approx(live)
    workspace.history.undo()
    assert layer.opacity == 1.0
    assert slider.value() == 100


def test_blend_combo_sets_blend_mode_in_one_step(qtbot, panel, workspace):
    layer = workspace.document[0]
    panel.blend_combo.setFocus()
    qtbot.keyClick(panel.blend_combo, Qt.Key.Key_Down)
    assert layer.blend_mode == BLEND_MODES[1]
    assert len(workspace.history.steps) == 1
    workspace.history.undo()
    assert layer.blend_mode == "normal"
    assert panel.blend_combo.currentText() == "normal"


def test_duplicate_button_adds_an_independent_copy_above(qtbot, panel, workspace):
    original = workspace.document[0]
    qtbot.mouseClick(panel.buttons["duplicate"], Qt.MouseButton.LeftButton)
    assert _names(panel) == ["astronaut copy", "astronaut"]
    dup = workspace.document[1]
    assert workspace.document.active is dup
    np.testing.assert_array_equal(dup.data, original.data)
    assert dup.data is not original.data and dup.id != original.id
    dup.data[0, 0] = 7
    assert not np.array_equal(dup.data, original.data)
    assert len(workspace.history.steps) == 1
    workspace.history.undo()
    assert _names(panel) == ["astronaut"]


def test_delete_button_removes_the_active_layer_and_undo_restores(qtbot, panel, workspace):
    _add_image(workspace, "a")
    qtbot.mouseClick(panel.buttons["delete"], Qt.MouseButton.LeftButton)
    assert _names(panel) == ["astronaut"]
    workspace.history.undo()
    assert _names(panel) == ["a", "astronaut"]
    assert panel.list.currentRow() == 0


def test_up_and_down_buttons_move_the_active_layer(qtbot, panel, workspace):
    _add_image(workspace, "a")
    _add_image(workspace, "b")
    _click_row(qtbot, panel, 2)  # astronaut, at the bottom
    assert not panel.buttons["down"].isEnabled()
    qtbot.mouseClick(panel.buttons["up"], Qt.MouseButton.LeftButton)
    assert _names(panel) == ["b", "astronaut", "a"]
    qtbot.mouseClick(panel.buttons["up"], Qt.MouseButton.LeftButton)
    assert _names(panel) == ["astronaut", "b", "a"]
    assert not panel.buttons["up"].isEnabled()
    qtbot.mouseClick(panel.buttons["down"], Qt.MouseButton.LeftButton)
    assert _names(panel) == ["b", "astronaut", "a"]
    assert panel.list.currentRow() == 1


def test_rename_by_editing_is_one_step(qtbot, panel, workspace):
    layer = workspace.document[0]
    qtbot.keyClick(panel.list, Qt.Key.Key_F2)
    editor = panel.list.viewport().findChild(QLineEdit)
    assert editor is not None and editor.text() == "astronaut"
    editor.selectAll()
    qtbot.keyClicks(editor, "sky")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: layer.name == "sky")  # the delegate commits on a queued call
    assert _names(panel) == ["sky"]
    assert len(workspace.history.steps) == 1
    workspace.history.undo()
    assert _names(panel) == ["astronaut"]


def test_empty_name_is_refused(panel, workspace):
    panel.list.item(0).setText("  ")
    assert workspace.document[0].name == "astronaut"
    assert _names(panel) == ["astronaut"]
    assert workspace.history.steps == ()


def test_drop_reorders_through_one_move_step(qtbot, panel, workspace):
    _add_image(workspace, "a")
    _add_image(workspace, "b")  # rows: b, a, astronaut
    _click_row(qtbot, panel, 0)
    lst = panel.list
    steps = len(workspace.history.steps)
    mime = lst.model().mimeData([lst.model().index(0, 0)])
    bottom = lst.visualItemRect(lst.item(2))
    pos = QPointF(bottom.center().x(), bottom.bottom() - 1)  # lower half of the last row
    event = QDropEvent(pos, Qt.DropAction.MoveAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    lst.dropEvent(event)
    assert event.isAccepted() and event.dropAction() == Qt.DropAction.IgnoreAction
    assert _names(panel) == ["a", "astronaut", "b"]
    assert len(workspace.history.steps) == steps + 1
    assert isinstance(workspace.history.steps[-1], MoveLayer)
    workspace.history.undo()
    assert _names(panel) == ["b", "a", "astronaut"]


def test_move_row_maps_rows_to_document_indices(panel, workspace):
    _add_image(workspace, "a")
    _add_image(workspace, "b")
    panel.move_row(2, 0)
    assert _names(panel) == ["astronaut", "b", "a"]
    panel.move_row(0, 0)
    assert len(workspace.history.steps) == 3


def test_add_labels_and_points_buttons(qtbot, panel, workspace):
    qtbot.mouseClick(panel.buttons["add_labels"], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(panel.buttons["add_points"], Qt.MouseButton.LeftButton)
    assert [type(lay).__name__ for lay in workspace.document] == [
        "ImageLayer", "LabelsLayer", "PointsLayer"]
    assert len(workspace.history.steps) == 2
    assert isinstance(workspace.document.active, PointsLayer)
    assert panel.list.currentRow() == 0
    assert workspace.document[1].data.shape == workspace.document[0].shape


def test_panel_stops_listening_once_closed(qtbot, workspace):
    w = LayersPanel(workspace)
    qtbot.addWidget(w)
    w.close()
    _add_image(workspace, "a")  # must not touch the closed panel
    assert w.list.count() == 1
    w.show()
    assert _names(w) == ["a", "astronaut"]


def test_deleted_panel_is_disconnected(qtbot, workspace):
    w = LayersPanel(workspace)
    w.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    _add_image(workspace, "a")  # the C++ side is gone; the wrapper must not be called
    workspace.history.undo()
    assert len(workspace.document) == 1


def test_layers_panel_screenshot(qtbot, panel, workspace, screenshot_dir):
    _add_image(workspace, "background", 40)
    workspace.history.execute(AddLayer(workspace.document, PointsLayer(np.zeros((3, 2)), "Landmarks")))
    workspace.document.by_name("background").visible = False
    workspace.document.active = workspace.document.by_name("astronaut")
    workspace.document.active.opacity = 0.6
    panel.grab().save(str(screenshot_dir / "layers_panel.png"))


def test_outlines_checkbox_toggles_labels_contours_as_one_step(qtbot, workspace):
    from imgstudio.gui.panels.layers import LayersPanel

    panel = LayersPanel(workspace)
    qtbot.addWidget(panel)
    panel.show()
    labels = workspace.new_labels_layer()
    assert panel.contours_check.isVisible() and not panel.contours_check.isChecked()
    box = panel.contours_check
    qtbot.mouseClick(box, Qt.LeftButton, pos=QPoint(8, box.height() // 2))  # the indicator
    assert labels.contours is True
    steps = len(workspace.history.steps)
    workspace.history.undo()
    assert labels.contours is False and not panel.contours_check.isChecked()
    assert steps == len(workspace.history.steps)
    workspace.document.active = workspace.document[0]
    assert not panel.contours_check.isVisible()
