"""detect.track: follow boxes through a video with OpenCV's single-object trackers.

The op reads the video file it is given (its input is a file, as for ``search.index``), and
writes an annotated copy only when asked to (``output``), atomically. OpenCV is imported inside
the functions.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np

from imgstudio.core.editor import Editor
from imgstudio.core.progress import Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import Lines, Range, Result, Table
from imgstudio.ops._pixels import token

Tracker = Literal["csrt", "kcf", "mil"]
TRACKERS: tuple[str, ...] = ("csrt", "kcf", "mil")

#: Codec of the annotated copy, by file suffix.
CODECS = {".avi": "MJPG", ".mp4": "mp4v"}
#: Frame rate written when the video does not say its own.
DEFAULT_FPS = 25.0
#: Box colours (BGR) in the annotated copy: tracked, lost.
TRACKED = (0, 220, 0)
LOST = (0, 0, 255)


@dataclass(frozen=True, eq=False)
class Tracks(Result):
    """What :func:`track` found: one table row per frame and box, each box's path, the number
    of frames read and the annotated copy written (or None)."""

    table: Table
    paths: Lines
    frames: int
    output: str | None = None


def _create(tracker: str) -> Any:
    import cv2

    if tracker == "csrt":
        return cv2.TrackerCSRT_create()
    if tracker == "kcf":
        return cv2.TrackerKCF_create()
    if tracker == "mil":
        return cv2.TrackerMIL_create()
    raise ValueError(f"tracker must be one of {', '.join(TRACKERS)}; got {tracker!r}")


def _first_boxes(boxes: tuple[float, ...], width: int, height: int) -> list[tuple[int, ...]]:
    """``boxes`` (x0, y0, x1, y1, x0, y0, ...) as OpenCV integer ``(x, y, w, h)`` rectangles
    inside a ``width`` × ``height`` frame; ``ValueError`` naming ``boxes``."""
    values = np.asarray(boxes, dtype=float).ravel()
    if len(values) == 0 or len(values) % 4:
        raise ValueError("boxes must hold four numbers (x0, y0, x1, y1) per box; "
                         f"got {len(values)} number(s)")
    rects = []
    for k, (x0, y0, x1, y1) in enumerate(values.reshape(-1, 4)):
        if x1 <= x0 or y1 <= y0:
            raise ValueError(f"boxes: box {k} ({x0:g}, {y0:g}, {x1:g}, {y1:g}) must have "
                             "x1 > x0 and y1 > y0")
        cx0, cy0 = int(round(max(x0, 0.0))), int(round(max(y0, 0.0)))
        cx1, cy1 = int(round(min(x1, width))), int(round(min(y1, height)))
        if cx1 - cx0 < 2 or cy1 - cy0 < 2:
            raise ValueError(f"boxes: box {k} ({x0:g}, {y0:g}, {x1:g}, {y1:g}) is not inside "
                             f"the {width}×{height} first frame")
        rects.append((cx0, cy0, cx1 - cx0, cy1 - cy0))
    return rects


def _check_output(output: Path | None, video: Path) -> None:
    if output is None:
        return
    if output.suffix.lower() not in CODECS:
        raise ValueError(f"output must end in {' or '.join(CODECS)}; got {str(output)!r}")
    if output.resolve() == video.resolve():
        raise ValueError(f"output must not be the video itself ({output})")
    if not output.parent.is_dir():
        raise ValueError(f"output: no such folder: {output.parent}")


def _draw(frame: np.ndarray, boxes: list[tuple[float, ...] | None],
          last: list[tuple[float, ...]]) -> np.ndarray:
    """``frame`` (BGR) with each track's box: green where tracked, red (last known) where lost."""
    import cv2

    out = frame.copy()
    for k, (box, known) in enumerate(zip(boxes, last, strict=True)):
        x0, y0, x1, y1 = (int(round(v)) for v in (box if box is not None else known))
        colour = TRACKED if box is not None else LOST
        cv2.rectangle(out, (x0, y0), (x1 - 1, y1 - 1), colour, 1)
        cv2.putText(out, str(k), (x0 + 2, max(y0 - 3, 8)), cv2.FONT_HERSHEY_SIMPLEX, 0.35,
                    colour, 1, cv2.LINE_AA)
    return out


@operation("detect.track", title="Track objects in a video", menu="Analyze/Detect",
           editor=Editor(preview="apply"))
