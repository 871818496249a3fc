"""Seeds, markers and masks for the interactive segmentations (random walker, watershed, GrabCut).

- :func:`points_to_markers` — the "Layer → Points to Markers" action: the active points layer
  becomes a labels layer of small discs, one label per point, in one history step; the user
  then paints a background marker and runs a watershed from markers.
- :func:`hint_for` / :class:`SeedHints` — one line in the message bar when an op with a seeds
  input is chosen (or, for an optional one, a layer is picked for it) saying what to paint:
  the input's :class:`~imgstudio.core.editor.Seeds` hint.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal

from imgstudio.core.document import LabelsLayer, Layer
from imgstudio.core.selection import MARKER_RADIUS
from imgstudio.core.spec import OperationSpec
from imgstudio.core.workspace import Workspace


def points_to_markers(workspace: Workspace, layer: Layer | None = None,
                      radius: int = MARKER_RADIUS) -> LabelsLayer:
    """:meth:`Workspace.points_to_markers <imgstudio.core.workspace.Workspace.points_to_markers>`:
    the active points layer as a new "Markers" labels layer (one undo step)."""
    return workspace.points_to_markers(layer, radius)


def hint_for(spec: OperationSpec | None, inputs: dict[str, Any]) -> str | None:
    """The hint of ``spec``'s first seeds input that is required or has a layer in the form's
    ``inputs``, or None."""
    for ispec in spec.inputs if spec is not None else ():
        if ispec.seeds and ispec.hint and (not ispec.optional or inputs.get(ispec.name)):
            return ispec.hint
    return None


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
        text = hint_for(spec, form.inputs() if form is not None else {})
        if text is not None and text != self._last:
            self.hint.emit(text)
        self._last = text
