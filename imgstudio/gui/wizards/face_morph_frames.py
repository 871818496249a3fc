"""Face morph wizard pages 5 and 6: the frames with a live preview over alpha, and export
(animated GIF, MP4, numbered image files, or image layers of the document in one undo step)."""

from __future__ import annotations

import os

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from imgstudio.core.animation import save_frames, save_gif, save_mp4
from imgstudio.core.document import ImageLayer
from imgstudio.core.history import AddLayer, Group
from imgstudio.core.workspace import Workspace
from imgstudio.gui.debounce import debounce_timer
from imgstudio.gui.wizards.job_slot import JobPage, JobSlot
from imgstudio.gui.wizards.landmark_view import LandmarkView
from imgstudio.gui.wizards.morph_session import MorphSession, morph_frames
from imgstudio.gui.workers import Job, JobManager

#: Slider positions per unit of alpha (the preview's resolution).
ALPHA_STEPS = 100
#: Delay (ms) after the last change of the frame count before the frames are recomputed.
FRAMES_DEBOUNCE_MS = 250
MAX_FRAMES = 240


class FramesPage(JobPage):
    """Page 5: how many frames, and the morph at any alpha (sequence frames cached)."""

    def __init__(self, session: MorphSession, jobs: JobManager,
                 preview_jobs: JobManager | None = None, parent: QWidget | None = None) -> None:
        """``preview_jobs`` runs the short single-frame previews (default: ``jobs``); the
        wizard gives a manager of its own so scrubbing does not fill the Jobs dock."""
        super().__init__(session, jobs, "Frames",
                         "The morph goes from A (alpha 0) to B (alpha 1) in evenly spaced "
                         "frames. Move the slider to preview any alpha.", parent)
        self.shown_alpha: float | None = None
        self.preview_slot = JobSlot(preview_jobs or jobs, self, visible=False)
        self.slots.append(self.preview_slot)
        self.frames_spin = QSpinBox(self)
        self.frames_spin.setRange(2, MAX_FRAMES)
        self.frames_spin.setValue(session.n_frames)
        self.frames_spin.valueChanged.connect(self._frames_changed)
        self.alpha_slider = QSlider(Qt.Orientation.Horizontal, self)
        self.alpha_slider.setRange(0, ALPHA_STEPS)
        self.alpha_slider.setValue(ALPHA_STEPS // 2)
        self.alpha_slider.valueChanged.connect(lambda _v: self.show_alpha())
        self.alpha_label = QLabel("", self)
        self.alpha_label.setMinimumWidth(90)
        self.preview = LandmarkView(self)
        self.preview.editable = False
        self._debounce = debounce_timer(self, FRAMES_DEBOUNCE_MS, self._compute_sequence)
        form = QFormLayout()
        frames_row = QHBoxLayout()
        frames_row.addWidget(self.frames_spin)
        self.frames_info = QLabel("", self)
        frames_row.addWidget(self.frames_info)
        frames_row.addStretch(1)
        form.addRow("Frames", frames_row)
        slider_row = QHBoxLayout()
        slider_row.addWidget(QLabel("A", self))
        slider_row.addWidget(self.alpha_slider, 1)
        slider_row.addWidget(QLabel("B", self))
        slider_row.addWidget(self.alpha_label)
        form.addRow("Preview", slider_row)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.preview, 1)
        layout.addWidget(self.slot)

    @property
    def alpha(self) -> float:
        return self.alpha_slider.value() / ALPHA_STEPS

    def initializePage(self) -> None:  # noqa: N802 - Qt override
        self.frames_spin.blockSignals(True)
        self.frames_spin.setValue(self.session.n_frames)
        self.frames_spin.blockSignals(False)
        self.shown_alpha = None
        self.preview.set_image(None)
        self._show_info()
        self._compute_sequence()
        self.show_alpha()

    def cleanupPage(self) -> None:  # noqa: N802 - Qt override
        self._debounce.stop()
        self.slot.cancel()
        self.preview_slot.cancel()

    def isComplete(self) -> bool:  # noqa: N802 - Qt override
        return (not self.slot.busy and not self._debounce.isActive()
                and self.session.sequence() is not None)

    # -- the sequence ---------------------------------------------------------------------------
    def _frames_changed(self, n: int) -> None:
        self.session.set_n_frames(n)
        self._show_info()
        self._debounce.start()
        self.completeChanged.emit()

    def _show_info(self) -> None:
        image = self.session.images[0]
        size = 0 if image is None else image.nbytes * self.session.n_frames
        self.frames_info.setText(f"from A to B, both included (about {size / 2**20:,.0f} MB "
                                 "of frames, kept in memory for the export)")

    def _compute_sequence(self) -> None:
        missing = self.session.missing_alphas()
        n = self.session.n_frames
        if not missing:
            self.slot.cancel()
            self.slot.set_message(f"{n} frames ready")
            self.completeChanged.emit()
            return
        version = self.session.version
        a, b, pa, pb = self.session.morph_inputs()
        self.slot.start(lambda p: morph_frames(version, a, b, pa, pb, missing, p),
                        f"Morph {len(missing)} frame(s)", on_result=self._sequence_done)

    def _sequence_done(self, result: tuple[int, dict[float, np.ndarray]]) -> None:
        version, frames = result
        if not self.session.store(version, frames) or self.session.missing_alphas():
            self._compute_sequence()  # points or count changed meanwhile
            return
        self.slot.set_message(f"{self.session.n_frames} frames ready")
        self.show_alpha()
        self.completeChanged.emit()

    # -- the preview ----------------------------------------------------------------------------
    def show_alpha(self) -> None:
        """Show the morph at the slider's alpha: cached, or computed in the background."""
        alpha = self.alpha
        self.alpha_label.setText(f"alpha {alpha:.2f}")
        frame = self.session.frame(alpha)
        if frame is not None:
            self.preview_slot.cancel()
            if self.shown_alpha != alpha or self.preview.image() is not frame:
                self.preview.set_image(frame)
            self.shown_alpha = alpha
            return
        version = self.session.version
        a, b, pa, pb = self.session.morph_inputs()
        self.preview_slot.start(lambda p: morph_frames(version, a, b, pa, pb, [alpha], p),
                                "Morph preview", on_result=self._preview_done)

    def _preview_done(self, result: tuple[int, dict[float, np.ndarray]]) -> None:
        if self.session.store(*result):
            self.show_alpha()


