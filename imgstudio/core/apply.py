"""Applying an operation to a document: compute first, then change the document in one step.

The op runs on copies of layer data and touches nothing; only when it returns is a single
history command built and executed. A failed or cancelled op therefore leaves the document and
the history exactly as they were.
"""

from __future__ import annotations

import enum
import pathlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from imgstudio.core import registry
from imgstudio.core.document import (
    LAYER_CLASSES,
    Document,
    ImageLayer,
    LabelsLayer,
    Layer,
    PointsLayer,
    Shape,
    ShapesLayer,
)
from imgstudio.core.history import AddLayer, Command, Group, History, SetPixels
from imgstudio.core.invoke import bind, call
from imgstudio.core.progress import Progress
from imgstudio.core.recipe import RecipeStep
from imgstudio.core.spec import InputSpec, OperationSpec
from imgstudio.core.types import Boxes, Color, LayerKind, layer_fields


def plain_params(params: dict[str, Any]) -> dict[str, Any]:
    """Parameters as JSON-friendly values (for recipes, scripts and project files)."""
    out: dict[str, Any] = {}
    for name, value in params.items():
        if isinstance(value, enum.Enum):
            value = value.value
        elif isinstance(value, pathlib.PurePath):
            value = str(value)
        elif isinstance(value, Color):
            value = value.hex()
        elif isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, np.generic):
            value = value.item()
        out[name] = value
    return out


def compute(
    spec: OperationSpec,
    inputs: dict[str, Any],
    params: dict[str, Any],
    progress: Progress | None = None,
) -> tuple[Any, dict[str, Any]]:
    """Validate and run an op on layer data; returns (result, validated params)."""
    checked_inputs, checked_params = bind(spec, (), {**inputs, **params})
    return call(spec, checked_inputs, checked_params, progress), checked_params


def result_layers(spec: OperationSpec, result: Any, base_name: str) -> list[Layer]:
    """New layers that show a result which does not replace the input's pixels."""
    title = spec.title
    if spec.output.kind == "image":
        return [ImageLayer(result, f"{title} of {base_name}")]
    if spec.output.kind == "labels":
        return [LabelsLayer(np.asarray(result), f"{title} of {base_name}")]
    if spec.output.kind == "points":
        return [PointsLayer(result, f"{title} of {base_name}")]
    if isinstance(result, Boxes):
        return [ShapesLayer(boxes_to_shapes(result), f"{title} of {base_name}")]
    layers: list[Layer] = []
    for n, (name, kind) in enumerate(layer_fields(type(result))):
        value = getattr(result, name)
        if value is None:
            continue
        label = f"{title} of {base_name}" if n == 0 else f"{title} {name} of {base_name}"
        if kind == LayerKind.SHAPES:
            layers.append(ShapesLayer(boxes_to_shapes(value), label))
        else:
            layers.append(LAYER_CLASSES[kind](np.asarray(value), label))
    return layers


def boxes_to_shapes(boxes: Boxes) -> list[Shape]:
    return [
        Shape(
            "box",
            np.array([[x0, y0], [x1, y1]], dtype=float),
            text=label,
            score=float(score),
        )
        for (x0, y0, x1, y1), score, label in zip(boxes.xyxy, boxes.scores, boxes.labels, strict=False)
    ]


def layer_input(op_id: str, ispec: InputSpec, layer: Layer) -> Any:
    """The data ``layer`` gives to input ``ispec``. A labels layer may feed an image input
    (so a threshold's mask chains into morphology): 0/1 masks become uint8 0/255, other labels
    uint8 or uint16 values. Any other kind mismatch is a ValueError naming the input."""
    if layer.kind == ispec.kind:
        return layer.data
    if ispec.kind == LayerKind.IMAGE and layer.kind == LayerKind.LABELS:
        data = np.asarray(layer.data)
        lo, hi = int(data.min(initial=0)), int(data.max(initial=0))
        if lo >= 0 and hi <= 1:
            return (data > 0).astype(np.uint8) * np.uint8(255)
        if lo >= 0 and hi <= 65535:
            return data.astype(np.uint8 if hi <= 255 else np.uint16)
        raise ValueError(f"{op_id}: labels of {layer.name!r} do not fit an image ({lo}..{hi})")
    raise ValueError(
        f"{op_id}: {ispec.name} must be a {ispec.kind.value} layer; "
        f"{layer.name!r} is a {layer.kind.value} layer"
    )


@dataclass
class Prepared:
    """An op computed and its history command built, not yet applied to the document."""

    command: Command | None
    result: Any
    new_layers: list[Layer]


