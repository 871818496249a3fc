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
:func:`build_recipe` names them. :func:`check` validates a recipe as a whole; :class:`Replay`
runs one over named layers with the same invocation path as the editor; :func:`to_script`
writes it as a Python script of literals over :mod:`imgstudio.api`.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from imgstudio.core.document import Layer
from imgstudio.core.progress import Progress
from imgstudio.core.types import LayerKind

RECIPE_FORMAT = "imgstudio-recipe"
RECIPE_VERSION = 2

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
    from imgstudio.core import registry
    from imgstudio.core.invoke import output_names

    try:
        names = output_names(registry.get(step.op_id), step.output or "")
    except KeyError:
        return step.output or ""
    return next(iter(names.values()), step.output or "")


# -- reading ----------------------------------------------------------------------------------
class RecipeError(ValueError):
    """A recipe that cannot be read or does not check; the message names the step."""


def _reject_constant(name: str) -> float:
    raise RecipeError(f"{name} is not a number a recipe may hold")


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
    """A :class:`Recipe` from parsed JSON (version 1 or 2); ``RecipeError`` when malformed."""
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
    from imgstudio.core import registry
    from imgstudio.core.invoke import output_kinds, output_names

    sources: list[str] = ["image"]
    known = {"image"}
    current = "image"
    out: list[RecipeStep] = []
    for n, data in enumerate(steps, 1):
        if not isinstance(data, dict):
            raise RecipeError(f"step {n} must be an object; got {_short(data)}")
        mode = data.get("output", "replace")
        step = _step_from_json(n, {**data, "output": None})
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


