"""Parameter kinds: one table from annotation to coercion, JSON form and form editor.

In the manner of magicgui's type map, each :class:`ParamKind` says which annotations it
accepts, how a value (a Python object, a CLI string, a JSON value from a recipe) becomes the
op's type, how that value is written back as plain JSON, and which form editor shows it. The
GUI keeps one table from ``widget`` name to editor class; adding a kind whose editor exists is
one :func:`register_kind` call here. An annotation no kind accepts is a ``TypeError`` when the
operation's spec is built.

========  ==============================  =========  ============================================
kind      annotation                      widget     notes
========  ==============================  =========  ============================================
bool      ``bool``                        check
int       ``int``                         number     bounds from ``Annotated[int, Range(lo, hi)]``
float     ``float``                       number     bounds from ``Range``
str       ``str``                         line
path      ``pathlib.Path``                file
color     ``Color``                       color      ``#rrggbb`` or ``r,g,b``
choice    ``Literal[...]`` or an Enum     combo      ``choices`` holds the allowed values
floats    ``tuple[float, ...]``           numbers    a list of numbers, e.g. frequencies
========  ==============================  =========  ============================================
"""

from __future__ import annotations

import enum
import pathlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, get_args, get_origin

import numpy as np

from imgstudio.core.types import Color

if TYPE_CHECKING:
    from imgstudio.core.spec import ParamSpec


@dataclass(frozen=True)
class ParamKind:
    """How one kind of parameter is recognised, converted, written as JSON and edited.

    ``accepts(annotation)`` is asked of the parameter's base type (``Annotated`` and
    ``| None`` removed); ``coerce(param, value)`` returns the converted value or raises
    ``ValueError`` naming ``param.name``; ``plain(value)`` gives the JSON value; ``choices``
    (for choice kinds) lists the allowed values of an annotation; ``widget`` names the form
    editor.
    """

    name: str
    accepts: Callable[[Any], bool]
    coerce: Callable[[ParamSpec, Any], Any]
    widget: str
    plain: Callable[[Any], Any] = lambda value: value
    choices: Callable[[Any], tuple[Any, ...]] | None = None


KINDS: dict[str, ParamKind] = {}


def register_kind(kind: ParamKind) -> ParamKind:
    """Add ``kind`` to the table (asked in registration order; bool before int)."""
    if kind.name in KINDS:
        raise ValueError(f"parameter kind {kind.name!r} is already registered")
    KINDS[kind.name] = kind
    return kind


def kind_for(annotation: Any) -> ParamKind | None:
    """The first registered kind that accepts ``annotation``, or None."""
    for kind in KINDS.values():
        if kind.accepts(annotation):
            return kind
    return None


