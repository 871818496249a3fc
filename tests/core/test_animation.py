"""Frame sequences to GIF / MP4 / numbered files, and point sets as text (imgstudio.core.animation)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image as PILImage

from imgstudio.core.animation import (
    CodecUnavailableError,
    frame_names,
    load_points_text,
    ping_pong,
    save_frames,
    save_gif,
    save_mp4,
    save_points_text,
    to_rgb8,
)
from imgstudio.core.io import load_image
from imgstudio.core.progress import Cancelled, Progress


def ramp_frames(n: int = 4, dtype=np.uint8) -> list[np.ndarray]:
    """``n`` distinct 40×64 RGB frames: a bright bar moving right."""
    frames = []
    for k in range(n):
        frame = np.zeros((40, 64, 3), np.float32)
        frame[:, 10 * k:10 * k + 12] = (1.0, 0.5, 0.25)
        top = {np.uint8: 255, np.uint16: 65535, np.float32: 1.0}[dtype]
        frames.append((frame * top).astype(dtype))
    return frames


def hidden(folder) -> list:
    return [p for p in folder.iterdir() if p.name.startswith(".")]


def test_ping_pong_does_not_repeat_the_ends():
    assert ping_pong([1, 2, 3]) == [1, 2, 3, 2]
    assert ping_pong([1, 2]) == [1, 2]


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_to_rgb8_scales_each_dtype_to_8_bits(dtype):
    frame = ramp_frames(1, dtype)[0]
    out = to_rgb8(frame)
    assert out.dtype == np.uint8 and out.shape == (40, 64, 3)
    top = {np.uint8: 255.0, np.uint16: 65535.0, np.float32: 1.0}[dtype]
    assert np.array_equal(out, np.rint(frame.astype(np.float64) * (255.0 / top)))
    assert tuple(out[0, 5])[0] == 255


def test_to_rgb8_replicates_gray_and_drops_alpha():
    gray = np.full((4, 5), 7, np.uint8)
    assert np.array_equal(to_rgb8(gray), np.full((4, 5, 3), 7, np.uint8))
    rgba = np.zeros((4, 5, 4), np.uint8)
    rgba[..., 3] = 9
    assert to_rgb8(rgba).shape == (4, 5, 3) and to_rgb8(rgba).max() == 0


def test_gif_has_one_frame_per_image_and_the_duration_of_the_rate(tmp_path):
    path = tmp_path / "a.gif"
    assert save_gif(path, ramp_frames(4), fps=5) == 4
    with PILImage.open(path) as gif:
        assert gif.n_frames == 4 and gif.size == (64, 40)
        assert gif.info["duration"] == 200 and gif.info["loop"] == 0
        gif.seek(2)
        rgb = np.asarray(gif.convert("RGB"))
    assert np.abs(rgb.astype(int) - ramp_frames(4)[2]).max() <= 8  # palette rounding
    assert not hidden(tmp_path)


def test_gif_ping_pong_plays_back(tmp_path):
    assert save_gif(tmp_path / "p.gif", ramp_frames(4), pingpong=True) == 6
    with PILImage.open(tmp_path / "p.gif") as gif:
        assert gif.n_frames == 6


def test_mp4_holds_every_frame(tmp_path):
    path = tmp_path / "a.mp4"
    assert save_mp4(path, ramp_frames(5), fps=12) == 5
    video = cv2.VideoCapture(str(path))
    try:
        assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == 5
        assert video.get(cv2.CAP_PROP_FPS) == pytest.approx(12)
        ok, bgr = video.read()
    finally:
        video.release()
    assert ok and np.abs(bgr[..., ::-1].astype(int) - ramp_frames(5)[0]).mean() < 6


def test_mp4_without_the_codec_says_so_and_writes_nothing(tmp_path, monkeypatch):
    class Closed:
        def __init__(self, *args):
            pass

        def isOpened(self):  # noqa: N802 - OpenCV's name
            return False

    monkeypatch.setattr(cv2, "VideoWriter", Closed)
    with pytest.raises(CodecUnavailableError, match="mp4v"):
        save_mp4(tmp_path / "a.mp4", ramp_frames(2))
    assert list(tmp_path.iterdir()) == []


def test_frames_are_numbered_files_that_read_back_exactly(tmp_path):
    frames = ramp_frames(3, np.uint16)
    paths = save_frames(tmp_path / "out", frames)
    assert [p.name for p in paths] == ["frame_000.png", "frame_001.png", "frame_002.png"]
    for path, frame in zip(paths, frames, strict=True):
        assert np.array_equal(load_image(path), frame)
    assert frame_names(1001)[-1] == "frame_1000.png"


def test_a_cancelled_gif_leaves_the_old_file_untouched(tmp_path):
    path = tmp_path / "a.gif"
    path.write_bytes(b"old")
    progress = Progress()
    progress.cancel()
    with pytest.raises(Cancelled):
        save_gif(path, ramp_frames(3), progress=progress)
    assert path.read_bytes() == b"old" and not hidden(tmp_path)


def test_bad_frames_raise_value_error(tmp_path):
    with pytest.raises(ValueError, match="frames must not be empty"):
        save_gif(tmp_path / "a.gif", [])
    with pytest.raises(ValueError, match="same shape"):
        save_gif(tmp_path / "a.gif", [np.zeros((4, 4), np.uint8), np.zeros((5, 4), np.uint8)])
    with pytest.raises(ValueError, match="fps"):
        save_mp4(tmp_path / "a.mp4", ramp_frames(2), fps=0)
    with pytest.raises(ValueError, match="uint8, uint16 or float32"):
        to_rgb8(np.zeros((4, 4), np.int64))


def test_points_round_trip_as_x_y_lines(tmp_path):
    points = np.array([[1.5, 2.0], [100.25, 0.0], [3.0, 4.0]])
    path = tmp_path / "p.txt"
    save_points_text(path, points)
    assert path.read_text().splitlines() == ["1.5 2", "100.25 0", "3 4"]
    assert np.array_equal(load_points_text(path), points)


def test_points_text_accepts_comments_and_commas(tmp_path):
    path = tmp_path / "p.txt"
    path.write_text("# landmarks\n1, 2\n\n3 4  # nose\n")
    assert np.array_equal(load_points_text(path), [[1, 2], [3, 4]])


def test_points_text_names_the_bad_line(tmp_path):
    path = tmp_path / "p.txt"
    path.write_text("1 2\n3\n")
    with pytest.raises(ValueError, match="line 2"):
        load_points_text(path)
