"""Operation specs: everything the GUI, CLI and API need, derived from a typed function.

``@operation(...)`` reads the signature with ``typing.get_type_hints(include_extras=True)``
(so postponed annotations cannot break it) and the numpy-style docstring, and records an
:class:`OperationSpec`. The function is returned unchanged and stays callable.

Parameters are typed by the kinds of :mod:`imgstudio.core.kinds` (int, float, bool, str,
choice, path, color, floats; ``T | None`` means "automatic"). Layer inputs are annotated
``Image``, ``Labels``, ``Points`` (optionally ``| None``) or ``list[Image]``, with the editor
metadata of :mod:`imgstudio.core.editor` (``Aligned``, ``Whole``, ``Seeds``) in ``Annotated``.
A keyword ``progress: Progress`` marks the op long-running and is never shown.
"""

from __future__ import annotations

import enum
import inspect
import re
import types
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Annotated, Any, get_args, get_origin

from imgstudio.core.editor import DEFAULT_EDITOR, Aligned, Editor, HistogramOverlay, Seeds, Whole
from imgstudio.core.kinds import KINDS, kind_for, plain
from imgstudio.core.progress import Progress
from imgstudio.core.types import RESULT_TYPES, LayerKind, LayerType, Range

#: Every int parameter lies in the 32-bit range, whatever its ``Range`` (or with none).
INT_MIN, INT_MAX = -(2**31), 2**31 - 1

_ID_RE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class InputSpec:
    """A layer-valued input: ``image`` (the active layer) or another layer picked in the form.

    ``aligned``: pixel-aligned with the op's main (first) input, so cropped with it to the
    view or the selection (the main input itself, labels inputs, and inputs marked
    :class:`~imgstudio.core.editor.Aligned`); otherwise the input is always used whole.
    ``seeds``: painted by the user (:class:`~imgstudio.core.editor.Seeds`), with ``hint``.
    """

    name: str
    kind: LayerKind
    optional: bool = False
    many: bool = False  # list[Image]: several layers
    doc: str = ""
    aligned: bool = False
    seeds: bool = False
    hint: str = ""

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
    """A scalar parameter shown as a form field and accepted as ``-p NAME=VALUE``.

    ``kind`` names its entry in :data:`imgstudio.core.kinds.KINDS`.
    """

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

    @property
    def widget(self) -> str:
        """The name of the form editor for this parameter's kind ("" for an unknown kind)."""
        kind = KINDS.get(self.kind)
        return kind.widget if kind is not None else ""

    def to_json(self) -> dict[str, Any]:
        default = None if self.required else plain(self.default)
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
            out["choices"] = [plain(c) for c in self.choices]
        return out

    def coerce(self, value: Any) -> Any:
        """Return ``value`` converted to this parameter's type; ``ValueError`` naming it."""
        if value is None:
            if self.optional:
                return None
            raise ValueError(f"{self.name} is required (got None)")
        out = KINDS[self.kind].coerce(self, value)
        if self.kind == "int" and not INT_MIN <= out <= INT_MAX:
            # no parameter means more (seeds, sizes, counts and coordinates all fit), and
            # OpenCV, numpy and the form's spin boxes take 32-bit ints: beyond, they overflow
            raise ValueError(f"{self.name} must be within [{INT_MIN}, {INT_MAX}]; got {out!r}")
        if self.kind == "path" and "\x00" in str(out):
            raise ValueError(f"{self.name} must not contain a NUL character; got {value!r}")
        return out

    def plain(self, value: Any) -> Any:
        """``value`` (already coerced) as a plain JSON value."""
        return None if value is None else KINDS[self.kind].plain(value)


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
    editor: Editor = field(default=DEFAULT_EDITOR, compare=False)

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

    def plain(self, params: dict[str, Any]) -> dict[str, Any]:
        """Validated parameters as plain JSON values (recipes, scripts, remembered values)."""
        return {name: self.param(name).plain(value) for name, value in params.items()}

    def preview_mode(self, given: Iterable[str] = ()) -> str:
        """How the editor previews this op while its form is open, with the layer inputs named
        in ``given`` set: ``"apply"`` (no preview), ``"region"`` (the visible region of the
        layer), ``"whole"`` (the whole layer, downscaled to a pixel budget) or ``"exact"`` (the
        whole layer at full resolution: geometry ops and ops placing things by pixel position).
        """
        editor = self.editor
        if editor.preview == "apply" or not self.inputs or self.inputs[0].many:
            return "apply"
        given = set(given)
        if any(i.seeds and i.name in given for i in self.inputs):
            return "whole"
        if (editor.geometry or editor.position is not None
                or any(i.kind == LayerKind.POINTS for i in self.inputs)):
            return "exact"
        if editor.preview == "auto":
            return "region" if self.output.kind in ("image", "labels") else "whole"
        return editor.preview

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

