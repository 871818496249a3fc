"""ParamForm: one widget per parameter kind, layer pickers, remembered values, reset."""

from __future__ import annotations

import dataclasses
import pathlib

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QColorDialog,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSlider,
    QSpinBox,
    QToolButton,
)

import imgstudio.api as api
from imgstudio.core.document import ImageLayer, LabelsLayer, PointsLayer
from imgstudio.core.spec import ParamSpec, build_spec
from imgstudio.core.types import Color, Image
from imgstudio.gui.forms import NONE_TEXT, ParamForm
from tests.gui.helpers import Mode, every_kind, type_into

EVERY_KIND = build_spec(every_kind, "test.every_kind", title="Every kind")


@pytest.fixture
def document(workspace):
    doc = workspace.document
    image = doc.active
    doc.append(LabelsLayer(np.zeros(image.shape, np.int32), "seeds"))
    doc.append(PointsLayer(np.array([[1.0, 2.0]]), "pts"))
    doc.append(ImageLayer(np.zeros((8, 8), np.uint8), "small"))
    doc.active = image
    return doc


def make_form(qtbot, spec, document, settings) -> ParamForm:
    form = ParamForm(spec, document, settings)
    qtbot.addWidget(form)
    form.show()
    return form


def combo_texts(combo: QComboBox) -> list[str]:
    return [combo.itemText(i) for i in range(combo.count())]


@pytest.mark.parametrize("op_id", [s.id for s in api.list_operations()])
def test_every_registered_op_builds_a_form_that_validates_at_defaults(
        qtbot, document, settings, op_id):
    spec = api.get_operation(op_id)
    form = make_form(qtbot, spec, document, settings)
    needs_example = {"path": "example.png", "floats": "1, 2"}
    form.set_values({p.name: needs_example[p.kind] for p in spec.params
                     if p.required and p.kind in needs_example})
    values = form.values()
    assert set(values) == {p.name for p in spec.params}
    checked = spec.validate(values)
    for p in spec.params:
        if not p.required:
            expected = p.coerce(p.default) if p.default is not None else None
            assert checked[p.name] == expected


def test_each_kind_maps_to_its_widget(qtbot, document, settings):
    form = make_form(qtbot, EVERY_KIND, document, settings)
    w = form.widget_for
    assert isinstance(w("count"), QSpinBox) and isinstance(w("count", "slider"), QSlider)
    assert (w("count").minimum(), w("count").maximum(), w("count").value()) == (1, 10, 3)
    assert isinstance(w("sigma"), QDoubleSpinBox) and w("sigma").singleStep() == 0.5
    assert isinstance(w("size"), QSpinBox)
    with pytest.raises(KeyError):
        w("size", "slider")  # unbounded: no slider
    assert isinstance(w("radius"), QDoubleSpinBox) and w("radius", "auto").isChecked()
    assert not w("radius").isEnabled()
    assert isinstance(w("flag"), QCheckBox) and w("flag").isChecked()
    assert isinstance(w("name"), QLineEdit) and w("name").text() == "hello"
    assert combo_texts(w("shape")) == ["disk", "square"]
    assert combo_texts(w("mode")) == ["fast", "good"]
    assert isinstance(w("file"), QLineEdit) and isinstance(w("file", "button"), QToolButton)
    assert isinstance(w("tint"), QPushButton) and w("tint").text() == "#ff0000"
    assert isinstance(w("freqs"), QLineEdit) and w("freqs").text() == "1, 2.5"
    assert isinstance(w("seeds"), QComboBox) and isinstance(w("others"), QListWidget)
    assert w("count").toolTip() == "How many."
    assert w("seeds").toolTip() == "Seed labels painted with the brush."
    assert EVERY_KIND.validate(form.values()) == {
        "count": 3, "sigma": 1.5, "size": 7, "radius": None, "flag": True, "name": "hello",
        "shape": "disk", "mode": Mode.FAST, "file": None, "tint": Color(255, 0, 0),
        "freqs": (1.0, 2.5)}


def test_unknown_param_kind_is_a_type_error(qtbot, document, settings):
    bad = dataclasses.replace(EVERY_KIND, params=(ParamSpec("m", "matrix", None),))
    with pytest.raises(TypeError, match="m has unknown kind 'matrix'"):
        ParamForm(bad, document, settings)


