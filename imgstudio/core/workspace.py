"""A workspace: one open document with its history, file path and saved state.

This is the model the editor window shows; it has no Qt in it, so opening, importing,
saving and "is it modified?" are tested headless.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import numpy as np

from imgstudio.core.document import Document, ImageLayer, LabelsLayer, Layer, PointsLayer
from imgstudio.core.events import Signal
from imgstudio.core.history import AddLayer, History
from imgstudio.core.invoke import write_layer_file
from imgstudio.core.io import load_image
from imgstudio.core.project import PROJECT_EXTENSION, load_project, save_project
from imgstudio.core.recipe import Recipe, RecipeError, RecordedStep, recorded_from_recipe
from imgstudio.core.selection import MARKER_RADIUS, markers_from_points
from imgstudio.core.types import LayerKind

log = logging.getLogger(__name__)

DEFAULT_UNDO_BUDGET = 1 << 30


def _recorded(recipe: Recipe) -> list[RecordedStep]:
    """A reopened project's recipe as the steps its history continues from. A recipe that no
    longer checks (an op from a plugin that is gone) is kept out rather than failing the open;
    the layers are what matters."""
    try:
        return recorded_from_recipe(recipe, recipe.layer_ids)
    except RecipeError as exc:
        log.warning("the project's recipe is not kept: %s", exc)
        return []


class Workspace:
    """The document being edited, its undo history and where it lives on disk.

    Signals: ``path_changed(path or None)``, ``modified_changed(bool)``.
    """

    def __init__(self, document: Document | None = None, *,
                 undo_budget: int = DEFAULT_UNDO_BUDGET) -> None:
        self.document = document or Document()
        self.history = History(self.document, budget_bytes=undo_budget)
        self.path: str | None = None
        self.view: dict[str, Any] = {}
        #: The image file this workspace was opened from, if it was not a project.
        self.source_path: str | None = None
        self._saved_at: object = self._state_token()
        self.path_changed = Signal()
        self.modified_changed = Signal()
        self._was_modified = False
        self.history.changed.connect(self._on_history_changed)

    # -- modified state -----------------------------------------------------------------------
    def _state_token(self) -> object:
        steps = self.history.steps
        index = self.history.index
        return steps[index] if 0 <= index < len(steps) else None

    @property
    def modified(self) -> bool:
        return self._state_token() is not self._saved_at

    def _on_history_changed(self) -> None:
        modified = self.modified
        if modified != self._was_modified:
            self._was_modified = modified
            self.modified_changed.emit(modified)

    def mark_unsaved(self) -> None:
        """Treat the current state as not saved anywhere (e.g. a recovered document)."""
        self._saved_at = object()
        self._on_history_changed()

    def mark_saved(self) -> None:
        self._saved_at = self._state_token()
        self._on_history_changed()

    @property
    def title(self) -> str:
        shown = self.path or self.source_path
        name = os.path.basename(shown) if shown else "Untitled"
        return name + (" *" if self.modified else "")

    # -- files --------------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | os.PathLike[str], **kwargs: Any) -> Workspace:
        """Open an image (one layer) or a ``.imgs`` project; errors name the file."""
        path = os.fspath(path)
        if path.lower().endswith(PROJECT_EXTENSION):
            project = load_project(path)
            ws = cls(project.document, **kwargs)
            ws.view = project.view
            ws.path = path
            ws.history.base_steps = _recorded(project.recipe)
            return ws
        image = load_image(path)
        name = os.path.splitext(os.path.basename(path))[0]
        ws = cls(Document([ImageLayer(image, name)]), **kwargs)
        ws.source_path = path  # saving goes to a new project file, never over the image
        return ws

    def save(self, path: str | os.PathLike[str] | None = None) -> str:
        """Save as a project file (atomically); returns the path used."""
        target = os.fspath(path) if path is not None else self.path
        if target is None:
            raise ValueError("no file name given for an untitled document")
        if not target.lower().endswith(PROJECT_EXTENSION):
            target += PROJECT_EXTENSION
        save_project(target, self.document, self.history.recipe(), self.view)
        if target != self.path:
            self.path = target
            self.path_changed.emit(target)
        self.mark_saved()
        return target

    def import_layer(self, path: str | os.PathLike[str]) -> Layer:
        """Add the image at ``path`` as a new layer above the active one (one undo step)."""
        path = os.fspath(path)
        image = load_image(path)
        name = self.document.unique_name(os.path.splitext(os.path.basename(path))[0])
        layer = ImageLayer(image, name)
        index = (self.document.index(self.document.active) + 1
                 if self.document.active is not None else len(self.document))
        command = AddLayer(self.document, layer, index)
        command.label = f"Import {name}"
        self.history.execute(command)
        return layer

    def add_layer(self, layer: Layer, label: str | None = None) -> Layer:
        index = (self.document.index(self.document.active) + 1
                 if self.document.active is not None else len(self.document))
        command = AddLayer(self.document, layer, index)
        command.label = label or f"New {layer.kind.value} layer"
        self.history.execute(command)
        return layer

    def new_labels_layer(self, name: str = "Seeds") -> LabelsLayer:
        size = self.document.size
        if size is None:
            raise ValueError("open an image before adding a labels layer")
        layer = LabelsLayer(np.zeros(size, np.int32), self.document.unique_name(name))
        self.add_layer(layer)
        return layer

    def labels_from_mask(self, mask: np.ndarray, name: str = "Selection", value: int = 1
                         ) -> LabelsLayer:
        """A new labels layer holding ``value`` where ``mask`` is true (one undo step); e.g.
        a rectangle selection turned into a GrabCut mask."""
        size = self.document.size
        mask = np.asarray(mask, bool)
        if size is None or mask.shape != tuple(size):
            raise ValueError(f"mask must have the image's size {size}; got {mask.shape}")
        data = np.where(mask, np.int32(value), np.int32(0))
        layer = LabelsLayer(data, self.document.unique_name(name))
        self.add_layer(layer, label=f"New labels layer from {name.lower()}")
        return layer

    def convert_labels(self, layer: LabelsLayer, to: str) -> LabelsLayer:
        """A converted copy of a labels layer as a new layer (one undo step): ``to="mask"``
        makes every label 1; ``to="labels"`` numbers the connected components of the mask
        (8-connectivity) 1, 2, 3..."""
        if not isinstance(layer, LabelsLayer):
            raise ValueError(f"{layer.name!r} is not a labels layer")
        if to == "mask":
            data = (layer.data > 0).astype(np.int32)
        elif to == "labels":
            from skimage.measure import label

            data = label(layer.data > 0, connectivity=2).astype(np.int32)
        else:
            raise ValueError(f"to must be 'mask' or 'labels'; got {to!r}")
        new = LabelsLayer(data, self.document.unique_name(f"{layer.name} ({to})"))
        self.add_layer(new, label=f"Convert {layer.name} to {to}")
        return new

    def points_to_markers(self, layer: Layer | None = None, radius: int = MARKER_RADIUS
                          ) -> LabelsLayer:
        """A new "Markers" labels layer with a disc of ``radius`` around each point of
        ``layer`` (default: the active layer), labelled 1..N in the points' order; one undo
        step. ``ValueError`` when the layer is not a points layer, has no points, or there is
        no image to size the markers by."""
        layer = self.document.active if layer is None else layer
        if not isinstance(layer, PointsLayer):
            name = "no layer" if layer is None else f"{layer.name!r} is not a points layer"
            raise ValueError(f"Points to Markers needs the active layer to be a points layer; "
                             f"{name}")
        if len(layer.data) == 0:
            raise ValueError(f"{layer.name!r} has no points: click with the Points tool first")
        size = self.document.size
        if size is None:
            raise ValueError("open an image before making markers")
        markers = markers_from_points(np.asarray(layer.data, float), size, radius=radius)
        new = LabelsLayer(markers, self.document.unique_name("Markers"))
        self.add_layer(new, label=f"Markers from {layer.name}")
        return new

    def new_points_layer(self, name: str = "Points") -> PointsLayer:
        layer = PointsLayer(np.zeros((0, 2)), self.document.unique_name(name))
        self.add_layer(layer)
        return layer

    @staticmethod
    def export_layer(layer: Layer, path: str | os.PathLike[str]) -> None:
        """Write one raster layer to an image file (labels as 8/16-bit PNG or TIFF)."""
        if layer.kind not in (LayerKind.IMAGE, LayerKind.LABELS):
            raise ValueError(f"layer {layer.name!r} is not a raster layer and cannot be exported")
        write_layer_file(layer.kind, layer.data, os.fspath(path))

    def close(self) -> None:
        self.history.close()
