"""Recipes: the history as a small dataflow program over named layers (format version 2).

.. code-block:: json

    {"format": "imgstudio-recipe", "version": 2,
     "sources": ["coins", "Seeds"],
     "steps": [
       {"op": "segment.random_walker", "params": {"beta": 130.0},
        "inputs": {"image": "coins", "seeds": "Seeds"}, "output": "Random walker"}],
     "result": "Random walker"}

``sources`` are the layers the steps read before any step wrote them, the first being the
primary input (the file ``batch`` and the script are given); ``inputs`` names the layer of
every layer input (a list of names for a list input); ``output`` is the layer written — an
input's name means "replace it in place", a new name a new layer, and an op with several layer
outputs writes ``OUTPUT.FIELD`` (:func:`imgstudio.core.invoke.output_names`). Steps whose
result holds no layer have no output; their results are collected. ``result`` is the layer
written to the output file (default: the last step's output). Version 1 files (a chain of
steps on "the active layer") are converted on load.

The editor records :class:`RecordedStep` s (layer ids, so renames and undo stay exact);
:func:`build_recipe` names them. :func:`check` validates a recipe as a whole;
:mod:`imgstudio.core.replay` runs one over named layers with the same invocation path as the
editor, and writes it as a Python script of literals over :mod:`imgstudio.api`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from imgstudio.core import registry
from imgstudio.core.invoke import kind_fits, output_kinds, output_names
from imgstudio.core.io import atomic_write_text
from imgstudio.core.types import LayerKind
from imgstudio.core.untrusted import UntrustedFileError, check_depth, loads, read_bytes

RECIPE_FORMAT = "imgstudio-recipe"
RECIPE_VERSION = 2
MAX_RECIPE_BYTES = 16 * 2**20
"""Largest recipe file read (a recipe of a thousand steps is well under 1 MiB)."""
V1_OUTPUTS = ("replace", "new_layer")

@dataclass(frozen=True)
class RecipeStep:
    """One op call over named layers: ``inputs`` maps each layer input to a layer name (a
    list for list inputs); ``output`` is the layer written, None when the result has none."""

    op_id: str
    params: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)
    output: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"op": self.op_id, "params": dict(self.params),
                               "inputs": {k: (list(v) if isinstance(v, (list, tuple)) else v)
                                          for k, v in self.inputs.items()}}
        if self.output is not None:
            out["output"] = self.output
        return out


@dataclass(frozen=True)
class Recipe:
    """Source layers, steps and the result layer (None: the last step's output)."""

    sources: tuple[str, ...] = ()
    steps: tuple[RecipeStep, ...] = ()
    result: str | None = None
    #: For a recipe built from the editor's history: recipe layer name → editor layer id.
    layer_ids: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def result_layer(self) -> str | None:
        """The layer written to the output file: ``result``, else the last output written,
        else the primary source."""
        if self.result is not None:
            return self.result
        for step in reversed(self.steps):
            if step.output is not None:
                return _first_output_name(step)
        return self.sources[0] if self.sources else None

    def __bool__(self) -> bool:
        return bool(self.steps)

    def to_json(self) -> dict[str, Any]:
        return {"format": RECIPE_FORMAT, "version": RECIPE_VERSION,
                "sources": list(self.sources), "steps": [s.to_json() for s in self.steps],
                "result": self.result_layer}


def _first_output_name(step: RecipeStep) -> str:
    """The layer a step's output goes to (the first field's, for several)."""
    try:
        names = output_names(registry.get(step.op_id), step.output or "")
    except KeyError:
        return step.output or ""
    return next(iter(names.values()), step.output or "")


# -- reading ----------------------------------------------------------------------------------
class RecipeError(ValueError):
    """A recipe that cannot be read or does not check; the message names the step (and the
    file, for :func:`load_recipe`)."""


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise RecipeError(f"{what} must be a non-empty string; got {_short(value)}")
    return value


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _step_from_json(n: int, data: Any) -> RecipeStep:
    where = f"step {n}"
    if not isinstance(data, dict):
        raise RecipeError(f"{where} must be an object; got {_short(data)}")
    op = data.get("op")
    if not isinstance(op, str) or not op:
        raise RecipeError(f"{where} needs an 'op' id; got {_short(op)}")
    where = f"step {n} ({op})"
    params = data.get("params", {})
    if not isinstance(params, dict) or not all(isinstance(k, str) for k in params):
        raise RecipeError(f"{where}: params must be an object; got {_short(params)}")
    inputs = data.get("inputs", {})
    if not isinstance(inputs, dict):
        raise RecipeError(f"{where}: inputs must be an object; got {_short(inputs)}")
    checked: dict[str, Any] = {}
    for name, value in inputs.items():
        if isinstance(value, list):
            checked[name] = [_text(v, f"{where}: input {name}") for v in value]
        else:
            checked[name] = _text(value, f"{where}: input {name}")
    output = data.get("output")
    if output is not None:
        output = _text(output, f"{where}: output")
    return RecipeStep(op, dict(params), checked, output)


def recipe_from_json(data: Any) -> Recipe:
    """A :class:`Recipe` from parsed JSON (version 1 or 2); ``RecipeError`` naming the field
    when malformed (every field is type-checked; nothing else is raised)."""
    try:
        check_depth(data)
    except UntrustedFileError as exc:
        raise RecipeError(str(exc)) from None
    if not isinstance(data, dict) or data.get("format") != RECIPE_FORMAT:
        raise RecipeError(f"not an imgstudio recipe (expected format {RECIPE_FORMAT!r})")
    version = data.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise RecipeError(f"recipe version must be a whole number; got {_short(version)}")
    if version > RECIPE_VERSION:
        raise RecipeError(f"recipe version {version} is newer than this imgstudio "
                          f"understands ({RECIPE_VERSION})")
    steps = data.get("steps")
    if not isinstance(steps, list):
        raise RecipeError("recipe has no 'steps' list")
    if version == 1:
        return _from_v1(steps)
    sources = data.get("sources", [])
    if not isinstance(sources, list):
        raise RecipeError(f"sources must be a list of layer names; got {_short(sources)}")
    names = tuple(_text(s, "a source layer name") for s in sources)
    if len(set(names)) != len(names):
        raise RecipeError("sources name the same layer twice")
    result = data.get("result")
    if result is not None:
        result = _text(result, "result")
    return Recipe(names, tuple(_step_from_json(n, s) for n, s in enumerate(steps, 1)), result)


def _from_v1(steps: list[Any]) -> Recipe:
    """A version-1 chain as a dataflow: each step reads the previous result (the layer named
    ``image`` at first) unless it names its main input; a new layer becomes the current one."""
    sources: list[str] = ["image"]
    known = {"image"}
    current = "image"
    out: list[RecipeStep] = []
    for n, data in enumerate(steps, 1):
        if not isinstance(data, dict):
            raise RecipeError(f"step {n} must be an object; got {_short(data)}")
        mode = data.get("output", "replace")
        step = _step_from_json(n, {**data, "output": None})
        if mode not in V1_OUTPUTS:
            raise RecipeError(f"step {n} ({step.op_id}): output must be one of "
                              f"{', '.join(map(repr, V1_OUTPUTS))} in a version-1 recipe; "
                              f"got {_short(mode)}")
        try:
            spec = registry.get(step.op_id)
        except KeyError as exc:
            raise RecipeError(f"step {n} ({step.op_id}): {exc.args[0]}") from None
        inputs = dict(step.inputs)
        for names in inputs.values():
            for name in names if isinstance(names, list) else [names]:
                if name not in known:
                    sources.append(name)
                    known.add(name)
        first = spec.inputs[0] if spec.inputs else None
        if first is not None and first.name not in inputs:
            inputs[first.name] = [current] if first.many else current
        output = None
        if output_kinds(spec):
            if mode == "replace" and first is not None and inputs.get(first.name) == current:
                output = current
            else:
                output = _unique(f"{spec.title} {n}", known)
            names = output_names(spec, output)
            known.update(names.values())
            rasters = [names[fld] for fld, kind in output_kinds(spec)
                       if kind in (LayerKind.IMAGE, LayerKind.LABELS, LayerKind.POINTS)
                       and (kind != LayerKind.POINTS or fld is None)]
            current = rasters[0] if rasters else current
        out.append(RecipeStep(step.op_id, step.params, inputs, output))
    return Recipe(tuple(sources), tuple(out), current)


def _unique(base: str, taken: set[str]) -> str:
    name, k = base, 2
    while name in taken:
        name, k = f"{base} ({k})", k + 1
    return name


def recipe_from_text(text: str | bytes) -> Recipe:
    """A :class:`Recipe` from JSON text; ``RecipeError`` naming the field for anything wrong
    (invalid or too deeply nested JSON, NaN or Infinity, a field of the wrong type)."""
    try:
        data = loads(text, allow_nonfinite=False)
    except UntrustedFileError as exc:
        raise RecipeError(str(exc)) from None
    return recipe_from_json(data)


def save_recipe(path: str | os.PathLike[str], recipe: Recipe) -> None:
    """Write a recipe as JSON, atomically."""
    atomic_write_text(path, json.dumps(recipe.to_json(), indent=2) + "\n")


def load_recipe(path: str | os.PathLike[str]) -> Recipe:
    """Read a recipe file; ``RecipeError`` naming the file and the field when it is missing,
    not a regular file, larger than :data:`MAX_RECIPE_BYTES`, or malformed."""
    try:
        return recipe_from_text(read_bytes(path, MAX_RECIPE_BYTES, "the recipe"))
    except (UntrustedFileError, RecipeError) as exc:
        raise RecipeError(f"cannot read recipe {os.fspath(path)}: {exc}") from None


# -- checking ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Checked:
    """A recipe that passed :func:`check`: its steps with validated plain parameters, the
    kind each source layer is read as, and the result layer."""

    recipe: Recipe
    steps: tuple[RecipeStep, ...]
    source_kinds: dict[str, LayerKind]
    result: str | None


def check(recipe: Recipe) -> Checked:
    """Validate ``recipe`` as a whole before anything runs.

    Every op must exist, every parameter be known and valid, every input of an op be named and
    refer to a source or an earlier output of a kind that fits, and ``result`` be a layer the
    recipe knows. Raises :class:`RecipeError` naming the step.
    """
    kinds: dict[str, LayerKind | None] = dict.fromkeys(recipe.sources)  # None: not yet used
    steps: list[RecipeStep] = []
    for n, step in enumerate(recipe.steps, 1):
        where = f"step {n} ({step.op_id})"
        try:
            spec = registry.get(step.op_id)
        except KeyError as exc:
            raise RecipeError(f"{where}: {exc.args[0]}") from None
        params = _checked_params(spec, step.params, where)
        ispecs = {i.name: i for i in spec.inputs}
        for name in step.inputs:
            if name not in ispecs:
                raise RecipeError(f"{where}: the op has no input {name!r} "
                                  f"(inputs: {', '.join(ispecs) or 'none'})")
        for ispec in spec.inputs:
            names = step.inputs.get(ispec.name)
            if names is None:
                if not ispec.optional:
                    raise RecipeError(f"{where}: no layer given for input {ispec.name}")
                continue
            if isinstance(names, list) != ispec.many:
                raise RecipeError(f"{where}: input {ispec.name} takes "
                                  f"{'a list of layer names' if ispec.many else 'one layer name'}")
            for name in names if isinstance(names, list) else [names]:
                if name not in kinds:
                    raise RecipeError(f"{where}: layer {name!r} (input {ispec.name}) is "
                                      "neither a source nor written by an earlier step")
                kind = kinds[name]
                if kind is None:
                    kinds[name] = kind = ispec.kind
                if not kind_fits(ispec, kind):
                    raise RecipeError(f"{where}: {ispec.name} takes a {ispec.kind.value} layer; "
                                      f"{name!r} is a {kind.value} layer")
        declared = output_kinds(spec)
        if step.output is None and declared:
            raise RecipeError(f"{where}: the op writes a layer; give the step an 'output'")
        if step.output is not None and not declared:
            raise RecipeError(f"{where}: the op writes no layer, so the step has no 'output'")
        if step.output is not None:
            names = output_names(spec, step.output)
            for fld, kind in declared:
                kinds[names[fld]] = kind
        steps.append(RecipeStep(step.op_id, params, dict(step.inputs), step.output))
    result = recipe.result_layer
    if recipe.result is not None and recipe.result not in kinds:
        raise RecipeError(f"result: the recipe makes no layer {recipe.result!r}")
    # a source no step reads must still be given; it is read as an image
    source_kinds = {name: (kinds[name] or LayerKind.IMAGE) for name in recipe.sources}
    return Checked(recipe, tuple(steps), source_kinds, result)


def _checked_params(spec: Any, params: dict[str, Any], where: str) -> dict[str, Any]:
    """``params`` validated by the op's spec as plain values; any failure (a value no
    parameter type can take, such as an integer too large for a float) is a ``RecipeError``
    naming the step and the parameter."""
    try:
        return spec.plain(spec.validate(params))
    except ValueError as exc:
        raise RecipeError(f"{where}: {_strip(str(exc), spec.id)}") from None
    except (TypeError, ArithmeticError) as exc:
        culprit = next((name for name, value in params.items() if not _coerces(spec, name, value)),
                       None)
        what = f"parameter {culprit}" if culprit else "parameters"
        value = f" {_short(params[culprit])}" if culprit else ""
        raise RecipeError(f"{where}: {what} cannot take the value{value} "
                          f"({type(exc).__name__}: {exc})") from None


def _coerces(spec: Any, name: str, value: Any) -> bool:
    try:
        spec.plain({name: spec.param(name).coerce(value)})
    except Exception:
        return False
    return True


def _strip(message: str, op_id: str) -> str:
    return message[len(op_id) + 2:] if message.startswith(op_id + ": ") else message


# -- what the editor records ------------------------------------------------------------------
@dataclass(frozen=True)
class LayerRef:
    """A layer as a step saw it: its id (stable) and its name then."""

    id: str
    name: str


@dataclass(frozen=True)
class RecordedStep:
    """An op call as the editor ran it, by layer id (see :func:`build_recipe`).

    ``inputs`` maps input names to a :class:`LayerRef` (a tuple of them for list inputs);
    ``output`` is the name the step wrote to (for several outputs, their common ``NAME``);
    ``written`` lists ``(field or None, layer id)`` of each layer written, None standing for
    a single output.
    """

    op_id: str
    params: dict[str, Any]
    inputs: dict[str, LayerRef | tuple[LayerRef, ...]]
    output: str | None = None
    written: tuple[tuple[str | None, str], ...] = ()


def build_recipe(steps: Sequence[RecordedStep], names: Mapping[str, str] | None = None,
                 result_id: str | None = None) -> Recipe:
    """Name recorded steps: each layer by its name now (``names``: id → name, for the layers
    still in the document), else by its name when recorded; two layers never share a name.
    ``result_id`` picks the result layer (default: the last output)."""
    names = dict(names or {})
    assigned: dict[str, str] = {}
    taken: set[str] = set()
    produced: set[str] = set()
    sources: list[str] = []

    def assign(layer_id: str, wanted: str) -> str:
        if layer_id not in assigned:
            assigned[layer_id] = _unique(wanted, taken)
            taken.add(assigned[layer_id])
        return assigned[layer_id]

    out: list[RecipeStep] = []
    for step in steps:
        inputs: dict[str, Any] = {}
        for input_name, ref in step.inputs.items():
            refs = ref if isinstance(ref, tuple) else (ref,)
            for r in refs:
                if r.id not in assigned and r.id not in produced:
                    sources.append(assign(r.id, names.get(r.id, r.name)))
            shown = [assign(r.id, names.get(r.id, r.name)) for r in refs]
            inputs[input_name] = shown if isinstance(ref, tuple) else shown[0]
        output = None
        if step.written:
            single = len(step.written) == 1 and step.written[0][0] is None
            if single:
                layer_id = step.written[0][1]
                output = assign(layer_id, names.get(layer_id, step.output or step.op_id))
            else:
                base = _unique(step.output or step.op_id, taken)
                taken.add(base)
                for fld, layer_id in step.written:
                    assigned[layer_id] = f"{base}.{fld}"
                    taken.add(assigned[layer_id])
                output = base
            produced.update(layer_id for _, layer_id in step.written)
        out.append(RecipeStep(step.op_id, dict(step.params), inputs, output))
    result = assigned.get(result_id) if result_id is not None else None
    return Recipe(tuple(sources), tuple(out), result,
                  {name: layer_id for layer_id, name in assigned.items()})


def recorded_from_recipe(recipe: Recipe, ids: Mapping[str, str]) -> list[RecordedStep]:
    """The inverse of :func:`build_recipe` for a project reopened: layer names back to ids
    (``ids``: name → layer id; a name with no id gets one of its own)."""

    def ref(name: str) -> LayerRef:
        return LayerRef(ids.get(name, f"recipe:{name}"), name)

    out = []
    for step in check(recipe).steps:
        inputs: dict[str, Any] = {
            k: tuple(ref(n) for n in v) if isinstance(v, list) else ref(v)
            for k, v in step.inputs.items()}
        written: tuple[tuple[str | None, str], ...] = ()
        if step.output is not None:
            names = output_names(registry.get(step.op_id), step.output)
            single = len(names) == 1
            written = tuple((None if single else fld, ref(nm).id) for fld, nm in names.items())
        out.append(RecordedStep(step.op_id, step.params, inputs, step.output, written))
    return out