def test_driving_the_widgets_changes_values_and_emits_once_per_change(
        qtbot, document, settings, monkeypatch):
    form = make_form(qtbot, EVERY_KIND, document, settings)
    changes = []
    form.changed.connect(lambda: changes.append(1))
    type_into(qtbot, form.widget_for("count"), "7")
    assert form.values()["count"] == 7 and len(changes) == 1
    form.widget_for("sigma", "slider").setValue(1000)  # the slider drives the spin box
    assert form.values()["sigma"] == 5.0 and len(changes) == 2
    qtbot.mouseClick(form.widget_for("radius", "auto"), Qt.MouseButton.LeftButton)
    assert form.widget_for("radius").isEnabled() and form.values()["radius"] == 0.0
    qtbot.mouseClick(form.widget_for("flag"), Qt.MouseButton.LeftButton)
    form.widget_for("shape").setCurrentIndex(1)
    form.widget_for("mode").setCurrentIndex(1)
    form.widget_for("name").clear()
    qtbot.keyClicks(form.widget_for("name"), "abc")
    form.widget_for("freqs").clear()
    qtbot.keyClicks(form.widget_for("freqs"), "3, 4.5, 6")
    monkeypatch.setattr(QColorDialog, "getColor", staticmethod(lambda *a: QColor(0, 255, 0)))
    qtbot.mouseClick(form.widget_for("tint"), Qt.MouseButton.LeftButton)
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *a, **k: ("/tmp/in.png", "")))
    qtbot.mouseClick(form.widget_for("file", "button"), Qt.MouseButton.LeftButton)
    values = EVERY_KIND.validate(form.values())
    assert values == {
        "count": 7, "sigma": 5.0, "size": 7, "radius": 0.0, "flag": False, "name": "abc",
        "shape": "square", "mode": Mode.GOOD, "file": pathlib.Path("/tmp/in.png"),
        "tint": Color(0, 255, 0), "freqs": (3.0, 4.5, 6.0)}
    assert form.widget_for("tint").text() == "#00ff00"
    # 2 above, auto, flag, 2 combos, one per keystroke (3 + 9), colour, file
    assert len(changes) == 2 + 1 + 1 + 2 + 3 + 9 + 1 + 1


def test_bad_floats_text_is_left_for_the_spec_to_reject(qtbot, document, settings):
    form = make_form(qtbot, EVERY_KIND, document, settings)
    form.widget_for("freqs").clear()
    qtbot.keyClicks(form.widget_for("freqs"), "1, x")
    assert form.values()["freqs"] == "1, x"
    assert "freqs" in form.widget_for("freqs").toolTip()
    with pytest.raises(ValueError, match="freqs"):
        EVERY_KIND.validate(form.values())


def test_set_values_does_not_echo_and_reset_restores_defaults(qtbot, document, settings):
    form = make_form(qtbot, EVERY_KIND, document, settings)
    changes = []
    form.changed.connect(lambda: changes.append(1))
    form.set_values({"count": 9, "radius": 12.5, "mode": "good", "tint": "#123456",
                     "freqs": [5, 6], "file": "a.png", "flag": False})
    assert changes == []
    assert form.values()["radius"] == 12.5 and not form.widget_for("radius", "auto").isChecked()
    assert form.widget_for("count", "slider").value() == 9
    with pytest.raises(ValueError, match="count"):
        form.set_values({"count": 11})
    form.reset()
    assert len(changes) == 1
    assert EVERY_KIND.validate(form.values()) == EVERY_KIND.validate({})


def test_layer_pickers_list_only_layers_of_their_kind(qtbot, document, settings):
    form = make_form(qtbot, EVERY_KIND, document, settings)
    assert combo_texts(form.widget_for("seeds")) == ["seeds"]
    assert combo_texts(form.widget_for("mask")) == [NONE_TEXT, "seeds"]
    assert combo_texts(form.widget_for("landmarks")) == [NONE_TEXT, "pts"]
    others = form.widget_for("others")
    assert [others.item(i).text() for i in range(others.count())] == ["astronaut", "small"]
    inputs = form.inputs()
    assert inputs["seeds"] is document.by_name("seeds")
    assert inputs["mask"] is None and inputs["landmarks"] is None and inputs["others"] == []
    assert form.widget_for("mask").currentText() == NONE_TEXT
    others.item(1).setCheckState(Qt.CheckState.Checked)
    assert form.inputs()["others"] == [document.by_name("small")]


