"""What the op declares about its optional inputs, seen in the main window's Operation form:
parameters that do not apply are hidden, an optional input starts on a suitable layer, and an
input left at "(none)" is named with what it leaves out."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

import imgstudio.api as api
from imgstudio.core.document import Document, ImageLayer, LabelsLayer
from imgstudio.core.workspace import Workspace
from imgstudio.gui.forms import NONE_TEXT
from tests.gui.canvas_events import LEFT

H, W = 120, 160


def two_discs() -> np.ndarray:
    """Two touching discs of different brightness on a dark ground, light noise."""
    yy, xx = np.mgrid[:H, :W]
    left = (xx - 50) ** 2 + (yy - 60) ** 2 < 30**2
    right = (xx - 106) ** 2 + (yy - 60) ** 2 < 30**2
    rng = np.random.default_rng(1)
    image = np.where(right, 0.9, np.where(left, 0.6, 0.2)) + rng.normal(0, 0.04, (H, W))
    return np.clip(image * 255, 0, 255).astype(np.uint8)


def painted_markers() -> np.ndarray:
    out = np.zeros((H, W), np.int32)
    out[58:63, 48:53], out[58:63, 104:109], out[2:6, 2:150] = 1, 2, 3
    return out


def show(window, qtbot, layers) -> Document:
    doc = Document(list(layers))
    window.files.show_workspace(Workspace(doc))
    qtbot.wait(50)
    return doc


def choose(qtbot, combo, text: str) -> None:
    """Pick ``text`` in a combo box the way a user does: keyboard on the focused box."""
    combo.setFocus()
    index = combo.findText(text)
    assert index >= 0, text
    while combo.currentIndex() != index:
        key = Qt.Key.Key_Down if combo.currentIndex() < index else Qt.Key.Key_Up
        QTest.keyClick(combo, key)
    qtbot.wait(10)


def apply(window, qtbot, timeout: int = 60000):
    panel = window.operation_panel
    with qtbot.waitSignal(panel.applied, timeout=timeout) as blocker:
        qtbot.mouseClick(panel.apply_button, LEFT)
    return blocker.args[0]


def grab_panel(window, qtbot, path) -> None:
    qtbot.wait(30)
    assert window.operation_panel.grab().save(str(path))


def test_watershed_hides_the_automatic_marker_settings_while_markers_are_chosen(
        window, qtbot, screenshot_dir):
    image = two_discs()
    show(window, qtbot, [ImageLayer(image, "coins"),
                         LabelsLayer(painted_markers(), "Painted")])
    doc = window.workspace.document
    doc.active = doc.layers[0]
    window.op_actions["segment.watershed"].trigger()
    form = window.operation_panel.form
    picker = form.widget_for("markers")
    assert picker.currentText() == NONE_TEXT  # named unlike the input: not picked for the user
    assert form.is_shown("min_distance") and form.is_shown("footprint")
    assert form.is_shown("compactness")
    grab_panel(window, qtbot, screenshot_dir / "form_watershed_without_markers.png")

    choose(qtbot, picker, "Painted")
    assert not form.is_shown("min_distance") and not form.is_shown("footprint")
    assert form.is_shown("compactness")  # it applies either way
    assert not form.widget_for("min_distance").isVisible()
    grab_panel(window, qtbot, screenshot_dir / "form_watershed_with_markers.png")
    result = apply(window, qtbot).new_layers[0]
    np.testing.assert_array_equal(
        result.data, api.run("segment.watershed", image, markers=painted_markers()))

    choose(qtbot, picker, NONE_TEXT)
    assert form.is_shown("min_distance") and form.is_shown("footprint")
    assert form.widget_for("min_distance").isVisible()


def test_regions_image_starts_on_the_only_image_layer(window, qtbot, screenshot_dir):
    image = two_discs()
    labels = api.run("segment.watershed", image)
    show(window, qtbot, [ImageLayer(image, "coins"), LabelsLayer(labels, "objects")])
    doc = window.workspace.document
    doc.active = doc.layers[1]
    window.op_actions["measure.regions"].trigger()
    panel = window.operation_panel
    form = panel.form
    assert form.widget_for("image").currentText() == "coins"
    assert form.left_out() == [] and not form.note_label.isVisible()
    grab_panel(window, qtbot, screenshot_dir / "form_regions_image_prefilled.png")
    table = apply(window, qtbot).result
    expected = api.run("measure.regions", labels, image=image)
    assert "mean_intensity" in table.columns
    np.testing.assert_allclose(table.columns["mean_intensity"],
                               expected.columns["mean_intensity"])
    assert panel.status_label.text() == "Applied Measure regions"


def test_regions_left_at_none_says_what_it_leaves_out(window, qtbot, screenshot_dir):
    image = two_discs()
    labels = api.run("segment.watershed", image)
    show(window, qtbot, [ImageLayer(image, "coins"), LabelsLayer(labels, "objects")])
    doc = window.workspace.document
    doc.active = doc.layers[1]
    window.op_actions["measure.regions"].trigger()
    panel, form = window.operation_panel, window.operation_panel.form
    choose(qtbot, form.widget_for("image"), NONE_TEXT)
    note = "mean_intensity needs an image: none chosen"
    assert form.note_label.isVisible() and form.note_label.text() == note
    grab_panel(window, qtbot, screenshot_dir / "form_regions_image_none.png")
    table = apply(window, qtbot).result
    assert "mean_intensity" not in table.columns
    assert panel.status_label.text() == f"Applied Measure regions. Left out: {note}"
    # the note follows the properties typed in; none of them needs the image: no note
    edit = form.widget_for("properties")
    edit.setFocus()
    edit.selectAll()
    QTest.keyClicks(edit, "area,intensity_max")
    assert form.note_label.text() == "intensity_max needs an image: none chosen"
    edit.selectAll()
    QTest.keyClicks(edit, "area")
    assert form.left_out() == [] and not form.note_label.isVisible()


@pytest.mark.parametrize(("names", "active", "expected"), [
    (["coins", "other"], "Watershed of coins 2", "coins"),  # the source, by the result's name
    (["coins", "other"], "objects", NONE_TEXT),  # two images, no telling: left to the user
])
def test_regions_image_starts_on_the_source_when_its_name_tells(window, qtbot, names, active,
                                                                 expected):
    image = two_discs()
    layers = [ImageLayer(image.copy(), n) for n in names]
    show(window, qtbot, [*layers, LabelsLayer(api.run("segment.watershed", image), active)])
    doc = window.workspace.document
    doc.active = doc.layers[-1]
    window.op_actions["measure.regions"].trigger()
    assert window.operation_panel.form.widget_for("image").currentText() == expected
