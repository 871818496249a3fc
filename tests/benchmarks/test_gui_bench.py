"""Editor benchmarks: cold start to first paint, UI responsiveness while a job runs, cancel.

Each prints the measured numbers beside a baseline from the same run and the issue's target.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.benchmarks._timing import report, target

BARE_WINDOW = r"""
import sys, time
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication(sys.argv[:1])
w = QMainWindow(); w.resize(1280, 800); w.show()
def done():
    print(f"first-paint {time.time():.6f}", file=sys.stderr, flush=True)
    w.grab().save(sys.argv[1]); app.quit()
QTimer.singleShot(0, done)
app.exec()
"""


def _first_paint(cmd: list[str], env: dict) -> float:
    """Seconds from starting ``cmd`` to the first paint it reports on stderr."""
    t0 = time.time()
    proc = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env, timeout=300)
    stamps = [float(line.split()[1]) for line in proc.stderr.splitlines()
              if line.startswith("first-paint ")]
    assert stamps, proc.stderr
    return stamps[0] - t0


@pytest.fixture(scope="module")
def big_jpeg(tmp_path_factory):
    """A 24 MP (4000×6000) photo-like JPEG: smooth gradients plus texture."""
    from imgstudio.core.io import save_image

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:4000, 0:6000].astype(np.float32)
    base = np.stack([xx / 6000, yy / 4000, (xx + yy) / 10000], axis=-1) * 200
    image = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
    path = tmp_path_factory.mktemp("big") / "big.jpg"
    save_image(path, image)
    return path


def test_cold_start_to_first_paint_vs_bare_qmainwindow(big_jpeg, tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path / "cfg"),
               IMGSTUDIO_TRACE_STARTUP="1")
    # A user's install has its bytecode cached: let the warm-up runs write it.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    bare = [sys.executable, "-c", BARE_WINDOW, str(tmp_path / "bare.png")]
    ours = [sys.executable, "-m", "imgstudio", "--screenshot", str(tmp_path / "ours.png"),
            str(big_jpeg)]
    _first_paint(bare, env)  # warm the file cache for both
    _first_paint(ours, env)
    bare_t = sorted(_first_paint(bare, env) for _ in range(3))[1]
    ours_t = sorted(_first_paint(ours, env) for _ in range(3))[1]
    report("cold start: process start to first paint (24 MP JPEG)", [
        ("what", "median", "vs bare", "target"),
        ("bare PySide6 QMainWindow", f"{bare_t * 1e3:.0f} ms", "1.00x", ""),
        ("imgstudio --screenshot big.jpg", f"{ours_t * 1e3:.0f} ms",
         f"{ours_t / bare_t:.2f}x", "<= 5x"),
    ])
    target("cold start to first paint, 24 MP JPEG, vs a bare QMainWindow", ours_t / bare_t, 5.0)
    assert ours_t / bare_t < 20


def test_event_loop_stays_responsive_during_a_5s_job_and_cancel_is_fast(qtbot):
    import cv2

    from imgstudio.gui.workers import JobManager

    image = np.random.default_rng(0).integers(0, 256, (2000, 3000, 3), dtype=np.uint8)

    def heavy(progress, seconds=5.0):
        t_end = time.perf_counter() + seconds
        n = 0
        while time.perf_counter() < t_end:
            cv2.GaussianBlur(image, (0, 0), 3.0)
            n += 1
            progress(min(1.0, 1 - (t_end - time.perf_counter()) / seconds), f"pass {n}")
        return n

    jobs = JobManager()
    gaps: list[float] = []
    last = [time.perf_counter()]

    def tick():
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    from PySide6.QtCore import QTimer

    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(tick)
    timer.start()
    job = jobs.start(heavy, "5 s blur loop")
    with qtbot.waitSignal(job.signals.finished, timeout=30000):
        pass
    timer.stop()
    stall = max(gaps[1:]) if len(gaps) > 1 else float("nan")

    job2 = jobs.start(heavy, "to cancel")
    qtbot.wait(500)
    t0 = time.perf_counter()
    with qtbot.waitSignal(job2.signals.finished, timeout=30000):
        job2.cancel()
    cancel_latency = time.perf_counter() - t0
    jobs.wait()
    report("responsiveness while a 5 s job runs in a worker", [
        ("what", "measured", "baseline", "target"),
        ("longest event-loop stall", f"{stall * 1e3:.1f} ms", "5 ms timer", "<= 50 ms"),
        ("cancel -> worker stopped", f"{cancel_latency * 1e3:.0f} ms", "", "<= 300 ms"),
    ])
    target("longest event-loop stall while a job runs", stall * 1e3, 50.0, "ms", digits=1)
    target("cancel -> worker stopped", cancel_latency * 1e3, 300.0, "ms", digits=0)
    assert stall < 1.0 and cancel_latency < 3.0