def plain(value: Any) -> Any:
    """A JSON-friendly form of any parameter value (for recipes, scripts, settings)."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, pathlib.PurePath):
        return str(value)
    if isinstance(value, Color):
        return value.hex()
    if isinstance(value, tuple):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


# -- conversions ------------------------------------------------------------------------------
_BOOL_WORDS = {"true": True, "1": True, "yes": True, "on": True,
               "false": False, "0": False, "no": False, "off": False}


def _bool(p: ParamSpec, value: Any) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _BOOL_WORDS:
        return _BOOL_WORDS[value.strip().lower()]
    if isinstance(value, (int, np.integer)) and value in (0, 1):
        return bool(value)
    raise ValueError(f"{p.name} must be a bool; got {value!r}")


def to_int(name: str, value: Any) -> int:
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be an int; got {value!r}")
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise ValueError(f"{name} must be an int; got {value!r}")


def to_float(name: str, value: Any) -> float:
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be a number; got {value!r}")
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number; got {value!r}") from None
    if not np.isfinite(out):
        raise ValueError(f"{name} must be finite; got {value!r}")
    return out


def in_range(p: ParamSpec, value: Any, out: float) -> float:
    """``out`` (the converted ``value``) checked against ``p``'s bounds.

    A bound is compared in the precision ``value`` came in: a numpy float32 equal to
    ``float32(bound)`` is the bound (``np.float32(0.01)`` is 0.0099999998 as a double, but it is
    what a user typing 0.01 into a float32 pipeline means), and is returned as the bound.
    """
    for bound in (p.lo, p.hi):
        if (bound is not None and isinstance(value, np.floating)
                and value.dtype.itemsize < 8 and value == value.dtype.type(bound)):
            return type(out)(bound) if isinstance(out, float) else out
    if p.lo is not None and out < p.lo:
        raise ValueError(f"{p.name} must be >= {p.lo}; got {value!r}")
    if p.hi is not None and out > p.hi:
        raise ValueError(f"{p.name} must be <= {p.hi}; got {value!r}")
    return out


def _int(p: ParamSpec, value: Any) -> int:
    return int(in_range(p, value, to_int(p.name, value)))


def _float(p: ParamSpec, value: Any) -> float:
    return in_range(p, value, to_float(p.name, value))


def _floats(p: ParamSpec, value: Any) -> tuple[float, ...]:
    if isinstance(value, str):
        parts: list[Any] = [x for x in re.split(r"[,\s]+", value.strip("()[] ")) if x]
    else:
        try:
            parts = list(value)
        except TypeError:
            raise ValueError(f"{p.name} must be a list of numbers; got {value!r}") from None
    out = tuple(in_range(p, v, to_float(p.name, v)) for v in parts)
    if not out:
        raise ValueError(f"{p.name} must contain at least one number")
    return out


def _str(p: ParamSpec, value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{p.name} must be a string; got {value!r}")
    return value


def _path(p: ParamSpec, value: Any) -> pathlib.Path:
    if not isinstance(value, (str, pathlib.PurePath)) or str(value) == "":
        raise ValueError(f"{p.name} must be a file path; got {value!r}")
    return pathlib.Path(value)


def _color(p: ParamSpec, value: Any) -> Color:
    if isinstance(value, Color):
        return value
    if isinstance(value, str):
        try:
            return Color.parse(value)
        except ValueError as exc:
            raise ValueError(f"{p.name}: {exc}") from None
    try:
        return Color(*(int(v) for v in value))
    except (TypeError, ValueError):
        raise ValueError(f"{p.name} must be a colour (#rrggbb or r,g,b); got {value!r}") from None


def _choice(p: ParamSpec, value: Any) -> Any:
    if p.enum_type is not None:
        if isinstance(value, p.enum_type):
            return value
        for member in p.enum_type:
            if value == member.value or value == member.name:
                return member
    else:
        for choice in p.choices:
            if type(value) is type(choice) and value == choice:
                return choice
            if isinstance(value, str) and str(choice) == value:
                return choice
        for choice in p.choices:  # 2 for 2.0, True for 1: equal, though another type
            if not isinstance(value, str) and value == choice:
                return choice
    allowed = ", ".join(str(plain(c)) for c in p.choices)
    raise ValueError(f"{p.name} must be one of {allowed}; got {value!r}")


def _is_enum(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, enum.Enum)


def _is_floats(tp: Any) -> bool:
    args = get_args(tp)
    return get_origin(tp) is tuple and len(args) == 2 and args[1] is Ellipsis and args[0] in (
        float, int)


for _kind in (
    ParamKind("bool", lambda tp: tp is bool, _bool, "check"),
    ParamKind("int", lambda tp: tp is int, _int, "number"),
    ParamKind("float", lambda tp: tp is float, _float, "number"),
    ParamKind("str", lambda tp: tp is str, _str, "line"),
    ParamKind("path", lambda tp: tp is pathlib.Path, _path, "file", plain=str),
    ParamKind("color", lambda tp: tp is Color, _color, "color", plain=lambda c: c.hex()),
    ParamKind("choice", lambda tp: get_origin(tp) is Literal or _is_enum(tp), _choice, "combo",
              plain=plain,
              choices=lambda tp: tuple(tp) if _is_enum(tp) else tuple(get_args(tp))),
    ParamKind("floats", _is_floats, _floats, "numbers", plain=lambda v: [float(x) for x in v]),
):
    register_kind(_kind)
