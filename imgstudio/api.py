"""The headless Python API: the same operations the editor runs, as plain function calls.

>>> import imgstudio.api as api
>>> out = api.run("basic.invert", image)                      # doctest: +SKIP
>>> api.run("enhance.histogram_match", source, reference=ref)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from imgstudio.core import registry
from imgstudio.core.invoke import bind, call
from imgstudio.core.io import ImageIOError, load_image, save_image
from imgstudio.core.progress import Cancelled, Progress
from imgstudio.core.spec import OperationSpec

__all__ = [
    "Cancelled",
    "ImageIOError",
    "OperationSpec",
    "Progress",
    "get_operation",
    "list_operations",
    "load_image",
    "run",
    "save_image",
]


def list_operations() -> list[OperationSpec]:
    """Every registered operation, sorted by id."""
    return list(registry.all_specs().values())


def get_operation(op_id: str) -> OperationSpec:
    """The spec of one operation; ``KeyError`` naming close matches when unknown."""
    return registry.get(op_id)


def run(op_id: str, *inputs: Any, progress: Progress | None = None, **kwargs: Any) -> Any:
    """Run operation ``op_id``.

    Positional arguments are its layer inputs in order (usually just the image); keywords are
    further layer inputs (``reference=``, ``mask=``...) and parameters. Parameters are
    validated against the spec first: a wrong type or a value out of range raises
    ``ValueError`` naming the parameter. Returns an ndarray for Image/Labels/Points outputs,
    otherwise the result dataclass.
    """
    spec = registry.get(op_id)
    checked_inputs, params = bind(spec, inputs, kwargs)
    return call(spec, checked_inputs, params, progress)


