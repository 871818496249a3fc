"""Operation specs: everything the GUI, CLI and API need, derived from a typed function.

``@operation(...)`` reads the signature with ``typing.get_type_hints(include_extras=True)``
(so ``from __future__ import annotations`` cannot break it) and the numpy-style docstring, and
records an :class:`OperationSpec`. The function is returned unchanged and stays callable.

Parameter kinds (one table from type to widget kind, as magicgui does):

========================  ==========  ===============================================
annotation                kind        notes
========================  ==========  ===============================================
``int``                   int         bounds from ``Annotated[int, Range(lo, hi)]``
``float``                 float       bounds from ``Range``
``bool``                  bool
``str``                   str
``Literal[...]``/Enum     choice      ``choices`` holds the allowed values
``pathlib.Path``          path
``Color``                 color
``tuple[float, ...]``     floats      a list of numbers, e.g. frequencies
``T | None``              as T        ``optional=True``; None means "automatic"
========================  ==========  ===============================================

Layer inputs are annotated ``Image``, ``Labels``, ``Points`` (optionally ``| None``) or
``list[Image]``. A keyword ``progress: Progress`` marks the op long-running and is never shown.
"""

from __future__ import annotations

import enum
import inspect
import pathlib
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, get_args, get_origin

import numpy as np

from imgstudio.core.progress import Progress
from imgstudio.core.types import (
    RESULT_TYPES,
    Color,
    LayerKind,
    LayerType,
    Range,
)

_ID_RE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")

PARAM_KINDS = ("int", "float", "bool", "str", "choice", "path", "color", "floats")


@dataclass(frozen=True)
class InputSpec:
    """A layer-valued input: ``image`` (the active layer) or another layer picked in the form."""

    name: str
    kind: LayerKind
    optional: bool = False
    many: bool = False  # list[Image]: several layers
    doc: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind.value,
            "optional": self.optional,
            "many": self.many,
            "doc": self.doc,
        }


@dataclass(frozen=True)
class ParamSpec:
    """A scalar parameter shown as a form field and accepted as ``-p NAME=VALUE``."""

    name: str
    kind: str
    default: Any
    optional: bool = False
    lo: float | None = None
    hi: float | None = None
    step: float | None = None
    choices: tuple[Any, ...] = ()
    enum_type: type[enum.Enum] | None = None
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is inspect.Parameter.empty

    def to_json(self) -> dict[str, Any]:
        default = None if self.required else _plain(self.default)
        out: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "default": default,
            "required": self.required,
            "optional": self.optional,
            "doc": self.doc,
        }
        if self.lo is not None or self.hi is not None:
            out["range"] = [self.lo, self.hi]
        if self.step is not None:
            out["step"] = self.step
        if self.choices:
            out["choices"] = [_plain(c) for c in self.choices]
        return out

    # -- validation ---------------------------------------------------------------------------
    def coerce(self, value: Any) -> Any:
        """Return ``value`` converted to this parameter's type; ``ValueError`` naming it."""
        name = self.name
        if value is None:
            if self.optional:
                return None
            raise ValueError(f"{name} is required (got None)")
        kind = self.kind
        if kind == "bool":
            if isinstance(value, (bool, np.bool_)):
                return bool(value)
            if isinstance(value, str) and value.strip().lower() in _BOOL_WORDS:
                return _BOOL_WORDS[value.strip().lower()]
            if isinstance(value, (int, np.integer)) and value in (0, 1):
                return bool(value)
            raise ValueError(f"{name} must be a bool; got {value!r}")
        if kind == "int":
            out = _to_int(name, value)
            self._check_range(out)
            return out
        if kind == "float":
            out = _to_float(name, value)
            self._check_range(out)
            return out
        if kind == "floats":
            if isinstance(value, str):
                parts = [p for p in re.split(r"[,\s]+", value.strip("()[] ")) if p]
            else:
                try:
                    parts = list(value)
                except TypeError:
                    raise ValueError(f"{name} must be a list of numbers; got {value!r}") from None
            out_list = tuple(_to_float(name, p) for p in parts)
            if not out_list:
                raise ValueError(f"{name} must contain at least one number")
            for v in out_list:
                self._check_range(v)
            return out_list
        if kind == "str":
            if not isinstance(value, str):
                raise ValueError(f"{name} must be a string; got {value!r}")
            return value
        if kind == "path":
            if not isinstance(value, (str, pathlib.PurePath)) or str(value) == "":
                raise ValueError(f"{name} must be a file path; got {value!r}")
            return pathlib.Path(value)
        if kind == "color":
            if isinstance(value, Color):
                return value
            if isinstance(value, str):
                return Color.parse(value)
            try:
                return Color(*(int(v) for v in value))
            except (TypeError, ValueError):
                raise ValueError(f"{name} must be a colour (#rrggbb or r,g,b); got {value!r}") from None
        if kind == "choice":
            if self.enum_type is not None:
                if isinstance(value, self.enum_type):
                    return value
                for member in self.enum_type:
                    if value == member.value or value == member.name:
                        return member
            else:
                for choice in self.choices:
                    if value == choice or (isinstance(value, str) and str(choice) == value):
                        return choice
            allowed = ", ".join(str(_plain(c)) for c in self.choices)
            raise ValueError(f"{name} must be one of {allowed}; got {value!r}")
        raise AssertionError(f"unknown kind {kind}")

    def _check_range(self, value: float) -> None:
        if self.lo is not None and value < self.lo:
            raise ValueError(f"{self.name} must be >= {self.lo}; got {value!r}")
        if self.hi is not None and value > self.hi:
            raise ValueError(f"{self.name} must be <= {self.hi}; got {value!r}")


