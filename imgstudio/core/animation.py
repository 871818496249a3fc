"""Writing frame sequences: animated GIF (Pillow), MP4 (OpenCV ``mp4v``), numbered image files,
and point sets as plain text (one ``x y`` per line).

Every file is written with :func:`~imgstudio.core.atomic.atomic_write` (a temporary file next
to the real target, renamed over it once complete), so a failed or cancelled export never leaves
a half-written file behind. Pillow and OpenCV are imported inside the functions.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from imgstudio.core.atomic import atomic_write
from imgstudio.core.io import save_image
from imgstudio.core.progress import Progress
from imgstudio.core.types import IMAGE_DTYPES, check_points, dtype_max

#: FourCC of the MP4 writer (MPEG-4 part 2, in every OpenCV build with a video backend).
MP4_FOURCC = "mp4v"


class CodecUnavailableError(RuntimeError):
    """The video codec cannot be opened by this OpenCV build."""


def ping_pong(frames: Sequence[np.ndarray]) -> list[np.ndarray]:
    """``frames`` forth and back without repeating the ends: a, b, c → a, b, c, b."""
    frames = list(frames)
    return frames + frames[-2:0:-1]


def to_rgb8(frame: np.ndarray) -> np.ndarray:
    """A contiguous ``(H, W, 3)`` uint8 RGB copy of an Image frame (gray replicated, alpha
    dropped, uint16 / float32 [0, 1] scaled to 0–255)."""
    frame = np.asarray(frame)
    if frame.dtype not in IMAGE_DTYPES:
        raise ValueError(f"frames must be uint8, uint16 or float32; got {frame.dtype}")
    if frame.ndim == 2:
        frame = frame[..., None]
    if frame.ndim != 3 or frame.shape[2] not in (1, 3, 4):
        raise ValueError(f"frames must have shape (H, W), (H, W, 3) or (H, W, 4); got {frame.shape}")
    if frame.dtype != np.uint8:
        scaled = frame.astype(np.float32) * np.float32(255.0 / dtype_max(frame.dtype))
        frame = np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
    rgb = np.repeat(frame, 3, axis=2) if frame.shape[2] == 1 else frame[..., :3]
    return np.ascontiguousarray(rgb)


def _check_frames(frames: Sequence[np.ndarray]) -> None:
    if len(frames) == 0:
        raise ValueError("frames must not be empty")
    shape = np.shape(frames[0])
    for k, frame in enumerate(frames):
        if np.shape(frame) != shape:
            raise ValueError(f"frames must all have the same shape; frame {k} is "
                             f"{np.shape(frame)}, frame 0 is {shape}")


def _tick(progress: Progress | None, k: int, n: int, what: str) -> None:
    if progress is not None:
        progress(k / n, f"{what} {k + 1} of {n}")


def save_gif(
    path: str | os.PathLike[str],
    frames: Sequence[np.ndarray],
    *,
    fps: float = 10.0,
    loop: int = 0,
    pingpong: bool = False,
    progress: Progress | None = None,
) -> int:
    """Write an animated GIF (Pillow, adaptive palette per frame); returns the frames written.

    ``loop`` 0 repeats forever; ``pingpong`` plays the frames forth and back. Pillow merges
    consecutive identical frames into one (their durations add up).
    """
    from PIL import Image as PILImage

    _check_frames(frames)
    if fps <= 0:
        raise ValueError(f"fps must be > 0; got {fps}")
    seq = ping_pong(frames) if pingpong else list(frames)
    pictures = []
    for k, frame in enumerate(seq):
        _tick(progress, k, len(seq), "encoding frame")
        pictures.append(PILImage.fromarray(to_rgb8(frame), "RGB"))
    atomic_write(path, lambda tmp: pictures[0].save(
        tmp, format="GIF", save_all=True, append_images=pictures[1:],
        duration=round(1000.0 / fps), loop=loop, disposal=1), "animation")
    if progress is not None:
        progress(1.0, f"wrote {len(seq)} frames")
    return len(seq)


def save_mp4(
    path: str | os.PathLike[str],
    frames: Sequence[np.ndarray],
    *,
    fps: float = 10.0,
    pingpong: bool = False,
    progress: Progress | None = None,
) -> int:
    """Write an MP4 video with OpenCV's ``mp4v`` (MPEG-4 part 2) writer; returns the frames
    written. Raises :class:`CodecUnavailableError` when this OpenCV build cannot open it."""
    import cv2

    _check_frames(frames)
    if fps <= 0:
        raise ValueError(f"fps must be > 0; got {fps}")
    seq = ping_pong(frames) if pingpong else list(frames)
    h, w = np.shape(seq[0])[:2]

    def write(tmp: Path) -> None:
        writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*MP4_FOURCC), float(fps), (w, h))
        if not writer.isOpened():
            raise CodecUnavailableError(
                f"this OpenCV build cannot write MP4 video (codec {MP4_FOURCC!r} unavailable); "
                "export a GIF or PNG frames instead")
        try:
            for k, frame in enumerate(seq):
                _tick(progress, k, len(seq), "encoding frame")
                writer.write(cv2.cvtColor(to_rgb8(frame), cv2.COLOR_RGB2BGR))
        finally:
            writer.release()
        if not tmp.is_file() or os.path.getsize(tmp) == 0:
            raise CodecUnavailableError(f"the {MP4_FOURCC!r} writer produced an empty file")

    atomic_write(path, write, "video")
    if progress is not None:
        progress(1.0, f"wrote {len(seq)} frames")
    return len(seq)


def frame_names(count: int, prefix: str = "frame", ext: str = ".png") -> list[str]:
    """``frame_000.png``, ``frame_001.png``... (at least 3 digits, more when needed)."""
    digits = max(3, len(str(count - 1)))
    return [f"{prefix}_{k:0{digits}d}{ext}" for k in range(count)]


def save_frames(
    folder: str | os.PathLike[str],
    frames: Sequence[np.ndarray],
    *,
    prefix: str = "frame",
    ext: str = ".png",
    progress: Progress | None = None,
) -> list[Path]:
    """Write each frame to ``folder/prefix_NNN.ext`` (created if missing) with
    :func:`~imgstudio.core.io.save_image` (each file atomic); returns the paths."""
    _check_frames(frames)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / name for name in frame_names(len(frames), prefix, ext)]
    for k, (frame, target) in enumerate(zip(frames, paths, strict=True)):
        _tick(progress, k, len(frames), "writing frame")
        save_image(target, frame)
    if progress is not None:
        progress(1.0, f"wrote {len(paths)} files")
    return paths


# -- point sets as text -------------------------------------------------------------------------
def save_points_text(path: str | os.PathLike[str], points: np.ndarray) -> None:
    """Write ``(N, 2)`` points as text, one ``x y`` per line (atomically)."""
    points = check_points(points)
    text = "".join(f"{x:.6g} {y:.6g}\n" for x, y in points)
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), "points")


def load_points_text(path: str | os.PathLike[str]) -> np.ndarray:
    """Read points written by :func:`save_points_text`: one ``x y`` per line (commas or
    whitespace between; blank lines and ``#`` comments ignored). Errors name the line."""
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.split("#", 1)[0].replace(",", " ").strip()
            if not line:
                continue
            parts = line.split()
            try:
                if len(parts) != 2:
                    raise ValueError
                rows.append((float(parts[0]), float(parts[1])))
            except ValueError:
                raise ValueError(f"{os.fspath(path)}, line {n}: expected 'x y'; got "
                                 f"{line!r}") from None
    return check_points(np.array(rows, dtype=float).reshape(-1, 2), os.fspath(path))

