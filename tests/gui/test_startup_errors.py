"""Files given at start-up that cannot be opened: the editor starts and shows the message;
`--screenshot` still saves the window; a bug is logged and the message says where."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import Future

import numpy as np
import pytest

from imgstudio.core.io import load_image, save_image
from imgstudio.gui.app import open_startup_files
from tests.core.hostile_projects import (
    Member,
    deflated,
    image_layer,
    npy,
    npy_header,
    small_project,
    write_zip,
)

GRAY = np.arange(20, dtype=np.uint8).reshape(4, 5)


def _encrypted(path):  # the campaign's RuntimeError
    return small_project(path, members=[Member("layers/0000.npy", npy(GRAY), flags=1)])


def _view_list(path):  # the campaign's TypeError
    return small_project(path, view=[1])


def _terabyte(path):  # the campaign's MemoryError
    return small_project(path, members=[deflated("layers/0000.npy", npy_header((2**20, 2**20)))])


def _duplicate_ids(path):  # the campaign's ValueError from the document
    return small_project(path, layers=[image_layer(0), image_layer(1, id="layer-0")],
                         members=[deflated("layers/0000.npy", npy(GRAY)),
                                  deflated("layers/0001.npy", npy(GRAY))])


def _deep(path):  # the campaign's RecursionError
    text = (b'{"format": "imgstudio-project", "version": 2, "view": {"a": ' + b"[" * 100_000
            + b"]" * 100_000 + b"}}")
    return write_zip(path, [deflated("manifest.json", text)])


@pytest.mark.parametrize("build", [_encrypted, _view_list, _terabyte, _duplicate_ids, _deep])
def test_a_hostile_project_given_at_start_up_is_a_message_not_a_traceback(
        window, tmp_path, build):
    path = build(tmp_path / "hostile.imgs")
    errors = open_startup_files(window, [str(path)])
    assert len(errors) == 1 and not errors[0].internal
    assert errors[0].message.startswith(f"cannot open project {path}: ")
    assert window.message_bar.current_level() == "error"
    assert window.message_bar.current_text() == errors[0].message
    assert len(window.workspace.document) == 0  # the editor is up, with nothing open


def test_a_missing_file_is_shown_and_the_others_still_open(window, tmp_path):
    good = tmp_path / "good.png"
    save_image(good, np.full((30, 40, 3), 200, np.uint8))
    missing = tmp_path / "missing.png"
    errors = open_startup_files(window, [str(good), str(missing)])
    assert [e.message for e in errors] == [f"cannot read image {missing}: no such file"]
    assert window.message_bar.current_text() == errors[0].message
    assert [layer.name for layer in window.workspace.document] == ["good"]


def test_the_first_file_failing_on_the_loader_thread_is_reported(window, tmp_path):
    path = _encrypted(tmp_path / "bad.imgs")
    from imgstudio.core.project import load_project

    opening: Future = Future()
    try:
        load_project(path)
    except ValueError as exc:
        opening.set_exception(exc)
    errors = open_startup_files(window, [str(path)], opening)
    assert [e.message for e in errors] == [window.message_bar.current_text()]
    assert "is encrypted" in errors[0].message


def test_an_internal_error_is_logged_and_the_message_names_the_log(
        window, tmp_path, monkeypatch):
    monkeypatch.setenv("IMGSTUDIO_LOG_DIR", str(tmp_path / "logs"))

    def broken(path, **kwargs):
        raise RuntimeError("the reader has a bug")

    monkeypatch.setattr("imgstudio.core.workspace.Workspace.open", broken)
    path = tmp_path / "any.png"
    errors = open_startup_files(window, [str(path)])
    assert len(errors) == 1 and errors[0].internal
    logs = list((tmp_path / "logs").glob("*.log"))
    assert len(logs) == 1
    assert errors[0].message == (f"cannot open {path}: internal error (RuntimeError: the reader "
                                 f"has a bug); the details are in {logs[0]}")
    text = logs[0].read_text()
    assert "Traceback" in text and "the reader has a bug" in text and str(path) in text
    assert window.message_bar.current_text() == errors[0].message


def test_screenshot_with_bad_files_saves_the_window_and_exits_2(tmp_path):
    project = _encrypted(tmp_path / "bad.imgs")
    image = tmp_path / "bad.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(50))
    out = tmp_path / "shot.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path / "cfg"),
               IMGSTUDIO_LOG_DIR=str(tmp_path / "logs"))
    proc = subprocess.run([sys.executable, "-m", "imgstudio", "--screenshot", str(out),
                           str(project), str(image)],
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("imgstudio: error:")]
    assert len(errors) == 2
    assert errors[0] == (f"imgstudio: error: cannot open project {project}: layer 0 "
                         "('image 0'): the member 'layers/0000.npy' is encrypted")
    assert errors[1].startswith(f"imgstudio: error: cannot read image {image}: ")
    shot = load_image(out)
    assert shot.shape[0] > 400 and shot.shape[1] > 600
    assert not (tmp_path / "logs").exists()  # bad input is no bug: no crash log