def test_layer_pickers_follow_additions_renames_and_removals(qtbot, workspace, document,
                                                            settings):
    form = make_form(qtbot, EVERY_KIND, document, settings)
    changes = []
    form.changed.connect(lambda: changes.append(1))
    markers = workspace.new_labels_layer("markers")  # inserted above the active layer
    assert combo_texts(form.widget_for("seeds")) == ["markers", "seeds"]
    assert form.inputs()["seeds"] is document.by_name("seeds")
    assert combo_texts(form.widget_for("mask")) == [NONE_TEXT, "markers", "seeds"]
    form.widget_for("mask").setCurrentIndex(1)
    assert form.inputs()["mask"] is markers
    markers.name = "big markers"
    assert combo_texts(form.widget_for("mask")) == [NONE_TEXT, "big markers", "seeds"]
    assert form.inputs()["mask"] is markers  # the choice survives the rename
    n = len(changes)
    workspace.history.undo()  # removes "big markers": the optional picker falls back to none
    assert combo_texts(form.widget_for("mask")) == [NONE_TEXT, "seeds"]
    assert form.inputs()["mask"] is None and len(changes) == n + 1


def test_remembered_values_restore_in_a_new_form(qtbot, document, settings):
    form = make_form(qtbot, EVERY_KIND, document, settings)
    form.set_values({"count": 5, "radius": 3.0, "mode": Mode.GOOD, "tint": "#00ff00",
                     "freqs": (7.0,), "name": "again", "shape": "square"})
    form.remember()
    again = make_form(qtbot, EVERY_KIND, document, settings)
    assert again.values() == form.values()
    form.reset()
    assert form.values()["count"] == 3  # reset goes to the defaults, not the remembered values


def test_remembered_values_that_no_longer_validate_are_ignored(qtbot, document, settings):
    settings.setValue("ops/test.every_kind/count", "99")
    settings.setValue("ops/test.every_kind/mode", '"gone"')
    settings.setValue("ops/test.every_kind/sigma", "not json")
    settings.setValue("ops/test.every_kind/size", "12")
    form = make_form(qtbot, EVERY_KIND, document, settings)
    values = form.values()
    assert (values["count"], values["mode"], values["sigma"], values["size"]) == (
        3, Mode.FAST, 1.5, 12)


# -- default layers of the pickers ----------------------------------------------------------------
def test_pickers_start_on_a_layer_named_like_the_input(qtbot, workspace, settings):
    doc = workspace.document
    image = doc.active
    shape = image.shape
    for name in ("Seeds", "Mask", "Other"):
        doc.append(LabelsLayer(np.zeros(shape, np.int32), name))
    doc.active = image
    form = make_form(qtbot, EVERY_KIND, doc, settings)
    assert form.inputs()["seeds"] is doc.by_name("Seeds")  # not the topmost "Other"
    assert form.inputs()["mask"] is doc.by_name("Mask")  # optional, but named for it


def test_a_seeds_picker_takes_the_active_labels_layer_else_the_newest(
        qtbot, workspace, settings):
    doc = workspace.document
    image = doc.active
    first = workspace.add_layer(LabelsLayer(np.zeros(image.shape, np.int32), "A"))
    second = workspace.add_layer(LabelsLayer(np.zeros(image.shape, np.int32), "B"))
    doc.active = image
    assert make_form(qtbot, EVERY_KIND, doc, settings).inputs()["seeds"] is second
    doc.active = first  # being painted
    form = make_form(qtbot, EVERY_KIND, doc, settings)
    assert form.inputs()["seeds"] is first and form.inputs()["mask"] is None


def test_a_required_picker_without_layers_takes_the_first_one_added(qtbot, workspace, settings):
    form = make_form(qtbot, EVERY_KIND, workspace.document, settings)
    assert form.inputs()["seeds"] is None
    seeds = workspace.new_labels_layer()
    assert form.inputs()["seeds"] is seeds


def test_every_parameter_kind_has_an_editor():
    from imgstudio.core.kinds import KINDS
    from imgstudio.gui.form_fields import FIELD_TYPES

    assert {kind.widget for kind in KINDS.values()} <= set(FIELD_TYPES)


def _with_reference(image: Image, reference: Image | None = None, *, strength: float = 1.0,
                    blend: float = 0.5) -> Image:
    """A test op whose ``blend`` applies only with a reference."""
    return image


def test_a_parameter_declared_with_an_input_shows_only_while_it_is_picked(
        qtbot, document, settings):
    from imgstudio.core.editor import Editor, With

    spec = build_spec(_with_reference, "test.with_reference",
                      editor=Editor(applies={"blend": With("reference")}))
    form = make_form(qtbot, spec, document, settings)
    combo = form.widget_for("reference")
    assert combo.currentText() == NONE_TEXT
    assert not form.is_shown("blend") and not form.widget_for("blend").isVisible()
    assert form.is_shown("strength")
    combo.setCurrentIndex(combo.findText("small"))
    assert form.is_shown("blend") and form.widget_for("blend").isVisible()
    assert set(form.values()) == {"strength", "blend"}  # hidden or not, every value is passed
    form.set_inputs({"reference": None})
    assert not form.is_shown("blend")
