"""Face morph wizard pages 3 and 4: the landmarks of both faces (detected, dragged, placed by
hand, loaded and saved) and the triangulation of their average shape.

On the landmarks page every point edit (a drag, an added or removed point, Load, Clear) is one
step of the wizard's own undo history: Ctrl+Z takes it back, Ctrl+Shift+Z or Ctrl+Y does it
again (the Undo and Redo buttons too); detected landmarks start a fresh history. A point
selected on one face is selected, ringed and numbered, on the other face too (same index)."""

from __future__ import annotations

import os

import numpy as np
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from imgstudio.core.animation import load_points_text, save_points_text
from imgstudio.gui.message_bar import attempt
from imgstudio.gui.widgets import radio_buttons
from imgstudio.gui.wizards.job_slot import ERROR_STYLE, JobPage
from imgstudio.gui.wizards.landmark_view import LandmarkView
from imgstudio.gui.wizards.morph_session import (
    SIDES,
    A,
    B,
    MorphSession,
    Triangulation,
    find_landmarks,
    side_index,
    triangulate,
)
from imgstudio.gui.workers import JobManager

POINTS_FILTER = "Point files (*.txt);;All files (*)"
UNDO_KEYS = ("Ctrl+Z",)
REDO_KEYS = ("Ctrl+Shift+Z", "Ctrl+Y")