def track(
    *,
    video: Path,
    boxes: Annotated[tuple[float, ...], Range(0.0, None)],
    tracker: Tracker = "csrt",
    output: Path | None = None,
    progress: Progress | None = None,
) -> Tracks:
    """Follow boxes drawn on a video's first frame through the video (CSRT, KCF or MIL).

    One OpenCV tracker per box (``cv2.TrackerCSRT_create`` etc.) is initialised on the first
    frame and updated on every later one. OpenCV's KCF is also updated once on the first
    frame: it learns its model only on its first update, and learning it on the second frame
    at the first frame's position makes it trail the object by that frame's motion for the
    whole video.

    Parameters
    ----------
    video : pathlib.Path
        A video file OpenCV can read (AVI/MJPG, MP4, ...).
    boxes : tuple of float
        The objects on the first frame: four numbers ``x0, y0, x1, y1`` per box (pixels,
        ``x1``/``y1`` exclusive, as :class:`~imgstudio.core.types.Boxes`), e.g.
        ``"20,30,60,70, 100,10,130,50"`` for two boxes; each is clipped to the frame.
    tracker : {"csrt", "kcf", "mil"}
        ``csrt``: discriminative correlation filter with channel and spatial reliability,
        the most accurate and the slowest (about 5 ms a frame for a small box); ``kcf``:
        kernelised correlation filter, fast (under 1 ms a frame), keeps the box's size,
        reports a loss when the object is occluded; ``mil``: multiple-instance learning,
        slowest and least accurate, and not repeatable (it samples with a clock-seeded random
        generator: two runs can give different tracks).
    output : pathlib.Path, optional
        Where to write a copy of the video with the boxes drawn (green where tracked, red at
        the last known place where lost, each with its track number): ``.avi`` (MJPG) or
        ``.mp4`` (MPEG-4 part 2), the input's size and frame rate. Written to a temporary
        file and renamed at the end, so a failed or cancelled run leaves no file.
    progress : Progress, optional
        Progress per frame (a fraction of the frame count the file declares) and
        cancellation between frames.

    Returns
    -------
    Tracks
        ``table``: columns ``frame`` (0 = the first), ``track`` (the box's index in
        ``boxes``), ``x0``, ``y0``, ``x1``, ``y1`` (None where lost) and ``ok`` (False where
        the tracker lost the object), frame by frame; ``paths``: the centre of each box on
        the frames where it was tracked, one polyline per track (labels ``"track K"``);
        ``frames``: the number of frames read; ``output``: the file written, or None.
    """
    import cv2

    progress = token(progress)
    video = Path(video)
    if not video.is_file():
        raise ValueError(f"video: no such file: {video}")
    _create(tracker)  # an unknown tracker fails before any work
    _check_output(output, video)
    capture = cv2.VideoCapture(str(video))
    writer = None
    partial: Path | None = None
    try:
        ok, frame = capture.read() if capture.isOpened() else (False, None)
        if not ok or frame is None:
            raise ValueError(f"video: cannot read frames from {video}")
        height, width = frame.shape[:2]
        rects = _first_boxes(boxes, width, height)
        declared = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0) or DEFAULT_FPS
        trackers = []
        for rect in rects:
            t = _create(tracker)
            t.init(frame, rect)
            if tracker == "kcf":
                t.update(frame)  # see the docstring: KCF learns its model on its first update
            trackers.append(t)
        if output is not None:
            partial = output.with_name(f".{output.stem}.partial{output.suffix}")
            writer = cv2.VideoWriter(str(partial), cv2.VideoWriter_fourcc(*CODECS[
                output.suffix.lower()]), fps, (width, height))
            if not writer.isOpened():
                raise ValueError(f"output: cannot write a video to {output}")
        columns: dict[str, list] = {n: [] for n in ("frame", "track", "x0", "y0", "x1", "y1",
                                                    "ok")}
        centres: list[list[tuple[float, float]]] = [[] for _ in rects]
        last = [(float(x), float(y), float(x + w), float(y + h)) for x, y, w, h in rects]
        index = 0
        while True:
            if index == 0:
                found: list[tuple[float, ...] | None] = list(last)
            else:
                found = []
                for t in trackers:
                    good, (x, y, w, h) = t.update(frame)
                    found.append((float(x), float(y), float(x + w), float(y + h))
                                 if good and w > 0 and h > 0 else None)
            for k, box in enumerate(found):
                columns["frame"].append(index)
                columns["track"].append(k)
                for name, value in zip(("x0", "y0", "x1", "y1"), box or (None,) * 4,
                                       strict=True):
                    columns[name].append(value)
                columns["ok"].append(box is not None)
                if box is not None:
                    last[k] = box
                    centres[k].append(((box[0] + box[2]) / 2, (box[1] + box[3]) / 2))
            if writer is not None:
                writer.write(_draw(frame, found, last))
            index += 1
            total = max(declared, index)
            progress(min(index / total, 0.99), f"frame {index} of {total}")
            ok, frame = capture.read()
            if not ok or frame is None:
                break
        if writer is not None:
            writer.release()
            writer = None
            os.replace(partial, output)  # type: ignore[arg-type]
            partial = None
        progress(1.0, f"{index} frame(s), {len(rects)} track(s)")
        return Tracks(
            table=Table(columns),
            paths=Lines([np.array(c, dtype=float) for c in centres],
                        [f"track {k}" for k in range(len(rects))]),
            frames=index,
            output=None if output is None else str(output),
        )
    finally:
        capture.release()
        if writer is not None:
            writer.release()
        if partial is not None and partial.exists():
            partial.unlink()
