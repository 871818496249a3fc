"""The face morph wizard's state and its background jobs, without Qt.

:class:`MorphSession` holds what the pages chose (two images, detected faces, the point sets,
the number of frames), the frames computed so far and the undo history of the point edits. The job functions take plain data and a
:class:`~imgstudio.core.progress.Progress` and return plain data: they run on pool threads and
never see a widget. The image maths is the faces operations': the face-morph wizard
declaration (:data:`WIZARD`) names the ops run by role (``detect``, ``landmarks``) and the
helpers (``triangulate``, ``frames``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import imgstudio.api as api
from imgstudio.core.progress import Progress
from imgstudio.core.types import Boxes, check_points
from imgstudio.gui.wizards import declared

#: The name under which the face ops declare this wizard.
WIZARD = "face_morph"

A, B = 0, 1
SIDES = ("A", "B")
#: Previews at alphas off the sequence that are kept, besides the sequence's frames.
EXTRA_PREVIEWS = 16


def side_index(side: int | str) -> int:
    """0 for ``"a"``/``"A"``/0, 1 for ``"b"``/``"B"``/1."""
    if isinstance(side, str) and side.upper() in SIDES:
        return SIDES.index(side.upper())
    if side in (0, 1):
        return int(side)
    raise ValueError(f"side must be 'a' or 'b'; got {side!r}")


def alpha_key(alpha: float) -> float:
    return round(float(alpha), 9)


class MorphSession:
    """What the wizard has chosen and computed. ``version`` counts changes of the images or
    points; frames belong to one version and are dropped when it changes."""

    def __init__(self) -> None:
        self.images: list[np.ndarray | None] = [None, None]
        self.names = ["", ""]
        self.detect = True
        #: Counts the changes of each image (detections and landmarks refer to it).
        self.image_versions = [0, 0]
        #: Detected faces per image (None: not detected yet for the current image).
        self.boxes: list[Boxes | None] = [None, None]
        self.face = [0, 0]
        self.points = [np.zeros((0, 2)), np.zeros((0, 2))]
        #: Per side, (image version, face) the landmarks were found for.
        self.landmarks_key: list[tuple[int, int] | None] = [None, None]
        #: Point edits (side, points before) to undo, and undone ones to redo (see
        #: :meth:`edit_points`); a new image clears both.
        self._undo: list[tuple[int, np.ndarray]] = []
        self._redo: list[tuple[int, np.ndarray]] = []
        self.version = 0
        self.n_frames = 20
        self._frames: dict[float, np.ndarray] = {}
        self._extra: list[float] = []

    # -- choices --------------------------------------------------------------------------------
    def set_image(self, side: int, image: np.ndarray | None, name: str = "") -> None:
        if image is self.images[side]:
            return
        self.images[side] = image
        self.names[side] = name
        self.image_versions[side] += 1
        self.boxes[side] = None
        self.face[side] = 0
        self.points[side] = np.zeros((0, 2))
        self.landmarks_key[side] = None
        self._undo.clear()
        self._redo.clear()
        self._changed()

    def set_points(self, side: int, points: np.ndarray) -> None:
        points = check_points(points, f"points of {SIDES[side]}").copy()
        if points.shape == self.points[side].shape and np.array_equal(points, self.points[side]):
            return
        image = self.images[side]
        if image is not None and len(points):
            h, w = image.shape[:2]
            if points.min() < -0.5 or np.any(points.max(axis=0) > (w - 0.5, h - 0.5)):
                raise ValueError(f"points of {SIDES[side]} must lie inside its {w}×{h} image")
        self.points[side] = points
        self._changed()

    def edit_points(self, side: int, points: np.ndarray) -> bool:
        """Set ``side``'s points as a user edit (a drag, an added or removed point, a file
        loaded, Clear): one step :meth:`undo_points` takes back. False when nothing changed;
        ``ValueError`` (nothing recorded) for points off the image."""
        before = self.points[side]
        version = self.version
        self.set_points(side, points)
        if self.version == version:
            return False
        self._undo.append((side, before))
        self._redo.clear()
        return True

    def forget_edits(self) -> None:
        """Drop the undo history (the points were replaced by detection)."""
        self._undo.clear()
        self._redo.clear()

    def can_undo(self) -> bool:
        return bool(self._undo)

    def can_redo(self) -> bool:
        return bool(self._redo)

    def undo_points(self) -> int | None:
        """Take back the last point edit; the side it changed, or None when there is none."""
        return self._step(self._undo, self._redo)

    def redo_points(self) -> int | None:
        """Do the last undone point edit again; the side it changed, or None."""
        return self._step(self._redo, self._undo)

    def _step(self, source: list[tuple[int, np.ndarray]],
              target: list[tuple[int, np.ndarray]]) -> int | None:
        if not source:
            return None
        side, points = source.pop()
        target.append((side, self.points[side]))
        self.set_points(side, points)
        return side

    def _changed(self) -> None:
        self.version += 1
        self._frames.clear()
        self._extra.clear()

    def points_problem(self) -> str:
        """Why the point sets cannot be morphed yet, or "" when they can."""
        na, nb = (len(p) for p in self.points)
        if na != nb:
            more = "B" if na > nb else "A"
            return (f"A has {na} points and B {nb}: place {abs(na - nb)} more on {more} "
                    f"(the same features, in the same order; next: point {min(na, nb) + 1})")
        if na < 3:
            return f"place at least 3 corresponding points on each face (now {na})"
        return ""

    def wants_landmarks(self, side: int) -> bool:
        """Whether landmarks should be (re)detected on ``side``: detection is on, a face was
        found there and its landmarks were not found for this image and face yet."""
        boxes = self.boxes[side]
        return (self.detect and boxes is not None and len(boxes) > 0
                and self.landmarks_key[side] != (self.image_versions[side], self.face[side]))

    def morph_inputs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(image A, image B, points A, points B) as the jobs take them."""
        a, b = self.images
        if a is None or b is None:
            raise ValueError("choose both faces first")
        return a, b, self.points[A].copy(), self.points[B].copy()

    # -- frames ---------------------------------------------------------------------------------
    def sequence_alphas(self) -> list[float]:
        """The alphas of the ``n_frames`` frames: 0, 1/(n-1), ..., 1 (as ``morph_sequence``)."""
        return [float(a) for a in np.linspace(0.0, 1.0, self.n_frames)]

    def set_n_frames(self, n: int) -> None:
        """Change the frame count; cached frames off the new sequence are dropped (the
        recent previews excepted)."""
        if n < 2:
            raise ValueError(f"frames must be >= 2; got {n}")
        self.n_frames = int(n)
        keep = {alpha_key(a) for a in self.sequence_alphas()} | set(self._extra)
        for key in [k for k in self._frames if k not in keep]:
            del self._frames[key]

    def frame(self, alpha: float) -> np.ndarray | None:
        return self._frames.get(alpha_key(alpha))

    def store(self, version: int, frames: dict[float, np.ndarray]) -> bool:
        """Keep ``frames`` (alpha → frame) computed for ``version``; False when stale."""
        if version != self.version:
            return False
        wanted = {alpha_key(a) for a in self.sequence_alphas()}
        for alpha, frame in frames.items():
            key = alpha_key(alpha)
            self._frames[key] = frame
            if key not in wanted and key not in self._extra:
                self._extra.append(key)
        while len(self._extra) > EXTRA_PREVIEWS:  # oldest previews off the sequence go first
            key = self._extra.pop(0)
            if key not in wanted:
                self._frames.pop(key, None)
        return True

    def missing_alphas(self) -> list[float]:
        return [a for a in self.sequence_alphas() if alpha_key(a) not in self._frames]

    def sequence(self) -> list[np.ndarray] | None:
        """The frames of the sequence, or None while some are not computed."""
        frames = [self.frame(a) for a in self.sequence_alphas()]
        return None if any(f is None for f in frames) else frames