def _peel(tp: Any) -> tuple[Any, bool, list[Any]]:
    """``tp`` without ``Annotated`` and ``| None`` layers: (base, optional, metadata)."""
    metadata: list[Any] = []
    optional = False
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            metadata.extend(tp.__metadata__)
            tp = get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in get_args(tp) if a is not type(None)]
            if len(args) != 1 or len(get_args(tp)) != 2:
                return tp, optional, metadata
            tp, optional = args[0], True
        else:
            return tp, optional, metadata


def _layer_kind(metadata: list[Any]) -> LayerKind | None:
    return next((m.kind for m in metadata if isinstance(m, LayerType)), None)


def _param_doc_map(doc: str) -> dict[str, str]:
    """Parse the ``Parameters`` section of a numpy docstring into name → description; a line
    ``x, y : int`` documents both names."""
    lines = inspect.cleandoc(doc or "").splitlines()
    out: dict[str, str] = {}
    in_params = False
    current: list[str] = []
    for i, line in enumerate(lines):
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if line.strip() == "Parameters" and set(nxt.strip()) == {"-"}:
            in_params = True
            current = []
            continue
        if in_params and nxt and set(nxt.strip()) == {"-"} and line.strip() and line == line.lstrip():
            break  # next section header
        if not in_params or set(line.strip()) == {"-"}:
            continue
        if line and line == line.lstrip():
            current = [n.strip() for n in line.split(":", 1)[0].split(",") if n.strip()]
            for name in current:
                out.setdefault(name, "")
        elif line.strip():
            for name in current:
                out[name] = (out[name] + " " + line.strip()).strip()
    return out


def _output_spec(tp: Any, op_id: str) -> OutputSpec:
    if tp is inspect.Signature.empty:
        raise TypeError(f"operation {op_id}: missing return annotation")
    if tp is None or tp is type(None):
        return OutputSpec("none")
    kind = _layer_kind(_peel(tp)[2])
    if kind is not None:
        return OutputSpec(kind.value)
    if isinstance(tp, type) and (issubclass(tp, RESULT_TYPES) or hasattr(tp, "to_json")):
        return OutputSpec("result", tp)
    raise TypeError(f"operation {op_id}: unsupported return annotation {tp!r}")


def _param_spec(op_id: str, name: str, tp: Any, default: Any, doc: str) -> ParamSpec:
    base, optional, metadata = _peel(tp)
    lo = hi = step = None
    for meta in metadata:
        if isinstance(meta, Range):
            lo, hi, step = meta.lo, meta.hi, meta.step
    kind = kind_for(base)
    if kind is None:
        raise TypeError(f"operation {op_id}: parameter {name} has unsupported type {tp!r}")
    if kind.name == "int" and any(b is not None and not INT_MIN <= b <= INT_MAX
                                  for b in (lo, hi)):
        raise TypeError(f"operation {op_id}: the Range of int parameter {name} goes beyond "
                        f"[{INT_MIN}, {INT_MAX}]")
    choices = kind.choices(base) if kind.choices is not None else ()
    enum_type = base if isinstance(base, type) and issubclass(base, enum.Enum) else None
    if default is None and not optional:
        raise TypeError(f"operation {op_id}: parameter {name} defaults to None; annotate T | None")
    spec = ParamSpec(name, kind.name, default, optional, lo, hi, step, choices, enum_type, doc)
    if default is not inspect.Parameter.empty and default is not None:
        try:
            spec.coerce(default)
        except ValueError as exc:
            raise TypeError(f"operation {op_id}: default of {name} is invalid: {exc}") from None
    return spec


