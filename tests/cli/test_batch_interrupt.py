"""Ctrl-C and SIGTERM during ``imgstudio batch``: stop at once, lose nothing, leave nothing.

Each test runs the real command in a new session (its own process group, as a terminal's
foreground job) on 20 images of 256×256 with a recipe of two non-local-means steps (about
0.25 s a file), signals it once its first output exists, and checks: the exit status within
2 s, the summary with the files not processed, every output complete (equal to the recipe
run here on that file), no temporary file in the output folder, and no process left.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import psutil
import pytest

from imgstudio.core.io import load_image, save_image
from imgstudio.core.recipe import Recipe, RecipeStep, save_recipe

N_FILES = 20
EXIT_WITHIN_S = 2.0
RECIPE = Recipe(("photo",), (
    RecipeStep("enhance.nl_means", {"h": 10.0}, {"image": "photo"}, "photo"),
    RecipeStep("enhance.nl_means", {"h": 10.0}, {"image": "photo"}, "photo")))


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    """(recipe path, input folder, {name: input image}) shared by the tests of this module."""
    import skimage.data

    root = tmp_path_factory.mktemp("batch")
    base = skimage.data.astronaut()
    src = root / "in"
    src.mkdir()
    images = {}
    for i in range(N_FILES):
        y, x = divmod(i * 37, 250)
        images[f"img{i:02d}.png"] = np.ascontiguousarray(base[y:y + 256, x:x + 256])
        save_image(src / f"img{i:02d}.png", images[f"img{i:02d}.png"])
    save_recipe(root / "r.json", RECIPE)
    return root / "r.json", src, images


_references: dict[str, np.ndarray] = {}


def reference(name: str, image: np.ndarray) -> np.ndarray:
    """The recipe's result on ``image``, computed here."""
    import imgstudio.api as api

    if name not in _references:
        out = image
        for step in RECIPE.steps:
            out = api.run(step.op_id, out, **step.params)
        _references[name] = out
    return _references[name]


# A command line that replaces the atomic writer by one that writes the file into its temporary
# folder and then hangs there (until a signal ends the process), marking that it got there.
_HANG_IN_WRITE = """
import os, sys, signal, time
import imgstudio.core.atomic as atomic, imgstudio.core.io, imgstudio.core.replay
real = atomic.atomic_write
def hanging(path, write, what="image"):
    def slow(target):
        write(target)
        if {ignore_sigterm}:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        open(os.path.join({marks!r}, str(os.getpid())), "w").close()
        time.sleep(60)
    return real(path, slow, what)
for module in list(sys.modules.values()):
    if getattr(module, "atomic_write", None) is real:
        module.atomic_write = hanging
from imgstudio.cli import main
sys.exit(main(sys.argv[1:]))
"""


