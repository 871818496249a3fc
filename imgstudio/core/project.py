"""Project files (``*.imgs``): a zip of ``manifest.json`` plus one lossless file per layer.

Raster and point data are stored with ``numpy.save(allow_pickle=False)`` (exact for every
dtype); shapes live in the manifest. Nothing is ever unpickled. Saving is atomic: the zip is
written to a temporary file next to the target and renamed over it.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from imgstudio.core.document import LAYER_CLASSES, Document, Layer, Shape, ShapesLayer
from imgstudio.core.recipe import Recipe, RecipeError, recipe_from_json
from imgstudio.core.types import LayerKind

PROJECT_FORMAT = "imgstudio-project"
PROJECT_VERSION = 2  # 2: the recipe is a version-2 recipe with its layer ids
PROJECT_EXTENSION = ".imgs"


class ProjectError(ValueError):
    """A project file that cannot be read; the message names the file."""


@dataclass
class Project:
    """What a project file holds besides the layers: the history's recipe (with the id of
    each layer it names, ``recipe.layer_ids``) and the view state."""

    document: Document
    recipe: Recipe = field(default_factory=Recipe)
    view: dict[str, Any] = field(default_factory=dict)


def _npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(array), allow_pickle=False)
    return buf.getvalue()


def save_project(
    path: str | os.PathLike[str],
    document: Document,
    recipe: Recipe | None = None,
    view: dict[str, Any] | None = None,
) -> None:
    """Write ``document`` (and the history's recipe and the view state) to ``path``
    atomically."""
    recipe = recipe if recipe is not None else Recipe()
    path = os.fspath(path)
    layers_meta = []
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=PROJECT_EXTENSION, dir=directory)
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
            for n, layer in enumerate(document):
                meta: dict[str, Any] = {"id": layer.id, "kind": layer.kind.value,
                                        **layer.properties()}
                if isinstance(layer, ShapesLayer):
                    meta["shapes"] = [s.to_json() for s in layer.data]
                else:
                    name = f"layers/{n:04d}.npy"
                    zf.writestr(name, _npy_bytes(np.asarray(layer.data)))
                    meta["file"] = name
                layers_meta.append(meta)
            manifest = {
                "format": PROJECT_FORMAT,
                "version": PROJECT_VERSION,
                "layers": layers_meta,
                "active": document.active.id if document.active is not None else None,
                "recipe": recipe.to_json(),
                "recipe_layers": dict(recipe.layer_ids),
                "view": dict(view or {}),
            }
            zf.writestr("manifest.json", json.dumps(manifest, indent=1))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _recipe(manifest: dict[str, Any], fail: Any) -> Recipe:
    data = manifest.get("recipe")
    if not data:
        return Recipe()
    try:
        recipe = recipe_from_json(data)
    except RecipeError as exc:
        raise fail(f"its recipe: {exc}") from None
    ids = manifest.get("recipe_layers") or {}
    if not isinstance(ids, dict) or not all(isinstance(v, str) for v in ids.values()):
        raise fail("recipe_layers must map layer names to ids")
    return Recipe(recipe.sources, recipe.steps, recipe.result, dict(ids))


def load_project(path: str | os.PathLike[str]) -> Project:
    """Read a project written by :func:`save_project`; ``ProjectError`` naming the file."""
    path = os.fspath(path)

    def fail(reason: str) -> ProjectError:
        return ProjectError(f"cannot open project {path}: {reason}")

    if not os.path.isfile(path):
        raise fail("no such file")
    try:
        with zipfile.ZipFile(path) as zf:
            try:
                manifest = json.loads(zf.read("manifest.json"))
            except KeyError:
                raise fail("manifest.json is missing") from None
            if not isinstance(manifest, dict) or manifest.get("format") != PROJECT_FORMAT:
                raise fail("not an imgstudio project")
            if manifest.get("version", 0) > PROJECT_VERSION:
                raise fail(f"format version {manifest.get('version')} is newer than this "
                           f"imgstudio supports ({PROJECT_VERSION})")
            layers: list[Layer] = []
            for meta in manifest.get("layers", []):
                kind = LayerKind(meta["kind"])
                if kind == LayerKind.SHAPES:
                    data: Any = [Shape.from_json(s) for s in meta.get("shapes", [])]
                else:
                    data = np.load(io.BytesIO(zf.read(meta["file"])), allow_pickle=False)
                cls = LAYER_CLASSES[kind]
                layer = cls(
                    data,
                    meta.get("name", ""),
                    visible=meta.get("visible", True),
                    opacity=meta.get("opacity", 1.0),
                    blend_mode=meta.get("blend_mode", "normal"),
                    layer_id=meta.get("id"),
                )
                if "contours" in meta and hasattr(layer, "contours"):
                    layer.contours = bool(meta["contours"])
                layers.append(layer)
            recipe = _recipe(manifest, fail)
    except ProjectError:
        raise
    except (zipfile.BadZipFile, OSError, KeyError, ValueError, TypeError, EOFError) as exc:
        raise fail(f"{type(exc).__name__}: {exc}") from None
    document = Document(layers)
    active = manifest.get("active")
    if active is not None and any(lay.id == active for lay in layers):
        document.active = document[active]
    return Project(document, recipe, dict(manifest.get("view") or {}))