def prepare_operation(
    document: Document,
    op_id: str,
    params: dict[str, Any] | None = None,
    *,
    layer: Layer | None = None,
    inputs: dict[str, Layer | list[Layer] | None] | None = None,
    output: str = "auto",
    progress: Progress | None = None,
    region: tuple[int, int, int, int] | None = None,
    region_mask: np.ndarray | None = None,
) -> Prepared:
    """Run ``op_id`` and build the one command that records its effect; change nothing.

    This is the slow part (the op itself and, for pixel edits, diffing and compressing the
    changed tiles), so the editor calls it on a worker thread and :func:`commit` on the UI
    thread. ``layer`` defaults to the active layer; ``inputs`` maps the op's other layer inputs
    to layers. ``output`` is ``"replace"`` (write an image result into ``layer``),
    ``"new_layer"`` or ``"auto"``: replace when the op maps an image layer to an image, else
    add new layers. Raises whatever the op raises (``ValueError`` naming a bad parameter).

    ``region`` ``(x, y, width, height)`` (a selection's bounding box) with an optional boolean
    ``region_mask`` of the layer's size restricts the op: it runs on the region's crop of every
    input of the layer's size, and a same-sized image result changes only the selected pixels
    (labels results are placed back at the region, zero elsewhere).
    """
    spec = registry.get(op_id)
    params = dict(params or {})
    layer = layer if layer is not None else document.active
    extra = dict(inputs or {})
    data_inputs: dict[str, Any] = {}
    roles: dict[str, str] = {}
    first = spec.inputs[0] if spec.inputs else None
    for ispec in spec.inputs:
        if ispec is first and ispec.name not in extra:
            if layer is None:
                raise ValueError(f"{op_id}: there is no active layer to use as {ispec.name}")
            data = layer_input(op_id, ispec, layer)
            data_inputs[ispec.name] = [data] if ispec.many else data
            continue
        chosen = extra.get(ispec.name)
        if chosen is None:
            data_inputs[ispec.name] = None
            continue
        if isinstance(chosen, list):
            data_inputs[ispec.name] = [lay.data for lay in chosen]
            roles[ispec.name] = ",".join(lay.name for lay in chosen)
        else:
            data_inputs[ispec.name] = layer_input(op_id, ispec, chosen)
            roles[ispec.name] = chosen.name
    window = None
    if region is not None and layer is not None and layer.shape is not None:
        window = _region_slices(region, layer.shape)
        full_shape = layer.shape
        data_inputs = {
            name: _crop(value, window, full_shape) for name, value in data_inputs.items()
        }
    result, checked = compute(spec, data_inputs, params, progress)
    if window is not None:
        result = _uncrop(spec, result, layer, window, region_mask)

    replace = (
        layer is not None
        and first is not None
        and first.name not in extra
        and isinstance(layer, ImageLayer)
        and spec.output.kind == "image"
        and output in ("auto", "replace")
    )
    if output == "replace" and not replace:
        raise ValueError(f"{op_id}: its result cannot replace the layer {getattr(layer, 'name', '')!r}")
    step = RecipeStep(op_id, plain_params(checked), roles, "replace" if replace else "new_layer")
    if replace:
        if progress is not None:
            progress.check()
        return Prepared(SetPixels(layer, np.asarray(result), label=spec.title, step=step), result, [])
    base_name = layer.name if layer is not None else spec.title
    new_layers = result_layers(spec, result, base_name)
    if not new_layers:
        return Prepared(None, result, [])
    anchor = layer if layer is not None and layer in document else None
    index = document.index(anchor) + 1 if anchor is not None else len(document)
    adds: list[Command] = [AddLayer(document, lay, index + i) for i, lay in enumerate(new_layers)]
    command = adds[0] if len(adds) == 1 else Group(spec.title, adds)
    command.label = spec.title
    command.step = step
    return Prepared(command, result, new_layers)


def _region_slices(region: tuple[int, int, int, int], shape: tuple[int, int]) -> tuple[slice, slice]:
    x, y, w, h = (int(v) for v in region)
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + w, shape[1]), min(y + h, shape[0])
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"the selection {tuple(region)} lies outside the layer")
    return slice(y0, y1), slice(x0, x1)


def _crop(value: Any, window: tuple[slice, slice], shape: tuple[int, int]) -> Any:
    """Crop arrays (or lists of arrays) of the layer's size to ``window``; leave others."""
    if isinstance(value, list):
        return [_crop(v, window, shape) for v in value]
    if isinstance(value, np.ndarray) and value.ndim >= 2 and value.shape[:2] == tuple(shape):
        return value[window]
    return value


def _uncrop(spec: OperationSpec, result: Any, layer: Layer, window: tuple[slice, slice],
            mask: np.ndarray | None) -> Any:
    """Put a result computed on a crop back in place (see :func:`prepare_operation`)."""
    crop_shape = (window[0].stop - window[0].start, window[1].stop - window[1].start)
    if not isinstance(result, np.ndarray) or result.shape[:2] != crop_shape:
        return result  # a different geometry or a non-raster result: keep it as it is
    inside = None if mask is None else np.asarray(mask, bool)[window]
    if spec.output.kind == "image" and result.shape[2:] == layer.data.shape[2:]:
        full = layer.data.copy()
        if inside is None:
            full[window] = result
        else:
            full[window][inside] = result[inside]
        return full
    if spec.output.kind == "labels":
        full = np.zeros(layer.shape, dtype=result.dtype)
        full[window] = result if inside is None else np.where(inside, result, 0)
        return full
    return result


def commit(history: History, document: Document, prepared: Prepared) -> Prepared:
    """Apply a prepared operation as one history step (cheap; UI thread)."""
    if prepared.command is not None:
        history.execute(prepared.command)
    if prepared.new_layers and prepared.new_layers[0] in document:
        document.active = prepared.new_layers[0]
    return prepared


def apply_operation(
    document: Document,
    history: History,
    op_id: str,
    params: dict[str, Any] | None = None,
    *,
    layer: Layer | None = None,
    inputs: dict[str, Layer | list[Layer] | None] | None = None,
    output: str = "auto",
    progress: Progress | None = None,
    region: tuple[int, int, int, int] | None = None,
    region_mask: np.ndarray | None = None,
) -> Prepared:
    """:func:`prepare_operation` then :func:`commit`: run an op on the document as one step.

    A failed or cancelled op raises and leaves the document and the history untouched.
    """
    prepared = prepare_operation(document, op_id, params, layer=layer, inputs=inputs,
                                 output=output, progress=progress, region=region,
                                 region_mask=region_mask)
    return commit(history, document, prepared)