def _input_spec(op_id: str, name: str, kind: LayerKind, optional: bool, many: bool,
                metadata: list[Any], doc: str, first: bool) -> InputSpec:
    seeds = next((m for m in metadata if isinstance(m, Seeds)), None)
    if any(isinstance(m, Whole) for m in metadata):
        if first or seeds is not None:
            raise TypeError(f"operation {op_id}: input {name} cannot be Whole")
        aligned = False
    else:
        aligned = (first or seeds is not None or kind == LayerKind.LABELS
                   or any(isinstance(m, Aligned) for m in metadata))
    if seeds is not None and kind != LayerKind.LABELS:
        raise TypeError(f"operation {op_id}: Seeds input {name} must be Labels")
    return InputSpec(name, kind, optional, many, doc, aligned, seeds is not None,
                     seeds.hint if seeds is not None else "")


def _check_editor(op_id: str, editor: Editor, inputs: list[InputSpec],
                  params: list[ParamSpec]) -> None:
    names = {p.name: p for p in params}
    for pname in editor.position or ():
        if pname not in names or names[pname].kind not in ("int", "float"):
            raise TypeError(f"operation {op_id}: position parameter {pname!r} must be an int "
                            "or float parameter")
    overlay = editor.view(HistogramOverlay)
    input_names = {i.name for i in inputs}
    for iname in overlay.inputs if overlay is not None else ():
        if iname not in input_names:
            raise TypeError(f"operation {op_id}: HistogramOverlay names no input {iname!r}")
    for pname, condition in editor.applies.items():
        if pname not in names or condition.input not in input_names:
            raise TypeError(f"operation {op_id}: applies[{pname!r}] must name a parameter and "
                            f"a layer input; got {condition!r}")
    optional = {i.name for i in inputs if i.optional}
    for iname in editor.prefill:
        if iname not in optional:
            raise TypeError(f"operation {op_id}: prefill names no optional input {iname!r}")
    for iname, needs in editor.needs.items():
        if iname not in optional or needs.param not in names:
            raise TypeError(f"operation {op_id}: needs[{iname!r}] must name an optional input "
                            f"and a parameter; got {needs.param!r}")


def build_spec(
    func: Callable[..., Any],
    op_id: str,
    *,
    title: str | None = None,
    menu: str = "Operations",
    long_running: bool | None = None,
    editor: Editor | None = None,
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
        base, optional, metadata = _peel(tp)
        if name == "progress":
            if base is not Progress:
                raise TypeError(f"operation {op_id}: progress must be annotated Progress")
            takes_progress = True
            continue
        many = False
        if get_origin(base) is list and get_args(base):
            inner, _, inner_meta = _peel(get_args(base)[0])
            if _layer_kind(inner_meta) is not None:
                many, metadata = True, metadata + inner_meta
        kind = _layer_kind(metadata)
        if kind is not None:
            if p.default is not inspect.Parameter.empty and p.default is not None:
                raise TypeError(f"operation {op_id}: layer input {name} may only default to None")
            inputs.append(_input_spec(op_id, name, kind, optional or p.default is None, many,
                                      metadata, docs.get(name, ""), first=not inputs))
            continue
        if p.kind is not p.KEYWORD_ONLY:
            raise TypeError(f"operation {op_id}: parameter {name} must be keyword-only")
        params.append(_param_spec(op_id, name, tp, p.default, docs.get(name, "")))
    output = _output_spec(hints.get("return", inspect.Signature.empty), op_id)
    doc = inspect.cleandoc(func.__doc__ or "")
    summary = doc.splitlines()[0] if doc else ""
    if not summary:
        raise TypeError(f"operation {op_id}: a docstring with a summary line is required")
    editor = editor if editor is not None else DEFAULT_EDITOR
    _check_editor(op_id, editor, inputs, params)
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
        editor=editor,
    )


#: Specs registered by ``@operation`` as their modules are imported; the registry reads this.
_DECLARED: dict[str, OperationSpec] = {}


def operation(
    op_id: str,
    *,
    title: str | None = None,
    menu: str = "Operations",
    long_running: bool | None = None,
    editor: Editor | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``func`` as the operation ``op_id``; return it unchanged.

    ``editor`` declares its behaviour in the editor (:class:`~imgstudio.core.editor.Editor`).
    The spec is built lazily on first use of the registry (annotations may refer to names
    defined later in the module) but unknown types still fail loudly then.
    """

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        if op_id in _PENDING and _PENDING[op_id][0] is not func:
            existing = _PENDING[op_id][0]
            if f"{existing.__module__}.{existing.__qualname__}" != f"{func.__module__}.{func.__qualname__}":
                raise ValueError(f"operation id {op_id!r} is already registered")
        _PENDING[op_id] = (func, {"title": title, "menu": menu, "long_running": long_running,
                                  "editor": editor})
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
