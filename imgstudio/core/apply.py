"""Applying an operation to a document: compute first, then change the document in one step.

The op runs (through :class:`~imgstudio.core.invoke.Invocation`, the path every caller
shares) on copies of layer data and touches nothing; only when it returns is a single history
command built and executed. A failed or cancelled op therefore leaves the document and the
history exactly as they were. The command carries a
:class:`~imgstudio.core.recipe.RecordedStep`: the layer of every input and of every output,
so the history replays as a recipe.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from imgstudio.core import registry
from imgstudio.core.document import Document, ImageLayer, Layer
from imgstudio.core.history import AddLayer, Command, Group, History, Record, SetPixels
from imgstudio.core.invoke import Invocation, make_layer, output_names, outputs
from imgstudio.core.progress import Progress
from imgstudio.core.recipe import LayerRef, RecordedStep
from imgstudio.core.spec import OperationSpec
from imgstudio.core.types import Region


@dataclass
class Prepared:
    """An op computed and its history command built, not yet applied to the document."""

    command: Command | None
    result: Any
    new_layers: list[Layer]
    step: RecordedStep | None = None


def input_layers(spec: OperationSpec, layer: Layer | None,
                 inputs: dict[str, Layer | list[Layer] | None] | None) -> dict[str, Any]:
    """Every layer input of ``spec`` mapped to its layer(s): ``inputs`` as given, the main
    (first) input defaulting to ``layer``. ``ValueError`` when there is no layer for it."""
    given = {k: v for k, v in (inputs or {}).items() if v is not None}
    unknown = set(given) - {i.name for i in spec.inputs}
    if unknown:
        raise ValueError(f"{spec.id} has no input {sorted(unknown)[0]!r}")
    chosen: dict[str, Any] = {}
    for n, ispec in enumerate(spec.inputs):  # in the op's order: the recipe's sources follow it
        if ispec.name in given:
            chosen[ispec.name] = given[ispec.name]
        elif n == 0 and layer is not None:
            chosen[ispec.name] = [layer] if ispec.many else layer
        elif n == 0 and not ispec.optional:
            raise ValueError(f"{spec.id}: there is no active layer to use as {ispec.name}")
    return chosen


def _ref(value: Layer | list[Layer]) -> LayerRef | tuple[LayerRef, ...]:
    if isinstance(value, list):
        return tuple(LayerRef(x.id, x.name) for x in value)
    return LayerRef(value.id, value.name)


def prepare_operation(
    document: Document,
    op_id: str,
    params: dict[str, Any] | None = None,
    *,
    layer: Layer | None = None,
    inputs: dict[str, Layer | list[Layer] | None] | None = None,
    **where: Any,
) -> Prepared:
    """Run ``op_id`` and build the one command that records its effect; change nothing.

    This is the slow part (the op itself and, for pixel edits, diffing and compressing the
    changed tiles), so the editor calls it on a worker thread and :func:`commit` on the UI
    thread. ``layer`` (default: the active layer) feeds the op's main input unless ``inputs``
    names one for it; ``inputs`` maps the op's other layer inputs to layers. ``output`` is
    ``"replace"`` (write an image result into ``layer``), ``"new_layer"`` or ``"auto"``:
    replace when the op maps an image layer to an image, else add new layers; ``progress``,
    ``region`` and ``region_mask`` are as in :func:`prepare_invocation`. Raises whatever the op
    raises (``ValueError`` naming a bad parameter).
    """
    spec = registry.get(op_id)
    layer = layer if layer is not None else document.active
    chosen = input_layers(spec, layer, inputs)
    invocation = Invocation.from_layers(spec, chosen, dict(params or {}))
    return prepare_invocation(document, invocation, chosen, layer=layer, **where)


def prepare_invocation(
    document: Document,
    invocation: Invocation,
    chosen: dict[str, Any],
    *,
    layer: Layer | None = None,
    output: str = "auto",
    progress: Progress | None = None,
    region: Region | None = None,
    region_mask: np.ndarray | None = None,
) -> Prepared:
    """:func:`prepare_operation` for an invocation already made (and so validated) from the
    layers ``chosen`` (see :func:`input_layers`), e.g. on the editor's UI thread.

    ``region`` (a selection's bounding box) with an optional boolean ``region_mask`` of the
    layer's size restricts the op: it runs on the region's crop of the main input and of its
    aligned inputs (reference images stay whole), and a same-sized image result changes only
    the selected pixels (labels results are placed back at the region, zero elsewhere).
    ``progress`` is checked once more before a pixel edit is recorded.
    """
    spec = invocation.spec
    op_id = spec.id
    first = spec.inputs[0] if spec.inputs else None
    main = chosen.get(first.name) if first is not None else None
    window = None
    if region is not None and isinstance(main, Layer) and main.shape is not None:
        window = Region(*region).clip(main.shape)
        if window is None:
            raise ValueError(f"the selection {tuple(region)} lies outside the layer")
        invocation = invocation.cropped(window, main.shape)
    result = invocation.run(progress)
    if window is not None:
        result = _uncrop(spec, result, main, window, region_mask)

    replace = (isinstance(main, ImageLayer) and main is layer and spec.output.kind == "image"
               and output in ("auto", "replace"))
    if output == "replace" and not replace:
        raise ValueError(f"{op_id}: its result cannot replace the layer "
                         f"{getattr(layer, 'name', '')!r}")
    refs = {name: _ref(value) for name, value in chosen.items()}
    plain = spec.plain(invocation.params)
    if replace:
        if progress is not None:
            progress.check()
        step = RecordedStep(op_id, plain, refs, main.name, ((None, main.id),))
        return Prepared(SetPixels(main, np.asarray(result), label=spec.title, step=step),
                        result, [], step)
    base_name = main.name if isinstance(main, Layer) else (
        layer.name if layer is not None else spec.title)
    wanted = spec.title if not spec.inputs else f"{spec.title} of {base_name}"  # a sampler
    base, names = _free_names(document, spec, wanted)
    parts = outputs(spec, result)
    new_layers = [make_layer(part.kind, part.value, names[part.field]) for part in parts]
    written = tuple((part.field if len(names) > 1 else None, lay.id)
                    for part, lay in zip(parts, new_layers, strict=True))
    step = RecordedStep(op_id, plain, refs, base if new_layers else None, written)
    if not new_layers:  # a table, classes...: a step of its own, so it stays in the recipe
        return Prepared(Record(spec.title, step), result, [], step)
    anchor = layer if layer is not None and layer in document else None
    index = document.index(anchor) + 1 if anchor is not None else len(document)
    adds: list[Command] = [AddLayer(document, lay, index + i) for i, lay in enumerate(new_layers)]
    command = adds[0] if len(adds) == 1 else Group(spec.title, adds)
    command.label = spec.title
    command.step = step
    return Prepared(command, result, new_layers, step)


def _free_names(document: Document, spec: OperationSpec, wanted: str
                ) -> tuple[str, dict[str | None, str]]:
    """The first of ``wanted``, ``wanted 2``... whose output layer names (``NAME`` or
    ``NAME.FIELD``, as the recipe will call them) are all free in ``document``."""
    taken = {lay.name for lay in document}
    k = 1
    while True:
        base = wanted if k == 1 else f"{wanted} {k}"
        names = output_names(spec, base)
        if base not in taken and not taken & set(names.values()):
            return base, names
        k += 1


def _uncrop(spec: OperationSpec, result: Any, layer: Layer, window: Region,
            mask: np.ndarray | None) -> Any:
    """Put a result computed on a crop back in place (see :func:`prepare_operation`)."""
    if not isinstance(result, np.ndarray) or result.shape[:2] != (window.height, window.width):
        return result  # a different geometry or a non-raster result: keep it as it is
    inside = None if mask is None else np.asarray(mask, bool)[window.slices]
    if spec.output.kind == "image" and result.shape[2:] == layer.data.shape[2:]:
        full = layer.data.copy()
        if inside is None:
            full[window.slices] = result
        else:
            full[window.slices][inside] = result[inside]
        return full
    if spec.output.kind == "labels":
        full = np.zeros(layer.shape, dtype=result.dtype)
        full[window.slices] = result if inside is None else np.where(inside, result, 0)
        return full
    return result


def commit(history: History, document: Document, prepared: Prepared) -> Prepared:
    """Apply a prepared operation as one history step (cheap; UI thread)."""
    if prepared.command is not None:
        history.execute(prepared.command)
    if prepared.new_layers and prepared.new_layers[0] in document:
        document.active = prepared.new_layers[0]
    return prepared


def apply_operation(document: Document, history: History, op_id: str,
                    params: dict[str, Any] | None = None, **options: Any) -> Prepared:
    """:func:`prepare_operation` (``options``: its keywords) then :func:`commit`: run an op on
    the document as one step.

    A failed or cancelled op raises and leaves the document and the history untouched.
    """
    return commit(history, document, prepare_operation(document, op_id, params, **options))