def recipe_from_text(text: str) -> Recipe:
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise RecipeError("the JSON is nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise RecipeError(f"not valid JSON: {exc}") from None
    return recipe_from_json(data)


def save_recipe(path: str | os.PathLike[str], recipe: Recipe) -> None:
    """Write a recipe as JSON, atomically."""
    atomic_write_text(path, json.dumps(recipe.to_json(), indent=2) + "\n")


def load_recipe(path: str | os.PathLike[str]) -> Recipe:
    """Read a recipe file; ``RecipeError`` naming the file when unreadable or malformed."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
        return recipe_from_text(text)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise RecipeError(f"cannot read recipe {os.fspath(path)}: {exc}") from None


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".part", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


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
    from imgstudio.core import registry
    from imgstudio.core.invoke import kind_fits, output_kinds, output_names

    kinds: dict[str, LayerKind | None] = dict.fromkeys(recipe.sources)  # None: not yet used
    steps: list[RecipeStep] = []
    for n, step in enumerate(recipe.steps, 1):
        where = f"step {n} ({step.op_id})"
        try:
            spec = registry.get(step.op_id)
        except KeyError as exc:
            raise RecipeError(f"{where}: {exc.args[0]}") from None
        try:
            params = spec.plain(spec.validate(step.params))
        except ValueError as exc:
            raise RecipeError(f"{where}: {_strip(str(exc), spec.id)}") from None
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
    from imgstudio.core import registry
    from imgstudio.core.invoke import output_names

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


# -- replaying --------------------------------------------------------------------------------
class Replay:
    """Named layers and the op calls run on them: what a recipe (or its exported script)
    replays over, headless. Layers are the editor's layer classes, so data is normalised
    exactly as in the editor; inputs are resolved and outputs written by the same functions.
    """

    def __init__(self) -> None:
        self.layers: dict[str, Layer] = {}
        #: ``(step number, op id, result)`` of each step whose result holds more than layers.
        self.results: list[tuple[int, str, Any]] = []
        self._count = 0

    # -- layers -------------------------------------------------------------------------------
    def add(self, name: str, data: Any, kind: LayerKind | str = LayerKind.IMAGE) -> Layer:
        from imgstudio.core.invoke import make_layer

        layer = make_layer(LayerKind(kind), data, name)
        self.layers[name] = layer
        return layer

    def load(self, name: str, path: str, kind: LayerKind | str = LayerKind.IMAGE) -> Layer:
        """Add the layer ``name`` read from ``path`` as ``kind``; errors name the layer."""
        from imgstudio.core.invoke import read_layer_file

        return self.add(name, read_layer_file(kind, path, name), kind)

    def layer(self, name: str) -> Layer:
        try:
            return self.layers[name]
        except KeyError:
            raise ValueError(f"there is no layer {name!r} "
                             f"(layers: {', '.join(self.layers) or 'none'})") from None

    # -- running ------------------------------------------------------------------------------
    def run(self, op_id: str, inputs: Mapping[str, Any], output: str | None = None,
            params: Mapping[str, Any] | None = None, progress: Progress | None = None) -> Any:
        """Run ``op_id`` on the layers named in ``inputs``; write its layer outputs to
        ``output`` (``output.FIELD`` for several); returns the op's result."""
        from imgstudio.core import registry
        from imgstudio.core.invoke import (
            Invocation,
            make_layer,
            new_layer_of,
            output_names,
            outputs,
        )

        self._count += 1
        spec = registry.get(op_id)
        layers = {name: ([self.layer(n) for n in value] if isinstance(value, (list, tuple))
                         else self.layer(value)) for name, value in inputs.items()}
        result = Invocation.from_layers(spec, layers, dict(params or {})).run(progress)
        if output is not None:
            names = output_names(spec, output)
            for part in outputs(spec, result):
                name = names[part.field]
                old = self.layers.get(name)
                if old is not None and old.kind == part.kind and part.kind != LayerKind.SHAPES:
                    self.layers[name] = new_layer_of(old, part.value)
                else:
                    self.layers[name] = make_layer(part.kind, part.value, name)
        if spec.output.kind == "result":
            self.results.append((self._count, op_id, result))
        return result

    def run_recipe(self, checked: Checked, progress: Progress | None = None) -> None:
        steps = checked.steps
        for n, step in enumerate(steps):
            sub = progress.sub(n / len(steps), (n + 1) / len(steps)) if progress else None
            self.run(step.op_id, step.inputs, step.output, step.params, sub)

    # -- writing ------------------------------------------------------------------------------
    def write(self, name: str | None, path: str) -> list[str]:
        """Write the layer ``name`` to ``path``; when steps returned more than layers (tables,
        matrices) write those as JSON too: beside it as ``STEM.json``, or to ``path`` itself
        when there is no layer to write. Returns the paths written."""
        from imgstudio.core.invoke import result_json, write_layer_file

        written = []
        if name is not None:
            layer = self.layer(name)
            write_layer_file(layer.kind, layer.data, path)
            written.append(path)
        if self.results:
            payload = [{"step": n, "op": op, "result": result_json(r)}
                       for n, op, r in self.results]
            target = path if name is None else os.path.splitext(path)[0] + ".json"
            if target not in written:
                atomic_write_text(target, json.dumps(payload, indent=1) + "\n")
                written.append(target)
        if not written:
            raise RecipeError("the recipe writes no layer and no result")
        return written

    # -- from files ---------------------------------------------------------------------------
    @classmethod
    def from_files(cls, kinds: Mapping[str, LayerKind | str], primary: str | None,
                   named: Mapping[str, str]) -> Replay:
        """Source layers read from files: the first of ``kinds`` (name → kind) from
        ``primary``, the others from ``named`` (name → path). ``RecipeError`` for a missing
        or unknown source."""
        check_named_sources(kinds, named)
        sources = list(kinds)
        out = cls()
        paths = {**named, **({sources[0]: primary} if sources else {})}
        for name in sources:
            if paths[name] is None:
                raise RecipeError(f"no file given for the source layer {name!r}")
            out.load(name, str(paths[name]), kinds[name])
        return out

    @classmethod
    def from_command_line(cls, argv: Sequence[str], kinds: Mapping[str, LayerKind | str]
                          ) -> tuple[Replay, str]:
        """``INPUT OUTPUT [NAME=PATH ...]`` (``OUTPUT`` alone when there is no source): the
        sources read, and the output path. ``ValueError`` when called wrongly."""
        want = 2 if kinds else 1
        argv = list(argv)
        if len(argv) < want or any("=" in a and not os.path.exists(a) for a in argv[:want]):
            raise RecipeError(f"expected {'INPUT and OUTPUT' if kinds else 'OUTPUT'} first")
        named: dict[str, str] = {}
        for item in argv[want:]:
            name, sep, path = item.partition("=")
            if not sep or not name or not path:
                raise RecipeError(f"a source layer is given as NAME=PATH; got {item!r}")
            named[name] = path
        primary = argv[0] if kinds else None
        return cls.from_files(kinds, primary, named), argv[want - 1]


def check_named_sources(kinds: Mapping[str, Any], named: Mapping[str, str]) -> None:
    """``RecipeError`` unless ``named`` gives exactly the sources after the first."""
    sources = list(kinds)
    unknown = [name for name in named if name not in sources[1:]]
    if unknown:
        others = ", ".join(repr(n) for n in sources[1:]) or "none"
        raise RecipeError(f"the recipe has no other source layer {unknown[0]!r} "
                          f"(other sources: {others})")
    missing = [name for name in sources[1:] if name not in named]
    if missing:
        raise RecipeError(f"source layer {missing[0]!r} is not given (NAME=PATH)")


def replay(recipe: Recipe, sources: Mapping[str, Any], progress: Progress | None = None
           ) -> Replay:
    """Check ``recipe`` and run it over ``sources`` (name → array, read as the kind the recipe
    uses it as); returns the :class:`Replay` holding every layer it wrote."""
    checked = check(recipe)
    missing = [name for name in checked.source_kinds if name not in sources]
    if missing:
        raise RecipeError(f"source layer {missing[0]!r} is not given")
    out = Replay()
    for name, kind in checked.source_kinds.items():
        out.add(name, sources[name], kind)
    out.run_recipe(checked, progress)
    return out


# -- the exported script ----------------------------------------------------------------------
def _literal(value: Any) -> str:
    """``repr`` of a plain JSON value, refusing anything that is not one."""
    if value is None or isinstance(value, (bool, int, str)):
        return repr(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise RecipeError(f"{value!r} cannot be written in a script")
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_literal(str(k))}: {_literal(v)}"
                               for k, v in value.items()) + "}"
    raise RecipeError(f"{type(value).__name__} values cannot be written in a script")