class LandmarksPage(JobPage):
    """Page 3: both faces side by side with their numbered points, to fix or place by hand."""

    def __init__(self, session: MorphSession, jobs: JobManager,
                 parent: QWidget | None = None) -> None:
        super().__init__(session, jobs, "Landmarks",
                         "Drag a point to correct it (Ctrl+Z undoes); right-click removes one. "
                         "A point picked on one face is ringed on both. For faces the "
                         "detector cannot read, choose “Add points” and click the same features "
                         "in the same order on A and on B.", parent)
        self.drag_radio, self.add_radio = radio_buttons(self, "Drag points",
                                                        "Add points by clicking")
        self.add_radio.toggled.connect(self._mode_changed)
        mode_row = QHBoxLayout()
        mode_row.addWidget(QLabel("Mouse:", self))
        mode_row.addWidget(self.drag_radio)
        mode_row.addWidget(self.add_radio)
        mode_row.addStretch(1)
        self.zoom_check = QCheckBox("Zoom on the points (the wheel zooms too)", self)
        self.zoom_check.setChecked(True)
        self.zoom_check.toggled.connect(lambda _on: self._zoom())
        mode_row.addWidget(self.zoom_check)
        self.undo_button = QPushButton("Undo", self)
        self.undo_button.setToolTip("Undo the last point edit (Ctrl+Z)")
        self.undo_button.clicked.connect(self.undo)
        self.redo_button = QPushButton("Redo", self)
        self.redo_button.setToolTip("Redo the point edit undone (Ctrl+Shift+Z, Ctrl+Y)")
        self.redo_button.clicked.connect(self.redo)
        mode_row.addWidget(self.undo_button)
        mode_row.addWidget(self.redo_button)
        self.shortcuts = [self._shortcut(k, self.undo) for k in UNDO_KEYS] + [
            self._shortcut(k, self.redo) for k in REDO_KEYS]
        self.views: list[LandmarkView] = []
        self.counts: list[QLabel] = []
        row = QHBoxLayout()
        for side in (A, B):
            box = QGroupBox(f"Face {SIDES[side]}", self)
            col = QVBoxLayout(box)
            view = LandmarkView(self)
            view.points_changed.connect(lambda s=side: self._edited(s))
            view.point_selected.connect(lambda k, s=side: self._selected(s, k))
            buttons = QHBoxLayout()
            count = QLabel("", self)
            buttons.addWidget(count, 1)
            for text, slot in (("Load…", self._load_dialog), ("Save…", self._save_dialog),
                               ("Clear", self._clear)):
                button = QPushButton(text, self)
                button.clicked.connect(lambda _=False, f=slot, s=side: f(s))
                buttons.addWidget(button)
            col.addWidget(view, 1)
            col.addLayout(buttons)
            row.addWidget(box, 1)
            self.views.append(view)
            self.counts.append(count)
        self.status = QLabel("", self)
        self.status.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addLayout(mode_row)
        layout.addLayout(row, 1)
        layout.addWidget(self.status)
        layout.addWidget(self.slot)

    def _shortcut(self, keys: str, slot) -> QShortcut:
        shortcut = QShortcut(QKeySequence(keys), self)
        shortcut.activated.connect(slot)
        return shortcut

    # -- wizard hooks ---------------------------------------------------------------------------
    def initializePage(self) -> None:  # noqa: N802 - Qt override
        session = self.session
        for side in (A, B):
            self.views[side].set_image(session.images[side])
            self.views[side].set_points(session.points[side])
        sides = [s for s in (A, B) if session.wants_landmarks(s)]
        if sides:
            images = [session.images[s] for s in sides]
            faces = [session.face[s] for s in sides]
            keys = [(session.image_versions[s], session.face[s]) for s in sides]
            self.slot.start(lambda p: find_landmarks(images, faces, p), "Find landmarks",
                            on_result=lambda pts: self._found(sides, keys, pts))
        by_hand = [s for s in (A, B) if not session.detect or
                   (session.boxes[s] is not None and len(session.boxes[s]) == 0)]
        if by_hand and not any(len(session.points[s]) for s in by_hand):
            self.add_radio.setChecked(True)
        self._zoom()
        self._update()

    def cleanupPage(self) -> None:  # noqa: N802 - Qt override: keep the points
        self.slot.cancel()

    def isComplete(self) -> bool:  # noqa: N802 - Qt override
        return not self.slot.busy and not self.session.points_problem()

    # -- points -------------------------------------------------------------------------------
    def _found(self, sides: list[int], keys: list[tuple[int, int]],
               points: list[np.ndarray]) -> None:
        for side, key, pts in zip(sides, keys, points, strict=True):
            if self.session.wants_landmarks(side) and key == (
                    self.session.image_versions[side], self.session.face[side]):
                self._set_points(side, pts)
                self.session.forget_edits()
        self._zoom()
        self._update()

    def _set_points(self, side: int, points: np.ndarray, edit: bool = False) -> None:
        """Give ``side`` these points (they are decided: no later detection replaces them);
        ``edit``: the user's, one step of the undo history."""
        if edit:
            self.session.edit_points(side, points)
        else:
            self.session.set_points(side, points)
        self.session.landmarks_key[side] = (self.session.image_versions[side],
                                            self.session.face[side])
        self.views[side].set_points(self.session.points[side])

    def _edited(self, side: int) -> None:
        try:
            self._set_points(side, self.views[side].points(), edit=True)
        except ValueError as exc:
            self._error(str(exc))
            self.views[side].set_points(self.session.points[side])
            return
        self._update()

    def load_points(self, path: str | os.PathLike[str], side: int | str) -> np.ndarray:
        """Read ``side``'s points from a text file (one ``x y`` a line); errors propagate."""
        side = side_index(side)
        self._set_points(side, load_points_text(path), edit=True)
        self._zoom(side)
        self._update()
        return self.session.points[side].copy()

    def save_points(self, path: str | os.PathLike[str], side: int | str) -> None:
        save_points_text(path, self.session.points[side_index(side)])

    def _load_dialog(self, side: int) -> None:
        path, _ = QFileDialog.getOpenFileName(self, f"Load points of {SIDES[side]}", "",
                                              POINTS_FILTER)
        if path:
            attempt(lambda: self.load_points(path, side), self._error)

    def _save_dialog(self, side: int) -> None:
        path, _ = QFileDialog.getSaveFileName(self, f"Save points of {SIDES[side]}",
                                              f"points_{SIDES[side].lower()}.txt", POINTS_FILTER)
        if path:
            attempt(lambda: self.save_points(path, side), self._error)

    def _clear(self, side: int) -> None:
        self._set_points(side, np.zeros((0, 2)), edit=True)
        self._update()

    # -- undo and selection ---------------------------------------------------------------
    def undo(self) -> None:
        """Take back the last point edit (Ctrl+Z); nothing while landmarks are being found."""
        if not self.slot.busy:
            self._show_step(self.session.undo_points())

    def redo(self) -> None:
        """Do the undone point edit again (Ctrl+Shift+Z, Ctrl+Y)."""
        if not self.slot.busy:
            self._show_step(self.session.redo_points())

    def _show_step(self, side: int | None) -> None:
        if side is None:
            return
        self.views[side].set_points(self.session.points[side])
        self._update()

    def _selected(self, side: int, index: int) -> None:
        """A point picked on one face is picked on the other (the same index)."""
        self.views[1 - side].set_selected(index)

    # -- display ------------------------------------------------------------------------------
    def _zoom(self, side: int | None = None) -> None:
        """Frame each face's points (when "Zoom on the points" is on), or show it whole."""
        for s in (A, B) if side is None else (side,):
            if self.zoom_check.isChecked():
                self.views[s].zoom_to_points()
            else:
                self.views[s].set_region(None)

    def _mode_changed(self, add: bool) -> None:
        for view in self.views:
            view.add_mode = add
        self._update()

    def _busy_changed(self, busy: bool) -> None:
        for view in self.views:
            view.editable = not busy
        self._update()

    def _error(self, text: str) -> None:
        self.status.setStyleSheet(ERROR_STYLE)
        self.status.setText(text)

    def _update(self) -> None:
        session = self.session
        for side in (A, B):
            n = len(session.points[side])
            self.counts[side].setText(f"{n} point{'s' * (n != 1)}")
            boxes = session.boxes[side]
            if self.slot.busy and session.wants_landmarks(side):
                hint = "Finding landmarks…"
            elif n == 0:
                found = "No face found: " if boxes is not None and len(boxes) == 0 else ""
                hint = found + ("click to place the points" if self.add_radio.isChecked()
                                else "choose “Add points” and click to place them")
            else:
                hint = ""
            self.views[side].set_message(hint)
        self.undo_button.setEnabled(session.can_undo() and not self.slot.busy)
        self.redo_button.setEnabled(session.can_redo() and not self.slot.busy)
        problem = session.points_problem()
        self.status.setStyleSheet("")
        self.status.setText(problem or f"{len(session.points[A])} corresponding points. "
                            "The 8 border points are added for the morph.")
        self.completeChanged.emit()


