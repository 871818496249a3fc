"""Parameter kinds: one table from annotation to coercion, JSON and form editor."""

from __future__ import annotations

import pathlib
from typing import Annotated, Literal

import numpy as np
import pytest

import imgstudio.api as api
from imgstudio.core.kinds import KINDS, ParamKind, kind_for, plain, register_kind
from imgstudio.core.spec import build_spec
from imgstudio.core.types import Color, Image, Range


def test_every_annotation_kind_is_found_in_the_table():
    assert kind_for(bool).name == "bool" and kind_for(int).name == "int"
    assert kind_for(float).name == "float" and kind_for(str).name == "str"
    assert kind_for(pathlib.Path).name == "path" and kind_for(Color).name == "color"
    assert kind_for(Literal["a", "b"]).name == "choice"
    assert kind_for(tuple[float, ...]).name == "floats"
    assert kind_for(dict) is None


def test_a_kind_is_registered_once():
    with pytest.raises(ValueError, match="already registered"):
        register_kind(ParamKind("int", lambda tp: False, lambda p, v: v, "number"))


def test_an_annotation_no_kind_accepts_fails_when_the_spec_is_built():
    def op(image: Image, *, table: dict = None) -> Image:  # type: ignore[assignment]
        """Nothing."""
        return image

    with pytest.raises(TypeError, match="table has unsupported type"):
        build_spec(op, "test.no_kind")


def test_plain_values_are_json():
    assert plain(pathlib.Path("/a/b")) == "/a/b" and plain(Color(1, 2, 3)) == "#010203"
    assert plain((1.0, 2.5)) == [1.0, 2.5] and plain(np.float32(0.5)) == 0.5


def test_a_float32_equal_to_a_bound_is_the_bound():
    """np.float32(0.01) is 0.009999999776 as a double: still the bound 0.01, in every op."""
    checked = 0
    for spec in api.list_operations():
        for p in spec.params:
            if p.kind != "float":
                continue
            for bound in (p.lo, p.hi):
                if bound is not None:
                    assert p.coerce(np.float32(bound)) == bound, (spec.id, p.name)
                    checked += 1
    assert checked > 100
    pencil = api.get_operation("artistic.pencil").param("sigma_r")
    below = np.nextafter(np.float32(pencil.lo), np.float32(0))
    with pytest.raises(ValueError, match="sigma_r must be >="):
        pencil.coerce(below)
    out = api.run("artistic.pencil", np.zeros((16, 16, 3), np.uint8), sigma_r=np.float32(0.01))
    assert out.shape == (16, 16)


def test_bounds_apply_to_every_number_of_a_list():
    def op(image: Image, *, freqs: Annotated[tuple[float, ...], Range(0.0, 1.0)] = (0.5,)
           ) -> Image:
        """Nothing."""
        return image

    p = build_spec(op, "test.freqs").param("freqs")
    assert p.coerce("0.1, 0.2") == (0.1, 0.2)
    with pytest.raises(ValueError, match="freqs must be <= 1.0"):
        p.coerce([0.5, 2.0])


def test_choices_prefer_the_exact_type_then_text():
    def op(image: Image, *, scale: Literal[2, 3, 4] = 2) -> Image:
        """Nothing."""
        return image

    p = build_spec(op, "test.scale").param("scale")
    assert p.coerce("3") == 3 and p.coerce(4.0) == 4 and type(p.coerce(4.0)) is int
    with pytest.raises(ValueError, match="scale must be one of 2, 3, 4"):
        p.coerce(5)


def test_every_kind_names_a_widget():
    assert {k.widget for k in KINDS.values()} == {"check", "number", "line", "file", "color",
                                                 "combo", "numbers"}
