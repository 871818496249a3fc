"""Points to markers and the hints of the seeded segmentations (imgstudio.gui.seeds)."""

from __future__ import annotations

import numpy as np
import pytest

import imgstudio.api as api
from imgstudio.core.document import PointsLayer
from imgstudio.core.selection import markers_from_points
from imgstudio.gui.seeds import hint_for, points_to_markers


def test_points_to_markers_draws_one_labelled_disc_per_point_in_one_step(workspace):
    points = workspace.add_layer(PointsLayer(np.array([[10.0, 12.0], [40.4, 30.6]]), "Clicks"))
    steps = len(workspace.history.steps)
    markers = points_to_markers(workspace, radius=2)
    assert workspace.document.active is markers and markers.name == "Markers"
    np.testing.assert_array_equal(markers.data,
                                  markers_from_points(points.data, (64, 96), radius=2))
    assert (markers.data == 1).sum() == (markers.data == 2).sum() == 13  # discs of radius 2
    assert len(workspace.history.steps) == steps + 1
    workspace.history.undo()
    assert markers not in workspace.document and points in workspace.document


def test_points_to_markers_rejects_other_layers_and_empty_points(workspace):
    with pytest.raises(ValueError, match="points layer"):
        points_to_markers(workspace)  # the active layer is the image
    workspace.new_points_layer()
    with pytest.raises(ValueError, match="no points"):
        points_to_markers(workspace)


def test_watershed_hint_only_once_markers_are_picked():
    watershed, walker = api.get_operation("segment.watershed"), api.get_operation(
        "segment.random_walker")
    assert hint_for(watershed, {"markers": None}) is None
    assert "background" in hint_for(watershed, {"markers": object()})
    assert hint_for(walker, {"seeds": None}) == walker.input("seeds").hint
    assert "label 1" in walker.input("seeds").hint
    assert hint_for(api.get_operation("basic.invert"), {}) is None and hint_for(None, {}) is None
