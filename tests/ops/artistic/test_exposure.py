"""artistic.long_exposure (imgstudio.ops.artistic.exposure): the mean of decoded video frames or
of image layers."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import imgstudio.api as api
from imgstudio.core.progress import Cancelled, Progress
from tests.ops.helpers import dtypes, kinds

# -- long exposure ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def video_file(tmp_path_factory):
    """A 12-frame 32×48 MJPG .avi of a bright square moving over a gradient."""
    path = tmp_path_factory.mktemp("video") / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (48, 32))
    assert writer.isOpened()
    ramp = np.linspace(0, 180, 48, dtype=np.uint8)
    for i in range(12):
        frame = np.dstack([np.tile(ramp, (32, 1)), np.full((32, 48), 40 + 10 * i, np.uint8),
                           np.tile(ramp[::-1], (32, 1))])  # BGR
        frame[8:20, 3 * i:3 * i + 10] = (30, 220, 250)
        writer.write(np.ascontiguousarray(frame))
    writer.release()
    return path


def decoded_frames(path) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames


def test_long_exposure_of_video_is_the_mean_of_its_decoded_frames(video_file):
    frames = decoded_frames(video_file)
    assert len(frames) == 12
    expected = np.rint(np.mean(np.stack(frames).astype(np.float64), axis=0)).astype(np.uint8)
    out = api.run("artistic.long_exposure", video=video_file)
    assert out.dtype == np.uint8 and out.shape == (32, 48, 3)
    assert np.array_equal(out, expected[..., ::-1])  # RGB


@pytest.mark.parametrize(("step", "max_frames", "used"),
                         [(3, 0, [0, 3, 6, 9]), (1, 5, [0, 1, 2, 3, 4]), (4, 2, [0, 4]),
                          (20, 0, [0])])
def test_long_exposure_of_video_honours_step_and_max_frames(video_file, step, max_frames, used):
    frames = decoded_frames(video_file)
    expected = np.rint(np.mean(np.stack([frames[i] for i in used]).astype(np.float64), axis=0))
    out = api.run("artistic.long_exposure", video=str(video_file), step=step,
                  max_frames=max_frames)
    assert np.array_equal(out, expected.astype(np.uint8)[..., ::-1])


def test_long_exposure_of_video_reports_progress_and_cancels(video_file):
    seen = []
    api.run("artistic.long_exposure", video=video_file, progress=Progress(lambda f, m: seen.append(f)))
    assert len(seen) >= 12 and seen[-1] == 1.0

    def cancel_midway(fraction, message):
        if fraction > 0.4:
            token.cancel()

    token = Progress(cancel_midway)
    with pytest.raises(Cancelled):
        api.run("artistic.long_exposure", video=video_file, progress=token)


@dtypes
@kinds
def test_long_exposure_of_frames_is_their_exact_mean(dtype, kind, make):
    base = make(dtype, kind)
    rng = np.random.default_rng(1)
    frames = [np.roll(base, int(s), axis=1) for s in rng.integers(0, 30, 5)]
    copies = [f.copy() for f in frames]
    mean = np.mean(np.stack(frames).astype(np.float64), axis=0)
    expected = mean.astype(dtype) if dtype == np.float32 else np.rint(mean).astype(dtype)
    out = api.run("artistic.long_exposure", frames)
    assert out.dtype == dtype and np.array_equal(out, expected)
    assert all(np.array_equal(f, c) for f, c in zip(frames, copies, strict=True))


def test_long_exposure_of_frames_honours_step_and_max_frames():
    frames = [np.full((4, 5), v, np.uint16) for v in (0, 100, 200, 300, 400, 500, 600)]
    out = api.run("artistic.long_exposure", frames=frames, step=2, max_frames=3)
    assert np.all(out == 200)  # frames 0, 2, 4 -> mean of 0, 200, 400


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"video": "/nonexistent/clip.avi"}, "video"),
     ({}, "video"),
     ({"video": "clip.avi", "frames": [np.zeros((4, 4), np.uint8)]}, "frames"),
     ({"frames": [np.zeros((4, 4), np.uint8), np.zeros((4, 5), np.uint8)]}, "frames"),
     ({"frames": [np.zeros((4, 4), np.uint8), np.zeros((4, 4), np.uint16)]}, "frames"),
     ({"frames": [np.zeros((4, 4), np.uint8)], "step": 0}, "step")],
)
def test_long_exposure_bad_params_name_the_input(kwargs, name):
    with pytest.raises(ValueError, match=name):
        api.run("artistic.long_exposure", **kwargs)


def test_long_exposure_rejects_a_file_that_is_not_a_video(tmp_path):
    path = tmp_path / "notes.avi"
    path.write_text("not a video")
    with pytest.raises(ValueError, match="video"):
        api.run("artistic.long_exposure", video=path)
