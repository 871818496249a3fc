"""Seeds, markers and masks for the interactive segmentations (random walker, watershed, GrabCut).

- :func:`points_to_markers` — the "Layer → Points to Markers" action: the active points layer
  becomes a labels layer of small discs, one label per point (``markers_from_points``), in one
  history step; the user then paints a background marker and runs ``segment.watershed``.
- :func:`hint_for` / :class:`SeedHints` — one line in the message bar when a seeded op is
  chosen (or its markers input is set) saying what to paint, e.g. that a watershed from
  markers needs a background marker too.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from imgstudio.core.document import LabelsLayer, Layer, PointsLayer
from imgstudio.core.workspace import Workspace

#: Radius in pixels of the marker disc drawn around each point.
MARKER_RADIUS = 3

HINTS = {
    "segment.random_walker": (
        "Random walker: paint seeds on a labels layer (New Labels Layer, Brush), label 1 on the "
        "object and 2 on the background (Label box in the toolbar); with Preview on, the "
        "result follows each stroke"),
    "segment.grabcut": (
        "GrabCut: draw a rectangle, then Layer → Labels Layer from Selection (1 = probably "
        "object); paint 2 for sure background, 3 for sure object"),
    "segment.watershed": (
        "Watershed from markers floods every pixel from some marker: paint one more label on "
        "the background too, or the background joins an object"),
}
HINTS["segment.sitk_watershed"] = HINTS["segment.watershed"]
#: Ops whose hint only applies once their markers input is set.
NEEDS_MARKERS = frozenset({"segment.watershed", "segment.sitk_watershed"})


def points_to_markers(workspace: Workspace, layer: Layer | None = None,
                      radius: int = MARKER_RADIUS) -> LabelsLayer:
    """A new "Markers" labels layer with a disc of ``radius`` around each point of ``layer``
    (default: the active layer), labelled 1..N in the points' order; one undo step.

    ``ValueError`` when the layer is not a points layer, has no points, or there is no image
    to size the markers by.
    """
    from imgstudio.ops.segment import markers_from_points

    layer = workspace.document.active if layer is None else layer
    if not isinstance(layer, PointsLayer):
        name = "no layer" if layer is None else f"{layer.name!r} is not a points layer"
        raise ValueError(f"Points to Markers needs the active layer to be a points layer; {name}")
    if len(layer.data) == 0:
        raise ValueError(f"{layer.name!r} has no points: click with the Points tool first")
    size = workspace.document.size
    if size is None:
        raise ValueError("open an image before making markers")
    markers = markers_from_points(np.asarray(layer.data, float), size, radius=radius)
    new = LabelsLayer(markers, workspace.document.unique_name("Markers"))
    workspace.add_layer(new, label=f"Markers from {layer.name}")
    return new


def hint_for(op_id: str | None, inputs: dict[str, Any]) -> str | None:
    """The hint for op ``op_id`` with the form's layer ``inputs``, or None."""
    if op_id in NEEDS_MARKERS and inputs.get("markers") is None:
        return None
    return HINTS.get(op_id or "")


class SeedHints(QObject):
    """Emits ``hint(str)`` when the Operation panel shows a seeded op, and again when the hint
    changes (a markers layer is picked for the watershed); never twice in a row the same.

    ``panel`` is the :class:`~imgstudio.gui.panels.operation.OperationPanel` (its
    ``operation_changed`` signal and ``form``); the hints live as long as it (Qt parent).
    """

    hint = Signal(str)

    def __init__(self, panel: Any) -> None:
        super().__init__(panel)
        self.panel = panel
        self._last: str | None = None
        panel.operation_changed.connect(self._on_operation)

    def _on_operation(self, _spec: Any) -> None:
        self._last = None
        form = self.panel.form
        if form is not None:
            form.changed.connect(self._update)
        self._update()

    def _update(self) -> None:
        spec, form = self.panel.spec, self.panel.form
        text = hint_for(spec.id if spec is not None else None,
                        form.inputs() if form is not None else {})
        if text is not None and text != self._last:
            self.hint.emit(text)
        self._last = text