class ExportPage(JobPage):
    """Page 6: write the frames (GIF, MP4, image files) or add them as layers."""

    def __init__(self, session: MorphSession, jobs: JobManager, workspace: Workspace,
                 parent: QWidget | None = None) -> None:
        super().__init__(session, jobs, "Export",
                         "Save the morph as an animation or as numbered images, or add its "
                         "frames to the document as layers (one undo step).", parent)
        self.workspace = workspace
        self.fps_spin = QSpinBox(self)
        self.fps_spin.setRange(1, 60)
        self.fps_spin.setValue(10)
        self.fps_spin.setSuffix(" frames/s")
        self.pingpong_check = QCheckBox("Ping-pong (play forth and back; GIF and MP4)", self)
        self.gif_button = QPushButton("Save GIF…", self)
        self.mp4_button = QPushButton("Save MP4…", self)
        self.png_button = QPushButton("Save frames as images…", self)
        self.layers_button = QPushButton("Add frames as layers", self)
        self.gif_button.clicked.connect(lambda: self._ask_file("GIF", "morph.gif", self.export_gif))
        self.mp4_button.clicked.connect(lambda: self._ask_file("MP4", "morph.mp4", self.export_mp4))
        self.png_button.clicked.connect(self._ask_folder)
        self.layers_button.clicked.connect(self._add_layers_clicked)
        self.result = QLabel("", self)
        self.result.setWordWrap(True)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        form.addRow("Speed", self.fps_spin)
        form.addRow("", self.pingpong_check)
        buttons = QHBoxLayout()
        for button in (self.gif_button, self.mp4_button, self.png_button, self.layers_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.result)
        layout.addStretch(1)
        layout.addWidget(self.slot)

    def initializePage(self) -> None:  # noqa: N802 - Qt override
        n = self.session.n_frames
        self.result.setText(f"{n} frames of {self._size_text()}.")

    def _size_text(self) -> str:
        frames = self.session.sequence()
        if not frames:
            return "?"
        h, w = frames[0].shape[:2]
        return f"{w}×{h} pixels"

    def _frames(self) -> list[np.ndarray]:
        frames = self.session.sequence()
        if frames is None:
            raise RuntimeError("the frames are not computed yet: go back to the Frames page")
        return frames

    def isComplete(self) -> bool:  # noqa: N802 - Qt override: Finish waits for the export
        return not self.slot.busy

    def _busy_changed(self, busy: bool) -> None:
        for button in (self.gif_button, self.mp4_button, self.png_button, self.layers_button):
            button.setEnabled(not busy)
        self.completeChanged.emit()

    def _start(self, title: str, write, done_text) -> Job | None:
        return self.slot.start(write, title, on_result=lambda value: self.result.setText(
            done_text(value)))

    # -- exports ----------------------------------------------------------------------------
    def export_gif(self, path: str | os.PathLike[str]) -> Job | None:
        frames, fps, pp = self._frames(), self.fps_spin.value(), self.pingpong_check.isChecked()
        return self._start("Export GIF", lambda p: save_gif(path, frames, fps=fps, pingpong=pp,
                                                            progress=p),
                           lambda n: f"Wrote {n} frames to {path}")

    def export_mp4(self, path: str | os.PathLike[str]) -> Job | None:
        frames, fps, pp = self._frames(), self.fps_spin.value(), self.pingpong_check.isChecked()
        return self._start("Export MP4", lambda p: save_mp4(path, frames, fps=fps, pingpong=pp,
                                                            progress=p),
                           lambda n: f"Wrote {n} frames to {path}")

    def export_frames(self, folder: str | os.PathLike[str]) -> Job | None:
        """Write ``frame_000.png``... into ``folder`` (TIFF for float32 frames, which PNG
        cannot store)."""
        frames = self._frames()
        ext = ".tif" if frames[0].dtype == np.float32 else ".png"
        return self._start("Export frames",
                           lambda p: save_frames(folder, frames, ext=ext, progress=p),
                           lambda paths: f"Wrote {len(paths)} files to {folder}")

    def add_frames_as_layers(self) -> list[ImageLayer]:
        """The frames as new image layers on top of the document, in one undo step."""
        frames = self._frames()
        document = self.workspace.document
        taken = {layer.name for layer in document}
        layers = []
        for k, frame in enumerate(frames):
            name = base = f"Morph {k + 1:0{len(str(len(frames)))}d}"
            n = 2
            while name in taken:
                name, n = f"{base} ({n})", n + 1
            taken.add(name)
            layers.append(ImageLayer(frame.copy(), name))  # layers are edited in place
        group = Group(f"Add {len(layers)} morph frames",
                      [AddLayer(document, layer) for layer in layers])
        self.workspace.history.execute(group)
        self.result.setText(f"Added {len(layers)} layers to the document")
        return layers

    def _ask_file(self, kind: str, default: str, export) -> None:
        path, _ = QFileDialog.getSaveFileName(self, f"Save {kind}", default,
                                              f"{kind} (*.{kind.lower()})")
        if path:
            self._guard(lambda: export(path))

    def _ask_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Save frames into folder")
        if folder:
            self._guard(lambda: self.export_frames(folder))

    def _add_layers_clicked(self) -> None:
        self._guard(self.add_frames_as_layers)

    def _guard(self, fn) -> None:
        try:
            fn()
        except (OSError, ValueError, RuntimeError) as exc:
            self.slot.set_message(str(exc), error=True)