class TrianglesPage(JobPage):
    """Page 4: the average shape's Delaunay triangles over the average of both warped faces."""

    def __init__(self, session: MorphSession, jobs: JobManager,
                 parent: QWidget | None = None) -> None:
        super().__init__(session, jobs, "Triangulation",
                         "The average shape of the two point sets (with 8 points on the border) "
                         "and its Delaunay triangles, over the average of both faces warped "
                         "onto it. Each triangle is warped on its own: go back and fix points "
                         "where triangles fold over.", parent)
        self.triangulation: Triangulation | None = None
        self.view = LandmarkView(self)
        self.view.editable = False
        self.view.point_style = "dots"
        self.info = QLabel("", self)
        layout = QVBoxLayout(self)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.info)
        layout.addWidget(self.slot)

    def initializePage(self) -> None:  # noqa: N802 - Qt override
        if self.triangulation is not None and self.triangulation.version == self.session.version:
            return
        self.triangulation = None
        self.view.set_triangles(None)
        self.view.set_points(np.zeros((0, 2)))
        self.view.set_image(self.session.images[A])
        self.info.setText("")
        version = self.session.version
        a, b, pa, pb = self.session.morph_inputs()
        self.slot.start(lambda p: triangulate(version, a, b, pa, pb, p), "Triangulate",
                        on_result=self._done)

    def cleanupPage(self) -> None:  # noqa: N802 - Qt override
        self.slot.cancel()

    def isComplete(self) -> bool:  # noqa: N802 - Qt override
        return (not self.slot.busy and self.triangulation is not None
                and self.triangulation.version == self.session.version)

    def _done(self, tri: Triangulation) -> None:
        if tri.version != self.session.version:
            return
        self.triangulation = tri
        self.session.store(tri.version, {0.5: tri.middle})
        self.view.set_image(tri.middle)
        self.view.set_points(tri.points)
        self.view.set_triangles(tri.triangles)
        self.info.setText(f"{len(tri.points)} points ({tri.face_points} + 8 on the border), "
                          f"{len(tri.triangles)} triangles; shown: the morph at alpha 0.5")
        self.completeChanged.emit()