def start(job, out, workers: int, *, hang_marks=None, ignore_sigterm=False) -> subprocess.Popen:
    recipe, src, _ = job
    if hang_marks is None:
        head = [sys.executable, "-m", "imgstudio"]
    else:
        code = _HANG_IN_WRITE.format(marks=str(hang_marks), ignore_sigterm=ignore_sigterm)
        head = [sys.executable, "-c", code]
    env = dict(os.environ, OMP_NUM_THREADS="1", IMGSTUDIO_TORCH_THREADS="1",
               IMGSTUDIO_LOG_DIR=str(out.parent / "logs"))
    return subprocess.Popen([*head, "batch", str(recipe), str(src), str(out),
                             "--workers", str(workers)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, start_new_session=True)


def wait_until(condition, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            raise AssertionError(f"batch ended early ({proc.returncode}): {proc.stderr.read()}")
        if time.monotonic() > deadline:
            raise AssertionError("batch did not get there in time")
        time.sleep(0.01)


def outputs(out) -> list[str]:
    return sorted(os.listdir(out)) if out.is_dir() else []


def children(proc: subprocess.Popen) -> list[psutil.Process]:
    return psutil.Process(proc.pid).children(recursive=True)


def stop(proc: subprocess.Popen, sig: int, *, group: bool) -> tuple[float, str, str]:
    """Send ``sig`` (to the whole process group, as a terminal's Ctrl-C does, or to the batch
    alone); returns (seconds until it exited, stdout, stderr)."""
    sent = time.monotonic()
    if group:
        os.killpg(proc.pid, sig)
    else:
        proc.send_signal(sig)
    try:
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    return time.monotonic() - sent, stdout, stderr


def assert_gone(processes: list[psutil.Process]) -> None:
    left = []
    for p in processes:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                left.append(p.pid)
        except psutil.NoSuchProcess:
            pass
    assert not left, f"worker processes left running: {left}"


def summary_counts(stdout: str, why: str) -> tuple[int, int, int]:
    line = next((ln for ln in stdout.splitlines() if ln.startswith(f"{N_FILES} files in ")),
                None)
    assert line is not None and line.endswith(f" not processed ({why})"), stdout
    parts = line.split(": ", 1)[1].split(", ")
    done, failed, left = (int(p.split()[0]) for p in parts)
    assert done + failed + left == N_FILES
    return done, failed, left


def assert_outputs_complete(job, out, done: int, workers: int) -> None:
    _, _, images = job
    names = outputs(out)
    assert all(n in images for n in names), f"not an output of the batch: {names}"
    # the files counted done, and at most one per worker that finished as it was stopped
    assert done <= len(names) <= done + workers
    for name in names:
        assert np.array_equal(load_image(out / name), reference(name, images[name])), name


@pytest.mark.parametrize("workers", [1, 2])
def test_ctrl_c_stops_the_batch_within_2_s_with_a_summary(job, tmp_path, workers):
    out = tmp_path / "out"
    proc = start(job, out, workers)
    wait_until(lambda: any(not n.startswith(".") for n in outputs(out)), proc)
    workers_seen = children(proc)
    assert len(workers_seen) == (0 if workers == 1 else workers)
    elapsed, stdout, stderr = stop(proc, signal.SIGINT, group=True)
    assert proc.returncode == 130, stderr
    assert elapsed < EXIT_WITHIN_S, f"{elapsed:.2f} s to exit"
    assert "Traceback" not in stderr and stderr.rstrip().endswith("imgstudio: interrupted")
    done, failed, left = summary_counts(stdout, "interrupted")
    assert failed == 0 and left >= 1  # done may be 0: the first output, not yet reported
    assert_gone(workers_seen)
    settled = outputs(out)
    time.sleep(0.3)
    assert outputs(out) == settled, "outputs still appear after the batch exited"
    assert_outputs_complete(job, out, done, workers)


def test_sigint_to_the_batch_alone_also_stops_its_workers(job, tmp_path):
    out = tmp_path / "out"
    proc = start(job, out, 2)
    wait_until(lambda: any(not n.startswith(".") for n in outputs(out)), proc)
    workers_seen = children(proc)
    elapsed, stdout, stderr = stop(proc, signal.SIGINT, group=False)
    assert proc.returncode == 130 and elapsed < EXIT_WITHIN_S, (elapsed, stderr)
    done, _, left = summary_counts(stdout, "interrupted")
    assert left >= 1
    assert_gone(workers_seen)
    assert_outputs_complete(job, out, done, 2)


def test_sigterm_stops_the_batch_the_same_way(job, tmp_path):
    out = tmp_path / "out"
    proc = start(job, out, 2)
    wait_until(lambda: any(not n.startswith(".") for n in outputs(out)), proc)
    workers_seen = children(proc)
    elapsed, stdout, stderr = stop(proc, signal.SIGTERM, group=False)
    assert proc.returncode == 143 and elapsed < EXIT_WITHIN_S, (elapsed, stderr)
    assert "Traceback" not in stderr and stderr.rstrip().endswith("imgstudio: terminated")
    done, _, left = summary_counts(stdout, "terminated")
    assert left >= 1
    assert_gone(workers_seen)
    assert_outputs_complete(job, out, done, 2)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_file_abandoned_while_it_is_written_leaves_nothing(job, tmp_path, workers):
    marks = tmp_path / "marks"
    marks.mkdir()
    out = tmp_path / "out"
    proc = start(job, out, workers, hang_marks=marks)
    wait_until(lambda: len(os.listdir(marks)) == workers, proc)  # every worker mid-write
    assert any(n.startswith(".") for n in outputs(out)), "the writer's temporary files"
    workers_seen = children(proc)
    elapsed, stdout, stderr = stop(proc, signal.SIGINT, group=True)
    assert proc.returncode == 130 and elapsed < EXIT_WITHIN_S, (elapsed, stderr)
    assert summary_counts(stdout, "interrupted") == (0, 0, N_FILES)
    assert_gone(workers_seen)
    assert outputs(out) == [], "a partial output or temporary file was left"


def test_a_worker_that_ignores_sigterm_is_killed(job, tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    out = tmp_path / "out"
    proc = start(job, out, 2, hang_marks=marks, ignore_sigterm=True)
    wait_until(lambda: len(os.listdir(marks)) == 2, proc)
    workers_seen = children(proc)
    elapsed, stdout, stderr = stop(proc, signal.SIGINT, group=True)
    assert proc.returncode == 130 and elapsed < EXIT_WITHIN_S, (elapsed, stderr)
    assert summary_counts(stdout, "interrupted") == (0, 0, N_FILES)
    assert_gone(workers_seen)
    assert outputs(out) == [], "the killed workers' temporary files are removed"


@pytest.mark.parametrize("workers", [1, 2])
def test_a_second_signal_while_the_batch_stops_changes_nothing(job, tmp_path, workers):
    # Sent back to back, the second signal lands while the first one unwinds (inside the
    # threading code of the wait, say): it must neither break that nor leave anything.
    out = tmp_path / "out"
    proc = start(job, out, workers)
    wait_until(lambda: any(not n.startswith(".") for n in outputs(out)), proc)
    workers_seen = children(proc)
    sent = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)
    os.killpg(proc.pid, signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=30)
    assert time.monotonic() - sent < EXIT_WITHIN_S
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    assert stderr.rstrip().endswith("imgstudio: interrupted")
    done, _, _ = summary_counts(stdout, "interrupted")
    assert_gone(workers_seen)
    assert_outputs_complete(job, out, done, workers)