def to_script(recipe: Recipe) -> str:
    """A runnable Python script replaying ``recipe`` with :mod:`imgstudio.api`:
    ``python SCRIPT.py INPUT OUTPUT [NAME=PATH ...]``.

    The recipe is checked first; the script then holds only literals (``repr`` of checked
    JSON values): no name or value from the recipe ever becomes code.
    """
    checked = check(recipe)
    sources = {name: kind.value for name, kind in checked.source_kinds.items()}
    primary = next(iter(sources), None)
    others = [name for name in sources if name != primary]
    usage = " ".join(["INPUT OUTPUT" if primary is not None else "OUTPUT"]
                     + [f"{name}=PATH" for name in others])
    lines = [
        "#!/usr/bin/env python3",
        '"""Replays an imgstudio recipe over imgstudio.api (written by imgstudio; edit freely).',
        "",
        f"usage: python SCRIPT.py {usage}",
        "",
        "INPUT is read as the first layer of SOURCES; NAME=PATH gives each other source layer.",
        '"""',
        "",
        "import sys",
        "",
        "import imgstudio.api as api",
        "",
        f"SOURCES = {_literal(sources)}",
        f"RESULT = {_literal(checked.result)}",
        f"USAGE = {_literal('usage: python {} ' + usage)}",
        "",
        "",
        "def main(argv: list[str]) -> int:",
        "    try:",
        "        layers, output = api.Replay.from_command_line(argv, SOURCES)",
        "    except (ValueError, OSError) as exc:",
        "        print(f'error: {exc}', file=sys.stderr)",
        "        print(USAGE.format(sys.argv[0]), file=sys.stderr)",
        "        return 2",
        "    try:",
    ]
    for step in checked.steps:
        lines.append(f"        layers.run({_literal(step.op_id)}, {_literal(step.inputs)}, "
                     f"{_literal(step.output)}, {_literal(step.params)})")
    lines += [
        "        layers.write(RESULT, output)",
        "    except (ValueError, OSError) as exc:",
        "        print(f'error: {exc}', file=sys.stderr)",
        "        return 1",
        "    return 0",
        "",
        "",
        "if __name__ == '__main__':",
        "    sys.exit(main(sys.argv[1:]))",
        "",
    ]
    return "\n".join(lines)

