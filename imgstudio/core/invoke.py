"""Calling an operation: the one path shared by the editor, the API, the CLI, batch, replay and
the exported script — and the one result writer.

An :class:`Invocation` holds an op's checked layer inputs and validated parameters, made once
from plain values (:meth:`Invocation.bind`, the API), from layers (:meth:`from_layers`: the
editor and replay, where a labels layer may feed an image input) or from files
(:meth:`from_files`: the CLI). :meth:`Invocation.run` calls the op.

Binding checks every layer input the same way for every op (:func:`bind`): an image must be
``(H, W[, 3|4])`` ``uint8``/``uint16``/``float32`` with finite pixels (NaN or ±inf is refused
here, naming the input; see :func:`~imgstudio.core.types.check_image`), labels a non-empty
integer ``(H, W)`` array, points finite ``(N, 2)``; parameters are validated by the spec.

What an op returns is taken apart by :func:`outputs` into its layer-valued parts (an image, a
labels array, points, boxes, or the layer fields of a result dataclass); :func:`make_layer`
turns one into a layer, :func:`write_layer_file` into a file (labels as 8/16-bit images, points
as CSV, boxes as JSON), :func:`result_json` gives the rest as JSON. :func:`output_names` is the
naming rule shared with recipes: one layer output takes the step's name, several take
``NAME.FIELD``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from imgstudio.core.document import LAYER_CLASSES, Layer, Shape, ShapesLayer
from imgstudio.core.io import ImageIOError, atomic_write, atomic_write_text, load_image, save_image
from imgstudio.core.progress import Progress
from imgstudio.core.spec import InputSpec, OperationSpec
from imgstudio.core.types import (
    Boxes,
    LayerKind,
    Lines,
    Region,
    check_image,
    check_labels,
    check_points,
    layer_fields,
)


def _check_op_image(value: Any, name: str) -> np.ndarray:
    """An image input: shape, dtype and, the rule for every operation, finite pixels."""
    return check_image(value, name, finite=True)


#: The checks of every layer input, made here once for every operation (an op's own
#: ``check_image`` call repeats only the cheap shape and dtype part).
_CHECKERS = {
    LayerKind.IMAGE: _check_op_image,
    LayerKind.LABELS: check_labels,
    LayerKind.POINTS: check_points,
}


def _check_input(spec: InputSpec, value: Any) -> Any:
    checker = _CHECKERS.get(spec.kind)
    if checker is None:
        return value
    if spec.many:
        if isinstance(value, np.ndarray) or not isinstance(value, (list, tuple)):
            raise ValueError(f"{spec.name} must be a list of {spec.kind.value} arrays")
        return [checker(v, f"{spec.name}[{i}]") for i, v in enumerate(value)]
    return checker(value, spec.name)


def bind(spec: OperationSpec, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[dict, dict]:
    """Split positional and keyword arguments into checked layer inputs and parameters.

    Positional arguments fill the layer inputs in declaration order. Raises ``ValueError``
    naming the input or parameter at fault.
    """
    if len(args) > len(spec.inputs):
        raise ValueError(
            f"{spec.id} takes {len(spec.inputs)} layer input(s) "
            f"({', '.join(i.name for i in spec.inputs) or 'none'}); got {len(args)} positional"
        )
    inputs: dict[str, Any] = {}
    for ispec, value in zip(spec.inputs, args, strict=False):
        inputs[ispec.name] = value
    params: dict[str, Any] = {}
    input_names = {i.name for i in spec.inputs}
    for name, value in kwargs.items():
        if name in input_names:
            if name in inputs:
                raise ValueError(f"{spec.id}: input {name} given twice")
            inputs[name] = value
        else:
            params[name] = value
    checked: dict[str, Any] = {}
    for ispec in spec.inputs:
        value = inputs.get(ispec.name)
        if value is None or (ispec.many and isinstance(value, (list, tuple)) and not value
                             and ispec.optional):
            if not ispec.optional:
                raise ValueError(f"{spec.id}: input {ispec.name} ({ispec.kind.value}) is required")
            checked[ispec.name] = None
            continue
        checked[ispec.name] = _check_input(ispec, value)
    return checked, spec.validate(params)


def call(spec: OperationSpec, inputs: dict[str, Any], params: dict[str, Any],
         progress: Progress | None = None) -> Any:
    """Run ``spec`` on already-checked inputs and parameters (see :func:`bind`)."""
    if spec.takes_progress:
        return spec.func(**inputs, **params, progress=progress or Progress())
    return spec.func(**inputs, **params)


# -- layers as inputs -------------------------------------------------------------------------
def labels_as_image(data: np.ndarray, what: str = "labels") -> np.ndarray:
    """Labels shown as an image: a 0/1 mask as uint8 0/255, other labels as their values in
    uint8 (below 256) or uint16. ``ValueError`` for values outside 0..65535."""
    data = np.asarray(data)
    lo, hi = int(data.min(initial=0)), int(data.max(initial=0))
    if lo >= 0 and hi <= 1:
        return (data > 0).astype(np.uint8) * np.uint8(255)
    if lo >= 0 and hi <= 65535:
        return data.astype(np.uint8 if hi <= 255 else np.uint16)
    raise ValueError(f"{what} do not fit an image ({lo}..{hi})")


def layer_input(op_id: str, ispec: InputSpec, layer: Layer) -> Any:
    """The data ``layer`` gives to input ``ispec``. A labels layer may feed an image input
    (a threshold's mask chains into morphology) through :func:`labels_as_image`; any other kind
    mismatch is a ValueError naming the input."""
    if layer.kind == ispec.kind:
        return layer.data
    if ispec.kind == LayerKind.IMAGE and layer.kind == LayerKind.LABELS:
        return labels_as_image(layer.data, f"{op_id}: labels of {layer.name!r}")
    raise ValueError(
        f"{op_id}: {ispec.name} must be a {ispec.kind.value} layer; "
        f"{layer.name!r} is a {layer.kind.value} layer"
    )


def kind_fits(ispec: InputSpec, kind: LayerKind) -> bool:
    """Whether a layer of ``kind`` can feed ``ispec`` (its own kind, or labels for an image)."""
    return kind == ispec.kind or (ispec.kind == LayerKind.IMAGE and kind == LayerKind.LABELS)


# -- the invocation ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Invocation:
    """One op call with checked inputs and validated parameters, ready to :meth:`run`."""

    spec: OperationSpec
    inputs: dict[str, Any]
    params: dict[str, Any]

    @classmethod
    def bind(cls, spec: OperationSpec, *args: Any, **kwargs: Any) -> Invocation:
        """From plain values: positional layer inputs, keyword inputs and parameters."""
        inputs, params = bind(spec, args, kwargs)
        return cls(spec, inputs, params)

    @classmethod
    def from_layers(cls, spec: OperationSpec,
                    layers: Mapping[str, Layer | Sequence[Layer] | None],
                    params: Mapping[str, Any]) -> Invocation:
        """From layers: ``layers`` maps input names to a layer (a list for list inputs)."""
        return cls._from(spec, layers, params, Layer,
                         lambda ispec, layer: layer_input(spec.id, ispec, layer))

    @classmethod
    def from_files(cls, spec: OperationSpec, files: Mapping[str, str | Sequence[str]],
                   params: Mapping[str, Any]) -> Invocation:
        """From files: ``files`` maps input names to a path (a list for list inputs)."""
        return cls._from(spec, files, params, str,
                         lambda ispec, path: read_layer_file(ispec.kind, path, ispec.name))

    @classmethod
    def _from(cls, spec: OperationSpec, given: Mapping[str, Any], params: Mapping[str, Any],
              single: type, read: Any) -> Invocation:
        """``given`` maps input names to one ``single`` item (a layer, a path) or a list of
        them; ``read(ispec, item)`` gives an item's data."""
        unknown = set(given) - {i.name for i in spec.inputs}
        if unknown:
            raise ValueError(f"{spec.id} has no input {sorted(unknown)[0]!r}")
        values: dict[str, Any] = {}
        for ispec in spec.inputs:
            chosen = given.get(ispec.name)
            if chosen is None:
                continue
            items = [chosen] if isinstance(chosen, single) else list(chosen)
            if not ispec.many and len(items) != 1:
                what = "layer" if single is Layer else "file"
                raise ValueError(f"{spec.id}: {ispec.name} takes one {what}; got {len(items)}")
            data = [read(ispec, item) for item in items]
            values[ispec.name] = data if ispec.many else data[0]
        return cls.bind(spec, **values, **dict(params))

    def cropped(self, region: Region, shape: tuple[int, int]) -> Invocation:
        """The same call on ``region`` of the main input: every aligned input of the main
        input's ``shape`` is cropped alike; other inputs (a reference image) stay whole."""
        out = dict(self.inputs)
        for ispec in self.spec.inputs:
            if ispec.aligned and out.get(ispec.name) is not None:
                out[ispec.name] = _crop(out[ispec.name], region, shape)
        return Invocation(self.spec, out, self.params)

    def run(self, progress: Progress | None = None) -> Any:
        return call(self.spec, self.inputs, self.params, progress)


def _crop(value: Any, region: Region, shape: tuple[int, int]) -> Any:
    if isinstance(value, list):
        return [_crop(v, region, shape) for v in value]
    if isinstance(value, np.ndarray) and value.ndim >= 2 and value.shape[:2] == tuple(shape):
        return value[region.slices]
    return value


# -- results ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Output:
    """One layer-valued part of a result: ``field`` of a result dataclass (None for a plain
    image/labels/points/boxes result), its kind and value."""

    field: str | None
    kind: LayerKind
    value: Any


def output_kinds(spec: OperationSpec) -> list[tuple[str | None, LayerKind]]:
    """The layer outputs an op declares, as (field or None, kind)."""
    kind = spec.output.kind
    if kind in ("image", "labels", "points"):
        return [(None, LayerKind(kind))]
    rtype = spec.output.result_type
    if rtype is None:
        return []
    if isinstance(rtype, type) and issubclass(rtype, (Boxes, Lines)):
        return [(None, LayerKind.SHAPES)]
    return list(layer_fields(rtype))


def output_names(spec: OperationSpec, base: str) -> dict[str | None, str]:
    """Layer name of each declared output: ``base`` for a single one, ``base.FIELD`` for
    several (keys as in :func:`output_kinds`)."""
    kinds = output_kinds(spec)
    if len(kinds) == 1:
        return {kinds[0][0]: base}
    return {name: f"{base}.{name}" for name, _ in kinds}


def outputs(spec: OperationSpec, result: Any) -> list[Output]:
    """The layer-valued parts of ``result`` (fields that are None are left out)."""
    out = []
    for name, kind in output_kinds(spec):
        value = result if name is None else getattr(result, name)
        if value is not None:
            out.append(Output(name, kind, value))
    return out


def result_json(result: Any) -> Any:
    """The JSON form of a result (raster fields left out: they are written as images)."""
    return result.to_json() if hasattr(result, "to_json") else result


def lines_to_shapes(lines: Lines) -> list[Shape]:
    return [Shape("polyline", np.asarray(path, dtype=float), text=label)
            for path, label in zip(lines.paths, lines.labels, strict=True)]


def boxes_to_shapes(boxes: Boxes) -> list[Shape]:
    return [
        Shape("box", np.array([[x0, y0], [x1, y1]], dtype=float), text=label, score=float(score))
        for (x0, y0, x1, y1), score, label in zip(boxes.xyxy, boxes.scores, boxes.labels,
                                                  strict=False)
    ]


def make_layer(kind: LayerKind, value: Any, name: str) -> Layer:
    """A new layer holding an output (boxes become box shapes)."""
    if kind == LayerKind.SHAPES:
        if isinstance(value, Boxes):
            return ShapesLayer(boxes_to_shapes(value), name)
        return ShapesLayer(lines_to_shapes(value) if isinstance(value, Lines) else list(value), name)
    return LAYER_CLASSES[kind](np.asarray(value), name)


def new_layer_of(layer: Layer, data: Any) -> Layer:
    """A layer like ``layer`` (kind, name, id, look) holding ``data``: how a replay writes a
    result in place of an input layer, normalised as the editor's layers are."""
    return type(layer)(data, layer.name, visible=layer.visible, opacity=layer.opacity,
                       blend_mode=layer.blend_mode, layer_id=layer.id)


# -- files ------------------------------------------------------------------------------------
def read_layer_file(kind: LayerKind | str, path: str, name: str) -> Any:
    """Read an input of ``kind`` (image, labels, points) from ``path`` for input ``name``;
    errors name the input and the file."""
    kind = LayerKind(kind)
    if not os.path.isfile(path):
        raise ValueError(f"{name}: no such file: {path}")
    if kind == LayerKind.POINTS:
        try:
            if path.endswith(".json"):
                with open(path, encoding="utf-8") as fh:
                    return np.asarray(json.load(fh), dtype=float).reshape(-1, 2)
            return np.loadtxt(path, delimiter=",", ndmin=2, comments="#",
                              skiprows=_header_rows(path))
        except (ValueError, OSError) as exc:
            raise ValueError(f"{name}: cannot read points from {path}: {exc}") from None
    if kind == LayerKind.SHAPES:
        raise ValueError(f"{name}: shapes cannot be read from a file")
    if path.endswith(".npy"):
        try:
            data = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise ImageIOError(f"cannot read {path}: {exc}") from None
    else:
        data = load_image(path)
    if kind == LayerKind.LABELS:
        if data.ndim != 2 or not np.issubdtype(data.dtype, np.integer):
            raise ValueError(f"{name}: {path} is not a labels image (integer, single channel)")
        data = data.astype(np.int32)
    return data


def _header_rows(path: str) -> int:
    """1 when the CSV's first line is a header such as ``x,y`` (as we write them), else 0."""
    with open(path, encoding="utf-8") as fh:
        first = fh.readline()
    return int(any(c.isalpha() for c in first.split("#", 1)[0]))


def labels_for_file(data: np.ndarray) -> np.ndarray:
    """Labels as an 8-bit (values below 256) or 16-bit image; ``ValueError`` outside 0..65535."""
    data = np.asarray(data)
    if data.min(initial=0) < 0 or data.max(initial=0) > 65535:
        raise ValueError("labels outside 0..65535 cannot be saved as an image; use .npy")
    return data.astype(np.uint8 if data.max(initial=0) < 256 else np.uint16)


def write_layer_file(kind: LayerKind | str, value: Any, path: str) -> None:
    """Write one output to ``path`` (format from the extension): images as they are, labels
    as 8/16-bit images (raw in ``.npy``), points as ``x,y`` CSV, boxes or shapes as JSON."""
    kind = LayerKind(kind)
    if kind == LayerKind.POINTS:
        rows = "".join(f"{float(x)!r},{float(y)!r}\n"
                       for x, y in np.asarray(value, float).reshape(-1, 2))
        atomic_write_text(path, "x,y\n" + rows)
        return
    if kind == LayerKind.SHAPES:
        data = (result_json(value) if isinstance(value, (Boxes, Lines))
                else [s.to_json() for s in value])
        atomic_write_text(path, json.dumps(data, indent=1) + "\n")
        return
    data = np.asarray(value)
    if path.endswith(".npy"):
        atomic_write(path, lambda target: np.save(target, data, allow_pickle=False), "file")
        return
    save_image(path, labels_for_file(data) if kind == LayerKind.LABELS else data)


def write_result_files(spec: OperationSpec, result: Any, path: str | None) -> list[str]:
    """Write an op's result as ``imgstudio run -o PATH`` does: the first layer output to
    ``path``, the others beside it as ``STEM.FIELD.EXT`` (points as ``.csv``, boxes as
    ``.json``); a result without layer outputs goes to ``path`` as JSON. Returns the paths."""
    if not path:
        return []
    parts = [o for o in outputs(spec, result)
             if o.kind != LayerKind.SHAPES or spec.output.result_type in (Boxes, Lines)]
    if not parts:
        if result is None:
            return []
        atomic_write_text(path, json.dumps(result_json(result), indent=1) + "\n")
        return [path]
    stem, ext = os.path.splitext(path)
    written = []
    for i, part in enumerate(parts):
        suffix = {LayerKind.POINTS: ".csv", LayerKind.SHAPES: ".json"}.get(part.kind, ext)
        target = path if i == 0 else f"{stem}.{part.field}{suffix}"
        write_layer_file(part.kind, part.value, target)
        written.append(target)
    return written

