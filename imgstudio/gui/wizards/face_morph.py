"""The Face morph wizard: two faces → faces → landmarks (fixed by dragging) → triangulation →
frames with a live preview → export (GIF, MP4, PNG frames, or layers of the document).

Pages: :class:`FacesPage` and :class:`DetectPage` here, :mod:`.face_morph_points` (landmarks,
triangulation) and :mod:`.face_morph_frames` (frames, export). The state they share is a
Qt-free :class:`~imgstudio.gui.wizards.morph_session.MorphSession`; everything slow runs in the
window's :class:`~imgstudio.gui.workers.JobManager` through each page's
:class:`~imgstudio.gui.wizards.job_slot.JobSlot`. Closing the wizard cancels its jobs and waits
for them.
"""

from __future__ import annotations

import os

import numpy as np
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from imgstudio.core.io import SUPPORTED_READ_EXTENSIONS, load_image
from imgstudio.core.types import Boxes, LayerKind
from imgstudio.core.workspace import Workspace
from imgstudio.gui.wizards.face_morph_frames import ExportPage, FramesPage
from imgstudio.gui.wizards.face_morph_points import LandmarksPage, TrianglesPage
from imgstudio.gui.wizards.job_slot import JobPage, JobSlot, wait_for
from imgstudio.gui.wizards.landmark_view import LandmarkView
from imgstudio.gui.wizards.morph_session import SIDES, A, B, MorphSession, detect_faces, side_index
from imgstudio.gui.workers import Job, JobManager

PAGE_FACES, PAGE_DETECT, PAGE_LANDMARKS, PAGE_TRIANGLES, PAGE_FRAMES, PAGE_EXPORT = range(6)


def _side_box(title: str) -> tuple[QGroupBox, QVBoxLayout]:
    box = QGroupBox(title)
    return box, QVBoxLayout(box)


