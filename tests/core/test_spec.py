"""The @operation decorator derives a spec from the signature and validates parameters."""

from __future__ import annotations

import enum
import pathlib
from typing import Annotated, Literal

import numpy as np
import pytest

from imgstudio.core.progress import Progress
from imgstudio.core.spec import build_spec
from imgstudio.core.types import Boxes, Color, Image, Labels, Points, Range, Table


class Mode(enum.Enum):
    SOFT = "soft"
    HARD = "hard"


def sample(
    image: Image,
    *,
    mask: Labels | None = None,
    sigma: Annotated[float, Range(0.0, 10.0)] = 1.0,
    size: Annotated[int, Range(1, 31)] = 3,
    flag: bool = False,
    kind: Literal["a", "b"] = "a",
    mode: Mode = Mode.SOFT,
    path: pathlib.Path = pathlib.Path("x.txt"),
    colour: Color = Color(255, 0, 0),
    freqs: tuple[float, ...] = (0.1, 0.2),
    low: float | None = None,
    progress: Progress | None = None,
) -> Image:
    """Do nothing, with every kind of parameter.

    Parameters
    ----------
    image : ndarray
        The input.
    sigma : float
        Width of the blur,
        in pixels.
    size : int
        Window size.
    """
    return image


@pytest.fixture(scope="module")
def spec():
    return build_spec(sample, "test.sample", title="Sample", menu="Test")


def test_spec_lists_layer_inputs_in_order(spec):
    assert [(i.name, i.kind.value, i.optional) for i in spec.inputs] == [
        ("image", "image", False),
        ("mask", "labels", True),
    ]


def test_spec_maps_each_annotation_to_a_param_kind(spec):
    kinds = {p.name: p.kind for p in spec.params}
    assert kinds == {
        "sigma": "float", "size": "int", "flag": "bool", "kind": "choice", "mode": "choice",
        "path": "path", "colour": "color", "freqs": "floats", "low": "float",
    }


def test_progress_is_hidden_and_marks_long_running(spec):
    assert "progress" not in {p.name for p in spec.params}
    assert spec.long_running and spec.takes_progress


def test_bounds_and_docs_come_from_annotated_and_docstring(spec):
    sigma = spec.param("sigma")
    assert (sigma.lo, sigma.hi) == (0.0, 10.0)
    assert sigma.doc == "Width of the blur, in pixels."
    assert spec.summary == "Do nothing, with every kind of parameter."


def test_validate_fills_defaults_and_converts_strings(spec):
    out = spec.validate({"sigma": "2.5", "size": "5", "flag": "yes", "kind": "b",
                         "mode": "hard", "colour": "#00ff00", "freqs": "0.1, 0.4", "low": None})
    assert out["sigma"] == 2.5 and out["size"] == 5 and out["flag"] is True
    assert out["kind"] == "b" and out["mode"] is Mode.HARD
    assert out["colour"] == Color(0, 255, 0) and out["freqs"] == (0.1, 0.4)
    assert out["path"] == pathlib.Path("x.txt") and out["low"] is None


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"sigma": 11}, "sigma"),
        ({"sigma": -0.1}, "sigma"),
        ({"sigma": "wide"}, "sigma"),
        ({"sigma": float("nan")}, "sigma"),
        ({"size": 2.5}, "size"),
        ({"size": True}, "size"),
        ({"size": 0}, "size"),
        ({"flag": "maybe"}, "flag"),
        ({"kind": "c"}, "kind"),
        ({"mode": "medium"}, "mode"),
        ({"colour": "red"}, "colour"),
        ({"freqs": ""}, "freqs"),
        ({"nonsense": 1}, "nonsense"),
    ],
)
def test_validate_rejects_bad_values_naming_the_parameter(spec, params, name):
    with pytest.raises(ValueError, match=name):
        spec.validate(params)


