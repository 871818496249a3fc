"""Calling an operation: one validation path shared by the API, CLI, batch and the GUI."""

from __future__ import annotations

from typing import Any

import numpy as np

from imgstudio.core.progress import Progress
from imgstudio.core.spec import InputSpec, OperationSpec
from imgstudio.core.types import LayerKind, check_image, check_labels, check_points


def _check_input(spec: InputSpec, value: Any) -> Any:
    checker = {
        LayerKind.IMAGE: check_image,
        LayerKind.LABELS: check_labels,
        LayerKind.POINTS: check_points,
    }.get(spec.kind)
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
        if value is None:
            if not ispec.optional:
                raise ValueError(f"{spec.id}: input {ispec.name} ({ispec.kind.value}) is required")
            checked[ispec.name] = None
            continue
        checked[ispec.name] = _check_input(ispec, value)
    return checked, spec.validate(params)


def call(
    spec: OperationSpec,
    inputs: dict[str, Any],
    params: dict[str, Any],
    progress: Progress | None = None,
) -> Any:
    """Run ``spec`` on already-checked inputs and parameters (see :func:`bind`)."""
    if spec.takes_progress:
        return spec.func(**inputs, **params, progress=progress or Progress())
    return spec.func(**inputs, **params)