class FacesPage(QWizardPage):
    """Page 1: the two images, each an image layer of the document or a file."""

    def __init__(self, session: MorphSession, workspace: Workspace,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session, self.workspace = session, workspace
        self.slots: list[JobSlot] = []
        self.setTitle("Faces")
        self.setSubTitle("Pick the face the morph starts from (A) and the one it ends on (B): "
                         "an image layer of the document or an image file.")
        self._files: dict[str, np.ndarray] = {}
        self._copies: dict[str, tuple[object, np.ndarray]] = {}  # key → (layer data, copy)
        self.combos: list[QComboBox] = []
        self.views: list[LandmarkView] = []
        row = QHBoxLayout()
        for side in (A, B):
            box, col = _side_box(f"Face {SIDES[side]} ({'start' if side == A else 'end'})")
            pick = QHBoxLayout()
            combo = QComboBox(self)
            combo.currentIndexChanged.connect(lambda _i, s=side: self._use(s))
            button = QPushButton("File…", self)
            button.setToolTip("Use an image file instead of a layer")
            button.clicked.connect(lambda _=False, s=side: self._file_dialog(s))
            pick.addWidget(combo, 1)
            pick.addWidget(button)
            view = LandmarkView(self)
            view.editable = False
            col.addLayout(pick)
            col.addWidget(view, 1)
            row.addWidget(box, 1)
            self.combos.append(combo)
            self.views.append(view)
        self.detect_check = QCheckBox(
            "Find the faces and their 68 landmarks automatically (human faces; uncheck to "
            "place corresponding points by hand)", self)
        self.detect_check.setChecked(session.detect)
        self.detect_check.toggled.connect(self._detect_toggled)
        self.message = QLabel("", self)
        self.message.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addLayout(row, 1)
        layout.addWidget(self.detect_check)
        layout.addWidget(self.message)
        self.refresh_sources()

    def initializePage(self) -> None:  # noqa: N802 - Qt override
        self.refresh_sources()

    def cleanupPage(self) -> None:  # noqa: N802 - Qt override: keep the choices
        pass

    def nextId(self) -> int:  # noqa: N802 - Qt override
        return PAGE_DETECT if self.session.detect else PAGE_LANDMARKS

    def isComplete(self) -> bool:  # noqa: N802 - Qt override
        return all(image is not None for image in self.session.images)

    def _detect_toggled(self, on: bool) -> None:
        self.session.detect = on

    # -- sources ----------------------------------------------------------------------------
    def refresh_sources(self) -> None:
        """Fill the pickers with the document's image layers and the files chosen so far."""
        layers = self.workspace.document.of_kind(LayerKind.IMAGE)
        for side, combo in enumerate(self.combos):
            current = combo.currentData()
            combo.blockSignals(True)
            combo.clear()
            for layer in layers:
                combo.addItem(layer.name, f"layer:{layer.id}")
            for path in self._files:
                combo.addItem(f"{os.path.basename(path)} (file)", f"file:{path}")
            index = combo.findData(current) if current is not None else -1
            if index < 0 and combo.count():
                index = min(side, len(layers) - 1) if layers else 0
            combo.setCurrentIndex(index)
            combo.blockSignals(False)
            self._use(side)

    def _array(self, key: str) -> tuple[np.ndarray, str] | None:
        kind, _, ref = key.partition(":")
        if kind == "file":
            return self._files[ref], os.path.basename(ref)
        try:
            layer = self.workspace.document[ref]
        except KeyError:
            return None
        cached = self._copies.get(key)
        if cached is None or cached[0] is not layer.data:
            cached = (layer.data, np.array(layer.data))  # the jobs read a private copy
            self._copies[key] = cached
        return cached[1], layer.name

    def _use(self, side: int) -> None:
        key = self.combos[side].currentData()
        found = self._array(key) if key is not None else None
        image, name = found if found is not None else (None, "")
        self.session.set_image(side, image, name)
        self.views[side].set_image(image)
        self.completeChanged.emit()

    def set_file(self, side: int | str, path: str | os.PathLike[str]) -> bool:
        """Use the image file ``path`` as face ``side``; False (message shown) if unreadable."""
        side = side_index(side)
        path = os.path.abspath(os.fspath(path))
        try:
            self._files[path] = load_image(path)
        except (OSError, ValueError) as exc:
            self.message.setText(str(exc))
            return False
        self.message.setText("")
        self.refresh_sources()
        combo = self.combos[side]
        combo.setCurrentIndex(combo.findData(f"file:{path}"))
        return True

    def _file_dialog(self, side: int) -> None:
        exts = " ".join("*" + e for e in SUPPORTED_READ_EXTENSIONS)
        path, _ = QFileDialog.getOpenFileName(self, f"Face {SIDES[side]}", "",
                                              f"Images ({exts})")
        if path:
            self.set_file(side, path)


class DetectPage(JobPage):
    """Page 2: faces detected in both images (the declared detect op); pick one where several."""

    def __init__(self, session: MorphSession, jobs: JobManager,
                 parent: QWidget | None = None) -> None:
        super().__init__(session, jobs, "Detect",
                         "Faces found in both images, most confident first. Where there are "
                         "several, choose the one to morph.", parent)
        self.views: list[LandmarkView] = []
        self.face_combos: list[QComboBox] = []
        self.labels: list[QLabel] = []
        row = QHBoxLayout()
        for side in (A, B):
            box, col = _side_box(f"Face {SIDES[side]}")
            view = LandmarkView(self)
            view.editable = False
            combo = QComboBox(self)
            combo.currentIndexChanged.connect(lambda i, s=side: self._choose(s, i))
            label = QLabel("", self)
            label.setWordWrap(True)
            col.addWidget(view, 1)
            col.addWidget(combo)
            col.addWidget(label)
            row.addWidget(box, 1)
            self.views.append(view)
            self.face_combos.append(combo)
            self.labels.append(label)
        layout = QVBoxLayout(self)
        layout.addLayout(row, 1)
        layout.addWidget(self.slot)

    def initializePage(self) -> None:  # noqa: N802 - Qt override
        for side in (A, B):
            self.views[side].set_image(self.session.images[side])
        sides = [s for s in (A, B) if self.session.boxes[s] is None]
        if sides:
            images = [self.session.images[s] for s in sides]
            versions = [self.session.image_versions[s] for s in sides]
            self.slot.start(lambda p: detect_faces(images, p), "Detect faces",
                            on_result=lambda boxes: self._detected(sides, versions, boxes),
                            on_error=lambda _e: self._detected(
                                sides, versions, [Boxes(np.zeros((0, 4)))] * len(sides)))
        self._update()

    def cleanupPage(self) -> None:  # noqa: N802 - Qt override
        self.slot.cancel()

    def isComplete(self) -> bool:  # noqa: N802 - Qt override
        return not self.slot.busy and all(b is not None for b in self.session.boxes)

    def _detected(self, sides: list[int], versions: list[int], boxes: list[Boxes]) -> None:
        for side, version, found in zip(sides, versions, boxes, strict=True):
            if self.session.image_versions[side] == version:
                self.session.boxes[side] = found
                self.session.face[side] = 0
        self._update()
        self.completeChanged.emit()

    def _choose(self, side: int, index: int) -> None:
        if index >= 0 and self.session.boxes[side] is not None:
            self.session.face[side] = index
            self.views[side].set_boxes(self.session.boxes[side].xyxy, index)

    def _update(self) -> None:
        for side in (A, B):
            boxes, combo, label = self.session.boxes[side], self.face_combos[side], self.labels[side]
            combo.blockSignals(True)
            combo.clear()
            if boxes is None:
                self.views[side].set_boxes(np.zeros((0, 4)))
                label.setText("Looking for faces…")
            else:
                for k, score in enumerate(boxes.scores):
                    combo.addItem(f"Face {k + 1} (score {score:.2f})")
                combo.setCurrentIndex(self.session.face[side])
                self.views[side].set_boxes(boxes.xyxy, self.session.face[side])
                label.setText(
                    f"No face found in {SIDES[side]}: place its points by hand on the next page."
                    if len(boxes) == 0 else f"{len(boxes)} face(s) found.")
            combo.setVisible(boxes is not None and len(boxes) > 1)
            combo.blockSignals(False)


class FaceMorphWizard(QWizard):
    """Morph one face into another. Non-modal; jobs go to ``jobs`` (the Jobs dock shows them);
    frames added as layers go to ``workspace`` in one undo step."""

    def __init__(self, workspace: Workspace, jobs: JobManager,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Face morph")
        self.workspace, self.jobs = workspace, jobs
        self.session = MorphSession()
        self.faces_page = FacesPage(self.session, workspace)
        self.detect_page = DetectPage(self.session, jobs)
        self.landmarks_page = LandmarksPage(self.session, jobs)
        self.triangles_page = TrianglesPage(self.session, jobs)
        self.preview_jobs = JobManager(self)  # quick previews stay out of the Jobs dock
        self.frames_page = FramesPage(self.session, jobs, self.preview_jobs)
        self.export_page = ExportPage(self.session, jobs, workspace)
        for page_id, page in enumerate(self.pages):
            self.setPage(page_id, page)
        self.setStartId(PAGE_FACES)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.resize(1000, 720)
        self._shut = False

    @property
    def pages(self) -> list[QWizardPage]:
        return [self.faces_page, self.detect_page, self.landmarks_page, self.triangles_page,
                self.frames_page, self.export_page]

    # -- scripting API (tests, automation) -------------------------------------------------
    def set_file_a(self, path: str | os.PathLike[str]) -> bool:
        return self.faces_page.set_file(A, path)

    def set_file_b(self, path: str | os.PathLike[str]) -> bool:
        return self.faces_page.set_file(B, path)

    @property
    def points_a(self) -> np.ndarray:
        return self.session.points[A].copy()

    @property
    def points_b(self) -> np.ndarray:
        return self.session.points[B].copy()

    def load_points(self, path: str | os.PathLike[str], side: int | str) -> np.ndarray:
        """Read face ``side``'s ("a" or "b") points from a text file (one ``x y`` a line)."""
        return self.landmarks_page.load_points(path, side)

    def save_points(self, path: str | os.PathLike[str], side: int | str) -> None:
        """Write face ``side``'s points to a text file, one ``x y`` a line."""
        self.landmarks_page.save_points(path, side)

    def frames(self) -> list[np.ndarray] | None:
        """The computed frames of the sequence (None while some are missing)."""
        return self.session.sequence()

    def export_gif(self, path: str | os.PathLike[str]) -> Job | None:
        return self.export_page.export_gif(path)

    def export_mp4(self, path: str | os.PathLike[str]) -> Job | None:
        return self.export_page.export_mp4(path)

    def export_frames(self, folder: str | os.PathLike[str]) -> Job | None:
        return self.export_page.export_frames(folder)

    def add_frames_as_layers(self) -> list:
        return self.export_page.add_frames_as_layers()

    # -- jobs -------------------------------------------------------------------------------
    @property
    def slots(self) -> list[JobSlot]:
        return [slot for page in self.pages for slot in page.slots]

    @property
    def busy(self) -> bool:
        return any(slot.busy for slot in self.slots)

    def shutdown(self, timeout_s: float = 30.0) -> bool:
        """Cancel every job of the wizard and wait until they have stopped running."""
        self._shut = True
        live = [job for slot in self.slots for job in slot.live_jobs]
        for slot in self.slots:
            slot.shutdown()
        return wait_for(live, timeout_s)

    def done(self, result: int) -> None:
        self.shutdown()
        super().done(result)