_BOOL_WORDS = {"true": True, "1": True, "yes": True, "on": True,
               "false": False, "0": False, "no": False, "off": False}


def _to_int(name: str, value: Any) -> int:
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


def _to_float(name: str, value: Any) -> float:
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be a number; got {value!r}")
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number; got {value!r}") from None
    if not np.isfinite(out):
        raise ValueError(f"{name} must be finite; got {value!r}")
    return out


def _plain(value: Any) -> Any:
    """A JSON-friendly form of a default or choice."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, pathlib.PurePath):
        return str(value)
    if isinstance(value, Color):
        return value.hex()
    if isinstance(value, tuple):
        return list(value)
    return value


@dataclass(frozen=True)
class OutputSpec:
    """What the op returns: a layer kind, a result dataclass, or a tuple of them."""

    kind: str  # "image", "labels", "points", "result", "none"
    result_type: type | None = None

    def to_json(self) -> dict[str, Any]:
        out = {"kind": self.kind}
        if self.result_type is not None:
            out["type"] = self.result_type.__name__
        return out


@dataclass(frozen=True)
class OperationSpec:
    """Everything known about an operation; derived once, at registration."""

    id: str
    title: str
    menu: str
    func: Callable[..., Any] = field(repr=False, compare=False)
    inputs: tuple[InputSpec, ...]
    params: tuple[ParamSpec, ...]
    output: OutputSpec
    long_running: bool
    summary: str
    doc: str

    @property
    def family(self) -> str:
        return self.id.split(".", 1)[0]

    @property
    def takes_progress(self) -> bool:
        return "progress" in inspect.signature(self.func).parameters

    def param(self, name: str) -> ParamSpec:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def input(self, name: str) -> InputSpec:
        for i in self.inputs:
            if i.name == name:
                return i
        raise KeyError(name)

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params if not p.required}

    def validate(self, params: dict[str, Any]) -> dict[str, Any]:
        """Check and convert parameters (strings are accepted, as from the CLI).

        Returns the full parameter dict with defaults filled in. Raises ``ValueError`` naming
        the parameter for an unknown name, a wrong type, a value out of range or a missing one.
        """
        known = {p.name: p for p in self.params}
        unknown = [n for n in params if n not in known]
        if unknown:
            names = ", ".join(known) or "none"
            raise ValueError(
                f"{self.id}: unknown parameter {unknown[0]!r} (parameters: {names})"
            )
        out: dict[str, Any] = {}
        for p in self.params:
            if p.name in params:
                out[p.name] = p.coerce(params[p.name])
            elif p.required:
                raise ValueError(f"{self.id}: parameter {p.name} is required")
            else:
                out[p.name] = p.default
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "menu": self.menu,
            "summary": self.summary,
            "inputs": [i.to_json() for i in self.inputs],
            "params": [p.to_json() for p in self.params],
            "output": self.output.to_json(),
            "long_running": self.long_running,
        }


# -- building specs ---------------------------------------------------------------------------

def _unwrap_optional(tp: Any) -> tuple[Any, bool]:
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(get_args(tp)) == 2:
            return args[0], True
    return tp, False


def _layer_kind(tp: Any) -> LayerKind | None:
    if get_origin(tp) is Annotated:
        for meta in tp.__metadata__:
            if isinstance(meta, LayerType):
                return meta.kind
    return None


def _param_doc_map(doc: str) -> dict[str, str]:
    """Parse the ``Parameters`` section of a numpy docstring into name → description."""
    lines = inspect.cleandoc(doc or "").splitlines()
    out: dict[str, str] = {}
    in_params = False
    current: str | None = None
    for i, line in enumerate(lines):
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if line.strip() == "Parameters" and set(nxt.strip()) == {"-"}:
            in_params = True
            current = None
            continue
        if in_params and nxt and set(nxt.strip()) == {"-"} and line.strip() and line == line.lstrip():
            break  # next section header
        if not in_params or set(line.strip()) == {"-"}:
            continue
        if line and line == line.lstrip():
            current = line.split(":", 1)[0].strip()
            for name in (n.strip() for n in current.split(",")):
                out.setdefault(name, "")
            current = current.split(",")[0].strip()
        elif current is not None and line.strip():
            out[current] = (out[current] + " " + line.strip()).strip()
    return out


def _output_spec(tp: Any, op_id: str) -> OutputSpec:
    if tp is inspect.Signature.empty:
        raise TypeError(f"operation {op_id}: missing return annotation")
    if tp is None or tp is type(None):
        return OutputSpec("none")
    kind = _layer_kind(tp)
    if kind is not None:
        return OutputSpec(kind.value)
    if isinstance(tp, type) and (issubclass(tp, RESULT_TYPES) or hasattr(tp, "to_json")):
        return OutputSpec("result", tp)
    raise TypeError(f"operation {op_id}: unsupported return annotation {tp!r}")


def _param_spec(op_id: str, name: str, tp: Any, default: Any, doc: str) -> ParamSpec:
    base, optional = _unwrap_optional(tp)
    lo = hi = step = None
    if get_origin(base) is Annotated:
        for meta in base.__metadata__:
            if isinstance(meta, Range):
                lo, hi, step = meta.lo, meta.hi, meta.step
        base = get_args(base)[0]
    choices: tuple[Any, ...] = ()
    enum_type = None
    if base is bool:
        kind = "bool"
    elif base is int:
        kind = "int"
    elif base is float:
        kind = "float"
    elif base is str:
        kind = "str"
    elif base is pathlib.Path:
        kind = "path"
    elif base is Color:
        kind = "color"
    elif get_origin(base) is Literal:
        kind, choices = "choice", tuple(get_args(base))
    elif isinstance(base, type) and issubclass(base, enum.Enum):
        kind, choices, enum_type = "choice", tuple(base), base
    elif get_origin(base) is tuple and get_args(base)[-1] is Ellipsis and get_args(base)[0] in (
        float,
        int,
    ):
        kind = "floats"
    else:
        raise TypeError(f"operation {op_id}: parameter {name} has unsupported type {tp!r}")
    if default is None and not optional:
        raise TypeError(f"operation {op_id}: parameter {name} defaults to None; annotate T | None")
    spec = ParamSpec(name, kind, default, optional, lo, hi, step, choices, enum_type, doc)
    if default is not inspect.Parameter.empty and default is not None:
        try:
            spec.coerce(default)
        except ValueError as exc:
            raise TypeError(f"operation {op_id}: default of {name} is invalid: {exc}") from None
    return spec


def build_spec(
    func: Callable[..., Any],
    op_id: str,
    *,
    title: str | None = None,
    menu: str = "Operations",
    long_running: bool | None = None,
) -> OperationSpec:
    """Derive an :class:`OperationSpec` from ``func``; ``TypeError`` for an unusable signature."""
    if not _ID_RE.match(op_id):
        raise ValueError(f"operation id must look like family.name (lowercase); got {op_id!r}")
    hints = typing.get_type_hints(func, include_extras=True)
    sig = inspect.signature(func)
    docs = _param_doc_map(func.__doc__ or "")
    inputs: list[InputSpec] = []
    params: list[ParamSpec] = []
    takes_progress = False
    for name, p in sig.parameters.items():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise TypeError(f"operation {op_id}: *args/**kwargs are not supported ({name})")
        tp = hints.get(name, inspect.Parameter.empty)
        if tp is inspect.Parameter.empty:
            raise TypeError(f"operation {op_id}: parameter {name} has no type annotation")
        if name == "progress":
            base, _ = _unwrap_optional(tp)
            if base is not Progress:
                raise TypeError(f"operation {op_id}: progress must be annotated Progress")
            takes_progress = True
            continue
        base, optional = _unwrap_optional(tp)
        many = False
        if get_origin(base) is list and get_args(base):
            inner = get_args(base)[0]
            if _layer_kind(inner) is not None:
                base, many = inner, True
        kind = _layer_kind(base)
        if kind is not None:
            if p.default is not inspect.Parameter.empty and p.default is not None:
                raise TypeError(f"operation {op_id}: layer input {name} may only default to None")
            inputs.append(InputSpec(name, kind, optional or p.default is None, many, docs.get(name, "")))
            continue
        if p.kind is not p.KEYWORD_ONLY:
            raise TypeError(f"operation {op_id}: parameter {name} must be keyword-only")
        params.append(_param_spec(op_id, name, tp, p.default, docs.get(name, "")))
    output = _output_spec(hints.get("return", inspect.Signature.empty), op_id)
    doc = inspect.cleandoc(func.__doc__ or "")
    summary = doc.splitlines()[0] if doc else ""
    if not summary:
        raise TypeError(f"operation {op_id}: a docstring with a summary line is required")
    return OperationSpec(
        id=op_id,
        title=title or op_id.split(".", 1)[1].replace("_", " ").capitalize(),
        menu=menu,
        func=func,
        inputs=tuple(inputs),
        params=tuple(params),
        output=output,
        long_running=takes_progress if long_running is None else long_running,
        summary=summary,
        doc=doc,
    )


#: Specs registered by ``@operation`` as their modules are imported; the registry reads this.
_DECLARED: dict[str, OperationSpec] = {}


def operation(
    op_id: str,
    *,
    title: str | None = None,
    menu: str = "Operations",
    long_running: bool | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``func`` as the operation ``op_id``; return it unchanged.

    The spec is built lazily on first use of the registry (annotations may refer to names
    defined later in the module) but unknown types still fail loudly then.
    """

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        if op_id in _PENDING and _PENDING[op_id][0] is not func:
            existing = _PENDING[op_id][0]
            if f"{existing.__module__}.{existing.__qualname__}" != f"{func.__module__}.{func.__qualname__}":
                raise ValueError(f"operation id {op_id!r} is already registered")
        _PENDING[op_id] = (func, {"title": title, "menu": menu, "long_running": long_running})
        func.__imgstudio_op__ = op_id  # type: ignore[attr-defined]
        return func

    return decorate


_PENDING: dict[str, tuple[Callable[..., Any], dict[str, Any]]] = {}


def declared_specs() -> dict[str, OperationSpec]:
    """Build (once) and return the specs of every decorated function imported so far."""
    for op_id, (func, options) in list(_PENDING.items()):
        spec = _DECLARED.get(op_id)
        if spec is None or spec.func is not func:
            _DECLARED[op_id] = build_spec(func, op_id, **options)
    return dict(_DECLARED)
