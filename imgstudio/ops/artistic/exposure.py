"""Long exposure: the mean of the frames of a video (streamed) or of a list of layers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np

from imgstudio.core.progress import Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import Image, Range, check_image
from imgstudio.ops._pixels import clip_to_dtype, token


@operation("artistic.long_exposure", title="Long exposure", menu="Filters/Artistic")
def long_exposure(
    frames: list[Image] | None = None,
    *,
    video: Path | None = None,
    max_frames: Annotated[int, Range(0, 1_000_000)] = 0,
    step: Annotated[int, Range(1, 10_000)] = 1,
    progress: Progress | None = None,
) -> Image:
    """Simulate a long exposure: the per-pixel mean of the frames of a video or of layers.

    Give exactly one of ``video`` and ``frames``. Frames 0, step, 2·step, ... are used, at most
    ``max_frames`` of them (0 = all). The video is streamed with ``cv2.VideoCapture``: frames are
    decoded one at a time into a running float64 sum, never held together; skipped frames are
    only grabbed, not decoded.

    Parameters
    ----------
    frames : list of (H, W[, C]) ndarray, optional
        Frames of equal shape and dtype (e.g. layers of a burst).
    video : pathlib.Path, optional
        Video file (any container/codec OpenCV's FFmpeg backend reads).
    max_frames : int
        Largest number of frames averaged; 0 means all.
    step : int
        Use every step-th frame.

    Returns
    -------
    ndarray
        The mean frame: for ``frames``, their shape and dtype (rounded to the nearest integer for
        integer dtypes); for ``video``, an (H, W, 3) uint8 RGB image (rounded half to even).
    """
    progress = token(progress)
    if (video is None) == (frames is None):
        raise ValueError("give exactly one of video (a file) and frames (layers); got "
                         + ("both" if video is not None else "neither"))
    if frames is not None:
        return _mean_of_frames(frames, max_frames, step, progress)
    return _mean_of_video(Path(video), max_frames, step, progress)


def _mean_of_frames(frames: list[np.ndarray], max_frames: int, step: int,
                    progress: Progress) -> np.ndarray:
    if isinstance(frames, np.ndarray) or not isinstance(frames, (list, tuple)):
        raise TypeError(f"frames must be a list of images; got {type(frames).__name__}")
    if not frames:
        raise ValueError("frames must contain at least one image")
    first = check_image(frames[0], "frames[0]")
    for i, frame in enumerate(frames):
        check_image(frame, f"frames[{i}]")
        if frame.shape != first.shape or frame.dtype != first.dtype:
            raise ValueError(
                f"frames must share shape and dtype; frames[{i}] is {frame.shape} {frame.dtype}, "
                f"frames[0] is {first.shape} {first.dtype}"
            )
    chosen = frames[::step][: max_frames or None]
    total = np.zeros(first.shape, np.float64)
    for i, frame in enumerate(chosen):
        progress(i / len(chosen), "averaging frames")
        np.add(total, frame, out=total)
    total /= len(chosen)
    progress(1.0, "averaging frames")
    if first.dtype.kind == "f":
        return total.astype(first.dtype)
    return clip_to_dtype(total, first.dtype)


def _mean_of_video(video: Path, max_frames: int, step: int, progress: Progress) -> np.ndarray:
    import cv2

    if not video.is_file():
        raise ValueError(f"video file not found: {video}")
    capture = cv2.VideoCapture(str(video))
    try:
        if not capture.isOpened():
            raise ValueError(f"video could not be opened (not a readable video file): {video}")
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))  # an estimate; 0 when unknown
        expected = -(-count // step) if count > 0 else 0
        if max_frames:
            expected = min(expected, max_frames) if expected else max_frames
        total: np.ndarray | None = None
        used = 0
        index = 0
        while not max_frames or used < max_frames:
            if not capture.grab():
                break
            if index % step == 0:
                ok, frame = capture.retrieve()
                if not ok:
                    break
                if total is None:
                    total = np.zeros(frame.shape, np.float64)
                elif frame.shape != total.shape:
                    raise ValueError(
                        f"video frames change size ({total.shape} then {frame.shape}): {video}"
                    )
                cv2.accumulate(frame, total)
                used += 1
                if expected:
                    progress(min(used / expected, 1.0), "averaging video frames")
                else:
                    progress.check()
            index += 1
    finally:
        capture.release()
    if total is None:
        raise ValueError(f"video has no frames that could be decoded: {video}")
    total /= used
    np.rint(total, out=total)
    mean = np.clip(total, 0, 255).astype(np.uint8)
    if mean.ndim == 2:
        return cv2.cvtColor(mean, cv2.COLOR_GRAY2RGB)
    return cv2.cvtColor(mean, cv2.COLOR_BGR2RGB)
