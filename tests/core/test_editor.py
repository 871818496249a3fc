"""Editor behaviour declared in the spec: input metadata, preview policy, views, wizards."""

from __future__ import annotations

from typing import Annotated

import pytest

import imgstudio.api as api
from imgstudio.core.editor import (
    Aligned,
    Editor,
    HistogramMarker,
    HistogramOverlay,
    Seeds,
    Spectrum,
    Whole,
    Wizard,
)
from imgstudio.core.spec import build_spec
from imgstudio.core.types import Image, Labels, Points


def _spec(func, **kwargs):
    return build_spec(func, "test.op", **kwargs)


def test_inputs_follow_the_main_one_by_kind_unless_declared():
    def op(image: Image, mask: Labels, reference: Image,
           other: Annotated[Image, Aligned()], template: Annotated[Labels, Whole()],
           seeds: Annotated[Labels | None, Seeds("paint")] = None) -> Image:
        """Nothing."""
        return image

    spec = _spec(op)
    aligned = {i.name: i.aligned for i in spec.inputs}
    assert aligned == {"image": True, "mask": True, "reference": False, "other": True,
                       "template": False, "seeds": True}
    seeds = spec.input("seeds")
    assert seeds.seeds and seeds.optional and seeds.hint == "paint"


def test_seeds_must_be_labels():
    def op(image: Image, s: Annotated[Image, Seeds()]) -> Image:
        """Nothing."""
        return image

    with pytest.raises(TypeError, match="Seeds input s must be Labels"):
        _spec(op)


def test_the_main_input_cannot_be_whole():
    def op(image: Annotated[Image, Whole()]) -> Image:
        """Nothing."""
        return image

    with pytest.raises(TypeError, match="cannot be Whole"):
        _spec(op)


def test_editor_declarations_are_checked_against_the_signature():
    def op(image: Image, *, x: int = 0, name: str = "") -> Image:
        """Nothing."""
        return image

    with pytest.raises(TypeError, match="position parameter 'name'"):
        _spec(op, editor=Editor(position=("x", "name")))
    with pytest.raises(TypeError, match="HistogramOverlay names no input 'reference'"):
        _spec(op, editor=Editor(views=(HistogramOverlay(("reference",)),)))
    with pytest.raises(ValueError, match="preview must be one of"):
        Editor(preview="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="preview_pixels"):
        Editor(preview_pixels=0)


def test_preview_mode_follows_the_declarations():
    op = api.get_operation
    assert op("enhance.gaussian").preview_mode() == "region"
    assert op("segment.random_walker").preview_mode({"image", "seeds"}) == "whole"
    assert op("segment.watershed").preview_mode({"image"}) == "region"
    assert op("segment.watershed").preview_mode({"image", "markers"}) == "whole"
    assert op("basic.rotate").preview_mode() == "exact"
    assert op("enhance.seamless_clone").preview_mode() == "exact"
    assert op("segment.region_grow").preview_mode() == "exact"  # Points are pixel positions
    assert op("faces.detect").preview_mode() == "whole"  # no same-size raster out
    assert op("enhance.histogram_match").preview_mode() == "whole"
    assert op("search.index").preview_mode() == "apply"
    assert op("register.stitch").preview_mode() == "apply"


def test_the_ops_declare_what_the_gui_used_to_list():
    op = api.get_operation
    assert op("segment.random_walker").editor.preview_pixels == 40_000
    assert op("segment.grabcut").input("mask").seeds
    assert {s.id for s in api.list_operations() if s.editor.geometry} == {
        "basic.crop", "basic.resize", "basic.rotate", "basic.flip", "basic.perspective",
        "basic.affine", "basic.elastic", "enhance.super_resolution"}
    assert op("enhance.seamless_clone").editor.position == ("center_x", "center_y")
    markers = {s.id for s in api.list_operations() if s.editor.view(HistogramMarker)}
    assert markers == {"binary.threshold", "segment.otsu", "segment.riddler_calvard"}
    assert op("enhance.histogram_match").editor.view(HistogramOverlay).inputs == ("reference",)
    assert op("enhance.frequency_filter").editor.view(Spectrum) is not None
    wizards = {s.editor.wizard.name: s.editor.wizard for s in api.list_operations()
               if s.editor.wizard}
    assert set(wizards) == {"face_morph", "image_search"}
    for wizard in wizards.values():
        assert isinstance(wizard, Wizard)
        for op_id in wizard.ops.values():
            api.get_operation(op_id)  # every op a wizard runs is registered


def test_points_inputs_are_positions_not_aligned():
    def op(image: Image, corners: Points) -> Image:
        """Nothing."""
        return image

    assert not _spec(op).input("corners").aligned


# -- parameters and optional inputs ----------------------------------------------------------------
def test_applies_hides_a_parameter_by_whether_an_input_is_given():
    from imgstudio.core.editor import With, Without

    editor = Editor(applies={"auto_size": Without("markers"), "spread": With("markers")})
    assert editor.applies_to("auto_size", ()) and not editor.applies_to("auto_size", {"markers"})
    assert editor.applies_to("spread", {"markers"}) and not editor.applies_to("spread", ())
    assert editor.applies_to("undeclared", ())
    with pytest.raises(ValueError, match="With"):
        Editor(applies={"auto_size": "markers"})


def test_needs_names_what_an_absent_input_leaves_out():
    from imgstudio.core.editor import Needs

    def parts(text):
        if not isinstance(text, str):
            raise ValueError("not a list")
        return [p for p in text.split(",") if "intensity" in p]

    editor = Editor(needs={"image": Needs("properties", parts)})
    assert editor.left_out({"properties": "area,mean_intensity"}, ()) == [
        "mean_intensity needs an image: none chosen"]
    assert editor.left_out({"properties": "mean_intensity,max_intensity"}, ()) == [
        "mean_intensity, max_intensity need an image: none chosen"]
    assert editor.left_out({"properties": "area,mean_intensity"}, {"image"}) == []
    assert editor.left_out({"properties": 3}, ()) == []  # the op names a bad value itself


def test_declared_conditions_name_real_parameters_and_inputs():
    """``applies``, ``prefill`` and ``needs`` of every registered op name what it has."""
    declared = 0
    for spec in api.list_operations():
        editor = spec.editor
        inputs = {i.name: i for i in spec.inputs}
        params = {p.name for p in spec.params}
        for pname, condition in editor.applies.items():
            assert pname in params and condition.input in inputs, (spec.id, pname)
            declared += 1
        for iname in editor.prefill:
            assert iname in inputs and inputs[iname].optional, (spec.id, iname)
        for iname, needs in editor.needs.items():
            assert iname in inputs and needs.param in params, (spec.id, iname)
    assert declared >= 2
    watershed = api.get_operation("segment.watershed").editor
    assert not watershed.applies_to("min_distance", {"image", "markers"})
    assert not watershed.applies_to("footprint", {"image", "markers"})
    assert watershed.applies_to("compactness", {"image", "markers"})
    regions = api.get_operation("measure.regions").editor
    assert regions.prefill == ("image",)
    assert regions.left_out({"properties": "area,centroid,bbox,mean_intensity"}, {"labels"}) == [
        "mean_intensity needs an image: none chosen"]
