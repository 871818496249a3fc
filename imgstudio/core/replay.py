"""Replaying a recipe over named layers, and the recipe as a Python script.

:class:`Replay` holds named layers (the editor's own layer classes, so data is normalised as
in the editor) and runs op calls on them through the one invocation path
(:class:`~imgstudio.core.invoke.Invocation`); ``imgstudio batch``, :func:`replay` and the
exported script (:func:`to_script`, which calls ``imgstudio.api.Replay``) all run recipes this
way, so they write the same files.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

from imgstudio.core import registry
from imgstudio.core.document import Layer
from imgstudio.core.invoke import (
    Invocation,
    make_layer,
    new_layer_of,
    output_names,
    outputs,
    read_layer_file,
    result_json,
    write_layer_file,
)
from imgstudio.core.io import atomic_write_text
from imgstudio.core.progress import Progress
from imgstudio.core.recipe import Checked, Recipe, RecipeError, check
from imgstudio.core.types import LayerKind


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
        layer = make_layer(LayerKind(kind), data, name)
        self.layers[name] = layer
        return layer

    def load(self, name: str, path: str, kind: LayerKind | str = LayerKind.IMAGE) -> Layer:
        """Add the layer ``name`` read from ``path`` as ``kind``; errors name the layer."""
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

