"""Recipes: the history as data — a list of (op id, params, input roles) — replayable elsewhere."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from imgstudio.core.progress import Progress
from imgstudio.core.types import LayerKind, layer_fields


@dataclass(frozen=True)
class RecipeStep:
    """One replayable operation call.

    ``inputs`` maps each layer input of the op (other than the main ``image``) to the name of
    the layer it was taken from; ``output`` says where the result went: ``"replace"`` (the
    active layer's pixels), or ``"new_layer"``.
    """

    op_id: str
    params: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, str] = field(default_factory=dict)
    output: str = "replace"

    def to_json(self) -> dict[str, Any]:
        return {"op": self.op_id, "params": dict(self.params), "inputs": dict(self.inputs),
                "output": self.output}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RecipeStep:
        if not isinstance(data, dict) or not isinstance(data.get("op"), str):
            raise ValueError(f"a recipe step needs an 'op' id; got {data!r}")
        return cls(
            op_id=data["op"],
            params=dict(data.get("params", {})),
            inputs=dict(data.get("inputs", {})),
            output=data.get("output", "replace"),
        )


RECIPE_FORMAT = "imgstudio-recipe"
RECIPE_VERSION = 1


def recipe_to_json(steps: list[RecipeStep]) -> dict[str, Any]:
    return {
        "format": RECIPE_FORMAT,
        "version": RECIPE_VERSION,
        "steps": [s.to_json() for s in steps],
    }


def recipe_from_json(data: Any) -> list[RecipeStep]:
    if not isinstance(data, dict) or data.get("format") != RECIPE_FORMAT:
        raise ValueError(f"not an imgstudio recipe (expected format {RECIPE_FORMAT!r})")
    if data.get("version", 0) > RECIPE_VERSION:
        raise ValueError(
            f"recipe version {data.get('version')} is newer than this imgstudio "
            f"understands ({RECIPE_VERSION})"
        )
    steps = data.get("steps")
    if not isinstance(steps, list):
        raise ValueError("recipe has no 'steps' list")
    return [RecipeStep.from_json(s) for s in steps]


def save_recipe(path: str | os.PathLike[str], steps: list[RecipeStep]) -> None:
    """Write a recipe as JSON, atomically."""
    atomic_write_text(path, json.dumps(recipe_to_json(steps), indent=2) + "\n")


def load_recipe(path: str | os.PathLike[str]) -> list[RecipeStep]:
    """Read a recipe written by :func:`save_recipe`; ``ValueError`` naming the file if bad."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        return recipe_from_json(data)
    except (OSError, json.JSONDecodeError, ValueError) as exc:
        raise ValueError(f"cannot read recipe {os.fspath(path)}: {exc}") from None


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


@dataclass
class ReplayResult:
    """The final active layer data after replaying a recipe, plus non-layer results by step."""

    data: Any
    kind: str  # "image", "labels", "points"
    results: list[tuple[int, str, Any]] = field(default_factory=list)


def replay(
    steps: list[RecipeStep],
    image: np.ndarray,
    layers: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> ReplayResult:
    """Apply ``steps`` in order, each to the result of the previous one (the active layer).

    ``layers`` supplies the other inputs a step names (``step.inputs`` maps input → layer
    name). A step whose result is a new layer makes that layer the active one, as the editor
    does; non-layer results (tables, classes...) are collected in ``results``.
    """
    from imgstudio.core import registry
    from imgstudio.core.invoke import bind, call

    layers = dict(layers or {})
    current: Any = image
    kind = "image"
    collected: list[tuple[int, str, Any]] = []
    for n, step in enumerate(steps):
        spec = registry.get(step.op_id)
        kwargs: dict[str, Any] = dict(step.params)
        for input_name, layer_name in step.inputs.items():
            if layer_name not in layers:
                raise ValueError(
                    f"step {n + 1} ({step.op_id}) needs the layer {layer_name!r} "
                    f"as {input_name}, which was not given"
                )
            kwargs[input_name] = layers[layer_name]
        args = (current,) if spec.inputs and spec.inputs[0].name not in step.inputs else ()
        sub = progress.sub(n / len(steps), (n + 1) / len(steps)) if progress else None
        inputs, params = bind(spec, args, kwargs)
        result = call(spec, inputs, params, sub)
        if spec.output.kind in ("image", "labels", "points"):
            current, kind = result, spec.output.kind
        else:
            rasters = [(name, k) for name, k in layer_fields(type(result))
                       if k in (LayerKind.IMAGE, LayerKind.LABELS)]
            if rasters:  # the first raster field becomes the active layer, as in the editor
                current, kind = getattr(result, rasters[0][0]), rasters[0][1].value
            collected.append((n, step.op_id, result))
    return ReplayResult(current, kind, collected)


def to_script(steps: list[RecipeStep]) -> str:
    """A runnable Python script that replays ``steps`` with :mod:`imgstudio.api`."""
    lines = [
        '"""Replay an imgstudio history: python script.py INPUT OUTPUT [LAYER=PATH ...]."""',
        "",
        "import sys",
        "",
        "import imgstudio.api as api",
        "",
        "layers = dict(arg.split('=', 1) for arg in sys.argv[3:])",
        "image = api.load_image(sys.argv[1])",
    ]
    from imgstudio.core import registry

    for step in steps:
        spec = registry.get(step.op_id)
        feeds_active = bool(spec.inputs) and spec.inputs[0].name not in step.inputs
        args = ["image"] if feeds_active else []
        for input_name, layer_name in step.inputs.items():
            args.append(f"{input_name}=api.load_image(layers[{layer_name!r}])")
        for name, value in step.params.items():
            args.append(f"{name}={value!r}")
        call_text = f"api.run({step.op_id!r}, {', '.join(args)})" if args else f"api.run({step.op_id!r})"
        lines.append(f"image = {call_text}")
    lines += ["api.save_image(sys.argv[2], image)", ""]
    return "\n".join(lines)