# -- jobs (pool threads: plain data in, plain data out) ---------------------------------------------
def detect_faces(images: list[np.ndarray], progress: Progress) -> list[Boxes]:
    """The declared ``detect`` op on each image, most confident face first."""
    op_id = declared(WIZARD).ops["detect"]
    out = []
    for k, image in enumerate(images):
        out.append(api.run(op_id, image,
                           progress=progress.sub(k / len(images), (k + 1) / len(images))))
    return out


def find_landmarks(images: list[np.ndarray], faces: list[int | None], progress: Progress
                   ) -> list[np.ndarray | None]:
    """The 68 landmarks (the declared ``landmarks`` op) of face ``faces[k]`` of each image;
    None where ``faces[k]`` is None (no face: the points are placed by hand)."""
    op_id = declared(WIZARD).ops["landmarks"]
    out: list[np.ndarray | None] = []
    for k, (image, face) in enumerate(zip(images, faces, strict=True)):
        sub = progress.sub(k / len(images), (k + 1) / len(images))
        out.append(None if face is None else api.run(op_id, image, model=68, face=face,
                                                     progress=sub))
    return out


@dataclass(frozen=True)
class Triangulation:
    """The average shape (border points included) at alpha 0.5, its Delaunay triangles, and
    the average of the two faces warped onto it (the morph at 0.5)."""

    version: int
    points: np.ndarray
    triangles: np.ndarray
    middle: np.ndarray
    face_points: int


def triangulate(version: int, a: np.ndarray, b: np.ndarray, pts_a: np.ndarray,
                pts_b: np.ndarray, progress: Progress) -> Triangulation:
    points, triangles, middle = declared(WIZARD).functions["triangulate"](
        a, b, pts_a, pts_b, progress)
    return Triangulation(version, points, triangles, middle, len(pts_a))


def morph_frames(version: int, a: np.ndarray, b: np.ndarray, pts_a: np.ndarray,
                 pts_b: np.ndarray, alphas: list[float], progress: Progress
                 ) -> tuple[int, dict[float, np.ndarray]]:
    """The morph at each alpha (the declared ``frames`` helper, as the morph op makes them);
    returns ``(version, {alpha: frame})``."""
    return version, declared(WIZARD).functions["frames"](a, b, pts_a, pts_b, alphas, progress)
