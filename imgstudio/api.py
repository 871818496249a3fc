"""The headless Python API: the same operations the editor runs, as plain function calls.

>>> import imgstudio.api as api
>>> out = api.run("basic.invert", image)                      # doctest: +SKIP
>>> api.run("enhance.histogram_match", source, reference=ref)  # doctest: +SKIP

Recipes (saved from the editor's History) replay over named layers with :class:`Replay`,
exactly as ``imgstudio batch`` and exported scripts do:

>>> layers = api.Replay()                                     # doctest: +SKIP
>>> layers.add("coins", image)                                # doctest: +SKIP
>>> layers.run("segment.watershed", {"image": "coins"}, "Watershed", {"min_distance": 20})
"""

from __future__ import annotations

from typing import Any

from imgstudio.core import registry
from imgstudio.core.errors import MissingExtraError, ModelNotFoundError
from imgstudio.core.invoke import Invocation
from imgstudio.core.io import ImageIOError, load_image, save_image
from imgstudio.core.progress import Cancelled, Progress
from imgstudio.core.recipe import Recipe, RecipeError, load_recipe, save_recipe
from imgstudio.core.replay import Replay
from imgstudio.core.spec import OperationSpec

__all__ = [
    "Cancelled",
    "ImageIOError",
    "MissingExtraError",
    "ModelNotFoundError",
    "OperationSpec",
    "Progress",
    "Recipe",
    "RecipeError",
    "Replay",
    "get_operation",
    "import_model",
    "list_models",
    "list_operations",
    "model_folder",
    "load_image",
    "load_recipe",
    "replay_recipe",
    "run",
    "save_image",
    "save_recipe",
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
    return Invocation.bind(registry.get(op_id), *inputs, **kwargs).run(progress)


def replay_recipe(recipe: Recipe, sources: dict[str, Any],
                  progress: Progress | None = None) -> Replay:
    """Check ``recipe`` and run it over ``sources`` (layer name → array); the returned
    :class:`Replay` holds every layer (``.layer(name).data``) and non-layer result."""
    from imgstudio.core.replay import replay

    return replay(recipe, sources, progress)




# -- the model store ----------------------------------------------------------------------------
# Functions, not re-exports, so that the GUI (which may not import imgstudio.models) reaches the
# store through this module, and importing imgstudio.api stays cheap.

def list_models(check: bool = True) -> list[dict[str, Any]]:
    """Every known model as a dict: its card (name, file, sha256, format, architecture,
    labels, licence, source), ``command`` (what installs it) and, with ``check``, ``status``
    (``ok``, ``missing`` or ``corrupt``) and ``path`` (its file when ``ok``) or ``error``."""
    from imgstudio.models import store

    status = {name: (st, detail) for name, st, detail in store.verify()} if check else {}
    out = []
    for name, info in store.known().items():
        entry = {**info.to_json(), "command": info.command}
        if check:
            st, detail = status[name]
            entry["status"] = st
            entry["path" if st == "ok" else "error"] = detail
        out.append(entry)
    return out


def import_model(path: str, name: str, **card: Any) -> dict[str, Any]:
    """Copy a weights file into the user's model folder as ``name`` (see
    :func:`imgstudio.models.store.import_file`); returns its card with ``path``."""
    from imgstudio.models import store

    located = store.import_file(path, name, **card)
    store.forget()
    return {**located.info.to_json(), "path": str(located.path)}


def model_folder() -> str:
    """The folder imported models go to (``$IMGSTUDIO_MODELS`` or the user's data folder)."""
    from imgstudio.models import store

    return str(store.user_folders()[0])
