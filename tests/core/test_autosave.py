"""Crash-recovery snapshots."""

from __future__ import annotations

import numpy as np

from imgstudio.core.autosave import recovery_files, snapshot, write_recovery
from imgstudio.core.document import Document, ImageLayer, LabelsLayer, PointsLayer
from imgstudio.core.project import load_project
from imgstudio.core.recipe import Recipe


def test_snapshot_is_independent_and_complete():
    labels = LabelsLayer(np.zeros((4, 5), np.int32), "seeds")
    labels.contours = True
    doc = Document([ImageLayer(np.zeros((4, 5), np.uint8), "img", opacity=0.5), labels,
                    PointsLayer([[1, 2]], "pts")])
    doc.active = labels
    copy = snapshot(doc)
    doc[0].data[0, 0] = 9
    labels.data[1, 1] = 3
    assert copy[0].data[0, 0] == 0 and copy[1].data[1, 1] == 0
    assert [lay.properties() for lay in copy] == [lay.properties() for lay in doc]
    assert copy.active.id == labels.id


def test_recovery_files_are_projects_listed_newest_first(tmp_path, monkeypatch):
    monkeypatch.setenv("IMGSTUDIO_RECOVERY_DIR", str(tmp_path / "rec"))
    doc = Document([ImageLayer(np.arange(20, dtype=np.uint8).reshape(4, 5), "img")])
    write_recovery(tmp_path / "rec" / "recovery-a.imgs", doc, Recipe(), "/x/photo.png")
    write_recovery(tmp_path / "rec" / "recovery-b.imgs", doc, Recipe(), None)
    import os

    os.utime(tmp_path / "rec" / "recovery-a.imgs", (1, 1))
    assert [p.name for p in recovery_files()] == ["recovery-b.imgs", "recovery-a.imgs"]
    project = load_project(tmp_path / "rec" / "recovery-a.imgs")
    assert np.array_equal(project.document[0].data, doc[0].data)
    assert project.view["recovered_from"] == "/x/photo.png"
