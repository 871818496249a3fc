"""Picker (imgstudio.gui.tools.picker): a click reads the active layer's value."""

from __future__ import annotations

from tests.gui.canvas_events import at, click


def test_picker_emits_the_active_layer_value(view, workspace, qtbot):
    image = workspace.document[0].data
    view.set_tool("picker")
    with qtbot.waitSignal(view.color_picked) as sig:
        click(view, at(view, 12.5, 7.5))
    assert sig.args == [tuple(int(v) for v in image[7, 12])]


def test_picker_on_labels_picks_the_brush_label(view, workspace, qtbot):
    labels = workspace.new_labels_layer()
    labels.data[7, 12] = 6
    view.set_tool("picker")
    with qtbot.waitSignal(view.color_picked) as sig:
        click(view, at(view, 12.5, 7.5))
    assert sig.args == [(6,)] and view.brush_label == 6