def test_spec_to_json_is_plain_json(spec):
    import json

    data = json.loads(json.dumps(spec.to_json()))
    assert data["id"] == "test.sample"
    assert data["params"][0] == {
        "name": "sigma", "kind": "float", "default": 1.0, "required": False, "optional": False,
        "doc": "Width of the blur, in pixels.", "range": [0.0, 10.0],
    }
    assert data["output"] == {"kind": "image"}


def test_function_is_returned_unchanged_by_the_decorator(monkeypatch):
    from imgstudio.core import spec
    from imgstudio.core.spec import operation

    def f(image: Image) -> Image:
        """Identity."""
        return image

    monkeypatch.setattr(spec, "_PENDING", {})  # never registered for the other tests
    assert operation("test.identity_unchanged")(f) is f


def test_result_outputs_are_recognised():
    def boxes(image: Image) -> Boxes:
        """Find boxes."""
        return Boxes(np.zeros((0, 4)))

    def table(image: Image, *, points: Points | None = None) -> Table:
        """Measure."""
        return Table({"a": []})

    assert build_spec(boxes, "test.boxes").output.result_type is Boxes
    assert build_spec(table, "test.table").output.kind == "result"


@pytest.mark.parametrize(
    ("func_src", "message"),
    [
        ("def f(image: Image, *, x) -> Image:\n    'Doc.'\n", "no type annotation"),
        ("def f(image: Image, *, x: dict = {}) -> Image:\n    'Doc.'\n", "unsupported type"),
        ("def f(image: Image, *, x: float = None) -> Image:\n    'Doc.'\n", "T \\| None"),
        ("def f(image: Image, *, x: int = 1):\n    'Doc.'\n", "return annotation"),
        ("def f(image: Image, *, x: int = 1) -> Image:\n    pass\n", "docstring"),
        ("def f(image: Image, x: int = 1) -> Image:\n    'Doc.'\n", "keyword-only"),
        (
            "def f(image: Image, *, x: Annotated[int, Range(0, 5)] = 9) -> Image:\n    'Doc.'\n",
            "default of x",
        ),
    ],
)
def test_bad_signatures_are_rejected_at_registration(func_src, message):
    namespace = {"Image": Image, "Annotated": Annotated, "Range": Range}
    exec(func_src, namespace)
    with pytest.raises(TypeError, match=message):
        build_spec(namespace["f"], "test.bad")


def test_bad_ids_are_rejected():
    with pytest.raises(ValueError, match="family.name"):
        build_spec(sample, "NoDot")


def test_a_line_documenting_several_names_documents_each():
    from imgstudio.core.spec import _param_doc_map

    doc = """Summary.

    Parameters
    ----------
    x, y : int
        Top-left corner of the crop.
    width : int
        Its width.

    Returns
    -------
    ndarray
    """
    assert _param_doc_map(doc) == {"x": "Top-left corner of the crop.",
                                   "y": "Top-left corner of the crop.", "width": "Its width."}


def test_every_registered_parameter_and_input_is_documented():
    import imgstudio.api as api

    missing = [(s.id, p.name) for s in api.list_operations() for p in s.params if not p.doc]
    missing += [(s.id, i.name) for s in api.list_operations() for i in s.inputs if not i.doc]
    assert missing == []


def test_editor_declarations_must_name_real_parameters_and_inputs():
    from imgstudio.core.editor import Editor, Needs, Without

    def op(image: Image, markers: Labels | None = None, *, spread: float = 1.0) -> Image:
        """Test op."""
        return image

    build_spec(op, "test.fine", editor=Editor(applies={"spread": Without("markers")},
                                              prefill=("markers",)))
    for editor, word in ((Editor(applies={"spread": Without("seeds")}), "applies"),
                         (Editor(applies={"sigma": Without("markers")}), "applies"),
                         (Editor(prefill=("image",)), "prefill"),
                         (Editor(needs={"markers": Needs("sigma", list)}), "needs")):
        with pytest.raises(TypeError, match=word):
            build_spec(op, "test.bad", editor=editor)
