"""The command line's one error boundary (``imgstudio.cli.main``), run in this process.

Bad input: one line on standard error, exit status 2. A genuine bug: its traceback in a crash
log, one line naming the log, exit status 70. Ctrl-C: exit status 130, SIGTERM: 143.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from imgstudio import cli
from imgstudio.core import crashlog, registry
from imgstudio.core.errors import MissingExtraError, ModelNotFoundError
from imgstudio.core.io import load_image, save_image
from imgstudio.core.io_medical import ImageIOError
from imgstudio.core.limits import ImageTooLargeError
from imgstudio.core.project import ProjectError
from imgstudio.core.recipe import Recipe, RecipeError, RecipeStep, save_recipe


@pytest.fixture(autouse=True)
def logs(tmp_path, monkeypatch):
    """This test's crash-log folder."""
    monkeypatch.setenv("IMGSTUDIO_LOG_DIR", str(tmp_path / "logs"))
    return tmp_path / "logs"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def boom(exc: BaseException):
    def command(args):
        raise exc
    return command


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


# -- bad input: exit 2, one line ----------------------------------------------------------------

@pytest.mark.parametrize("exc, message", [
    (ValueError("sigma must be >= 0; got -1"), "sigma must be >= 0; got -1"),
    (TypeError("mask must be a labels layer; got image"), "mask must be a labels layer"),
    (KeyError("unknown operation 'basic.nope'"), "unknown operation 'basic.nope'"),
    (FileNotFoundError(2, "No such file or directory", "a.png"), "No such file or directory: 'a.png'"),
    (ImageIOError("cannot read a.png: truncated JPEG"), "cannot read a.png: truncated JPEG"),
    (ImageTooLargeError("b.tif: 50356261×53 pixels exceeds the limit of 400 MP"), "b.tif:"),
    (ProjectError("c.imgs: member layer1.npy declares 3.6 GB"), "c.imgs: member layer1.npy"),
    (RecipeError("r.json: step 2 (basic.gamma): gamma must be a number"), "r.json: step 2"),
    (ModelNotFoundError("model 'esrgan' is not installed", name="esrgan", command="imgstudio "
                        "models import FILE --name esrgan"), "model 'esrgan' is not installed"),
    (MissingExtraError("segment.semantic needs torch", command="pip install imgstudio[dl]"),
     "segment.semantic needs torch"),
    (cli.UsageError("--workers must be >= 1; got 0"), "--workers must be >= 1; got 0"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, monkeypatch, logs, exc, message):
    monkeypatch.setattr(cli, "_cmd_ops", boom(exc))
    code, _, err = run(capsys, "ops")
    assert code == 2
    line = one_line(err)
    assert line.startswith("imgstudio: error: ") and message in line, line
    assert not logs.exists(), "bad input is no crash"


def test_a_message_of_several_lines_is_reported_on_one(capsys, monkeypatch):
    monkeypatch.setattr(cli, "_cmd_ops", boom(ValueError("cannot read x.png:\n  bad header\n")))
    code, _, err = run(capsys, "ops")
    assert code == 2 and one_line(err) == "imgstudio: error: cannot read x.png: bad header"


def test_real_bad_inputs_exit_2_naming_the_file_or_parameter(capsys, tmp_path, astronaut_small):
    save_image(tmp_path / "a.png", astronaut_small)
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    (tmp_path / "r.json").write_text(json.dumps({"format": "imgstudio-recipe", "version": 2,
                                                 "sources": ["p"], "steps": 3}))
    (tmp_path / "in").mkdir()
    cases = [
        (["run", "basic.gamma", str(tmp_path / "a.png"), "-o", str(tmp_path / "o.png"),
          "-p", "gamma=-3"], "gamma"),
        (["run", "basic.invert", str(tmp_path / "broken.png"), "-o", str(tmp_path / "o.png")],
         "broken.png"),
        (["run", "basic.invert", str(tmp_path / "none.png"), "-o", str(tmp_path / "o.png")],
         "none.png"),
        (["run", "basic.invertt", str(tmp_path / "a.png")], "basic.invertt"),
        (["batch", str(tmp_path / "r.json"), str(tmp_path / "in"), str(tmp_path / "out")],
         "r.json"),
        (["ops", "--no-such-flag"], "--no-such-flag"),
    ]
    for argv, named in cases:
        code, _, err = run(capsys, *argv)
        assert code == 2, (argv, err)
        assert named in one_line(err), (argv, err)
    assert not (tmp_path / "o.png").exists()


def test_a_closed_standard_output_ends_quietly(capsys, monkeypatch):
    class ClosedPipe:
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr("sys.stdout", ClosedPipe())
    assert cli.main(["ops"]) == 1
    assert capsys.readouterr().err == ""


# -- a genuine bug: exit 70, traceback in the log ----------------------------------------------

def _raise_zero_division(args):
    return 1 // 0


def log_of(err: str):
    line = one_line(err)
    assert line.endswith(")") and "(details in " in line, line
    return line, line.rsplit("(details in ", 1)[1][:-1]


def test_a_bug_in_a_command_is_logged_with_its_traceback(capsys, monkeypatch, logs):
    monkeypatch.setattr(cli, "_cmd_ops", _raise_zero_division)
    code, _, err = run(capsys, "ops", "--json")
    assert code == cli.EXIT_SOFTWARE == 70
    line, path = log_of(err)
    assert line.startswith("imgstudio: internal error: ZeroDivisionError: "
                           "integer division or modulo by zero (details in ")
    assert os.path.dirname(path) == str(logs)
    text = Path(path).read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in text and "_raise_zero_division" in text
    assert "command: imgstudio ops --json" in text
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"


def test_a_bug_in_an_operation_is_logged(capsys, monkeypatch, tmp_path, astronaut_small):
    spec = registry.get("basic.invert")

    def broken_invert(image):
        raise RuntimeError("the invert kernel lost its lookup table")

    monkeypatch.setitem(registry.all_specs(), "basic.invert",
                        dataclasses.replace(spec, func=broken_invert))
    save_image(tmp_path / "a.png", astronaut_small)
    code, _, err = run(capsys, "run", "basic.invert", str(tmp_path / "a.png"),
                       "-o", str(tmp_path / "o.png"))
    assert code == 70
    line, path = log_of(err)
    assert "internal error: RuntimeError: the invert kernel lost its lookup table" in line
    assert "broken_invert" in Path(path).read_text(encoding="utf-8")
    assert not (tmp_path / "o.png").exists()


def test_a_third_party_exception_counts_as_ours(capsys, monkeypatch):
    import cv2

    monkeypatch.setattr(cli, "_cmd_ops", boom(cv2.error("OpenCV(4): error: (-215) in\n f")))
    code, _, err = run(capsys, "ops")
    assert code == 70
    line, _ = log_of(err)
    assert "internal error: cv2.error: OpenCV(4): error: (-215) in f (details in" in line


def test_the_log_folder_defaults_to_the_users_state_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("IMGSTUDIO_LOG_DIR")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert crashlog.log_dir() == tmp_path / "state" / "imgstudio" / "logs"
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert crashlog.log_dir() == tmp_path / "home" / ".local" / "state" / "imgstudio" / "logs"


def test_an_unwritable_log_folder_falls_back_to_the_temporary_folder(capsys, monkeypatch,
                                                                      tmp_path):
    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setenv("IMGSTUDIO_LOG_DIR", str(tmp_path / "file" / "logs"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    monkeypatch.setattr(cli, "_cmd_ops", _raise_zero_division)
    code, _, err = run(capsys, "ops")
    assert code == 70
    _, path = log_of(err)
    assert path.startswith(str(tmp_path / "tmp" / "imgstudio-logs-"))
    assert "_raise_zero_division" in Path(path).read_text(encoding="utf-8")


def test_without_any_log_the_traceback_goes_to_standard_error(capsys, monkeypatch, tmp_path):
    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setenv("IMGSTUDIO_LOG_DIR", str(tmp_path / "file" / "logs"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "file"))
    monkeypatch.setattr(cli, "_cmd_ops", _raise_zero_division)
    code, _, err = run(capsys, "ops")
    assert code == 70
    assert "Traceback (most recent call last)" in err and "_raise_zero_division" in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("imgstudio: internal error: ZeroDivisionError: ")
    assert "cannot write a crash log" in last and "traceback above" in last


def test_only_the_newest_logs_are_kept(logs):
    for i in range(crashlog.KEEP + 5):
        path = crashlog.write_crash_log(ValueError(f"number {i}"))
        os.utime(path, (1_000_000 + i, 1_000_000 + i))
    kept = sorted(logs.iterdir())
    assert len(kept) == crashlog.KEEP
    texts = "".join(p.read_text() for p in kept)
    assert "number 4\n" not in texts and f"number {crashlog.KEEP + 4}" in texts


# -- batch: a bug in one file is logged, the others go on --------------------------------------

@pytest.mark.parametrize("workers", [1, 2])
def test_a_bug_on_some_files_of_a_batch_is_logged_once(capsys, monkeypatch, tmp_path,
                                                       astronaut_small, workers):
    import multiprocessing

    if workers > 1 and multiprocessing.get_start_method() != "fork":
        pytest.skip("the patched function reaches worker processes only when they fork")
    src = tmp_path / "in"
    src.mkdir()
    for name in ("a.png", "b.png", "c.png"):
        save_image(src / name, astronaut_small)
    save_recipe(tmp_path / "r.json", Recipe(("photo",), (
        RecipeStep("basic.invert", {}, {"image": "photo"}, "photo"),)))
    real = cli._batch_one

    def sometimes_broken(recipe, path, out_dir, named):
        if not path.endswith("b.png"):
            return real(recipe, path, out_dir, named)
        raise AssertionError("b.png hit the impossible branch")

    monkeypatch.setattr(cli, "_batch_one", sometimes_broken)  # workers fork after this
    code, out, err = run(capsys, "batch", str(tmp_path / "r.json"), str(src),
                         str(tmp_path / "out"), "--workers", str(workers))
    assert code == 1
    assert "3 files in " in out and ": 2 done, 1 failed" in out
    assert sorted(os.listdir(tmp_path / "out")) == ["a.png", "c.png"]
    failed = [ln for ln in err.splitlines() if ln.startswith("failed: b.png: ")]
    assert len(failed) == 1 and "internal error: AssertionError: b.png hit the impossible " \
                                "branch (details in " in failed[0]
    path = failed[0].rsplit("(details in ", 1)[1][:-1]
    text = Path(path).read_text(encoding="utf-8")
    assert "sometimes_broken" in text and "context: batch: " in text  # the worker's traceback
    assert np.array_equal(load_image(tmp_path / "out" / "a.png"), 255 - astronaut_small)


# -- signals ------------------------------------------------------------------------------------

def test_ctrl_c_in_a_command_exits_130_without_a_traceback(capsys, monkeypatch):
    monkeypatch.setattr(cli, "_cmd_ops", boom(KeyboardInterrupt()))
    code, out, err = run(capsys, "ops")
    assert code == 130 and one_line(err) == "imgstudio: interrupted" and out == ""


def test_ctrl_c_in_the_editor_exits_130(capsys, monkeypatch):
    monkeypatch.setattr(cli, "_cmd_editor", boom(KeyboardInterrupt()))
    code, _, err = run(capsys)
    assert code == 130 and one_line(err) == "imgstudio: interrupted"


def test_sigterm_in_a_headless_command_exits_143(capsys, monkeypatch):
    def terminated(args):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(10)  # the handler interrupts this at once
        raise AssertionError("SIGTERM did not stop the command")

    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    monkeypatch.setattr(cli, "_cmd_ops", terminated)
    code, _, err = run(capsys, "ops")
    assert code == 143 and one_line(err) == "imgstudio: terminated"
    after = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    assert after == before, "main restores the handlers"


def test_a_second_stop_signal_is_ignored_while_the_first_unwinds(capsys, monkeypatch):
    def interrupted_twice(args):
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(10)
        finally:  # clean-up, interrupted by nothing
            os.kill(os.getpid(), signal.SIGTERM)
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)

    monkeypatch.setattr(cli, "_cmd_ops", interrupted_twice)
    code, _, err = run(capsys, "ops")
    assert code == 130 and one_line(err) == "imgstudio: interrupted"
