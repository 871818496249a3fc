"""Recipes: the history as data — a list of (op id, params, input roles) — replayable elsewhere."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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
