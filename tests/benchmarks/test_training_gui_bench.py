"""Training in the editor: how long the event loop goes without running while a training runs
from the Training dock (live plot, preview, per-batch progress in the Jobs dock).

A 5 ms ``QTimer`` heartbeat on the UI thread records the gaps between its ticks
(:class:`tests.gui.panels._training_ops.Heartbeat`). The longest gap is the stall a user
feels; the "on a CPU" figure counts only the part of each gap the process was running (what
our threads did: UI work, or a worker holding the GIL; an upper bound, since a worker
computing in parallel counts too), so that a machine busy with other work does not pass for
a stall of ours; "UI work" is the UI thread's own CPU time in one gap. An idle editor before
and after the trainings gives this machine's floor. Measured for each real training op installed
(``train.vae`` with torch, ``train.rbm`` with scikit-learn) for a few epochs on the digits,
after a first short training that imports torch and scikit-learn (reported separately: the
first training of a session imports torch on the worker, and that import holds the GIL).
The target is 50 ms; the assertion is generous (1 s), as in the other benchmarks.
"""

from __future__ import annotations

import os
import statistics

import pytest
from PySide6.QtCore import QSettings

import imgstudio.api as api
from tests.benchmarks._timing import report, target
from tests.gui.panels._training_ops import TRAIN_ID, Heartbeat, registered

TARGET_S = 0.050
#: The longest gap after each op's worker finished (the result shown in the docks), by op.
RESULT_SHOWN: dict[str, float] = {}
#: Settings of each measured run: a few epochs on the digits, a few seconds each.
REAL_RUNS = {
    "train.vae": {"epochs": 3, "limit": 768},
    "train.rbm": {"epochs": 3, "n_components": 64},
    "train.gan": {"epochs": 2, "limit": 512},
}


@pytest.fixture
def window(qtbot, tmp_path, models):
    from imgstudio.gui.main_window import MainWindow

    with registered():
        win = MainWindow(settings=QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat))
        win.files.ask_unsaved = lambda: "discard"
        qtbot.addWidget(win)
        win.resize(1500, 950)
        win.show()
        qtbot.waitExposed(win)
        yield win
        win.jobs.cancel_all()
        win.jobs.wait()
        win.force_close()


def _train(qtbot, window, op_id: str, values: dict) -> tuple[Heartbeat, float, int]:
    """Run ``op_id`` from the Training dock with ``values``; the heartbeat while the worker
    ran (the result's display after it, in the Results dock too, is left out), seconds,
    epochs."""
    panel = window.show_training(op_id)
    qtbot.waitUntil(lambda: panel.plot is not None, timeout=10000)
    qtbot.wait(100)  # let the dock settle
    panel.form.set_values(values)
    heartbeat = Heartbeat()
    heartbeat.start()
    job = panel.start()
    assert job is not None, panel.status_label.text()
    qtbot.waitUntil(lambda: not panel.running, timeout=300000)
    heartbeat.stop()
    seconds = job.elapsed
    end = job.started_at + job.elapsed
    after = max((g for g, t in zip(heartbeat.gaps, heartbeat.times, strict=True) if t > end),
                default=0.0)
    RESULT_SHOWN[op_id] = after  # the one gap of showing the result, reported apart
    heartbeat = heartbeat.until(end)
    assert panel.trained is not None, panel.status_label.text()
    epochs = len(panel.history.get("epoch", []))
    assert epochs == values["epochs"]
    return heartbeat, seconds, epochs


def _row(what: str, hb: Heartbeat, seconds: float, epochs: int) -> tuple[str, str, str, str]:
    p99 = statistics.quantiles(hb.gaps[1:], n=100)[98] if len(hb.gaps) > 20 else float("nan")
    return (f"{what}: {epochs} epochs in {seconds:.1f} s",
            f"{hb.longest * 1e3:.0f} ms (p99 {p99 * 1e3:.0f} ms)",
            f"{hb.busiest * 1e3:.0f} / {hb.ui_busiest * 1e3:.0f} ms", "<= 50 ms")


def _idle(qtbot, seconds: float = 2.0) -> tuple[Heartbeat, float, int]:
    """The baseline: the same window with nothing running, ``seconds`` long."""
    heartbeat = Heartbeat()
    heartbeat.start()
    qtbot.wait(int(seconds * 1000))
    heartbeat.stop()
    return heartbeat, seconds, 0


def test_event_loop_stalls_while_a_training_runs_in_the_editor(qtbot, window):
    rows = [("training run", "longest gap", "on a CPU / UI work", "target")]
    qtbot.waitUntil(lambda: window.histogram_panel is not None, timeout=10000)
    qtbot.wait(500)  # the window has settled (the Histogram dock is built after first paint)
    idle = _idle(qtbot)
    rows.append(("baseline: the editor idle, no job, 2 s",
                 *_row("", *idle)[1:3], "(this machine's floor)"))
    first = _train(qtbot, window, TRAIN_ID, {"epochs": 2})  # imports torch, sklearn
    rows.append(_row("first training of the session (tiny, imports torch)", *first))
    tiny = _train(qtbot, window, TRAIN_ID, {"epochs": 20})
    rows.append(_row("tiny auto-encoder (torch, test op)", *tiny))
    measured = [("tiny auto-encoder", tiny[0])]
    installed = {s.id for s in api.list_operations()}
    for op_id, values in REAL_RUNS.items():
        if op_id in installed:
            run = _train(qtbot, window, op_id, values)
            rows.append(_row(op_id, *run))
            measured.append((op_id, run[0]))
    rows.append(("showing the result afterwards (Training and Results docks): "
                 + ", ".join(f"{k} {v * 1e3:.0f} ms" for k, v in RESULT_SHOWN.items()),
                 "", "", ""))
    idle_after = _idle(qtbot)
    rows.append(("baseline again, after the trainings, 2 s", *_row("", *idle_after)[1:3],
                 "(this machine's floor)"))
    load = os.getloadavg()[0]
    rows.append((f"machine load {load:.1f} on {os.cpu_count()} CPUs", "", "", ""))
    report("event loop while a training runs in the Training dock (5 ms heartbeat)", rows)
    for what, hb in measured:
        target(f"training in the editor ({what}): longest event-loop stall",
               hb.longest * 1e3, TARGET_S * 1e3, "ms", digits=0)
        target(f"training in the editor ({what}): stall while on a CPU",
               hb.busiest * 1e3, TARGET_S * 1e3, "ms", digits=0)
        target(f"training in the editor ({what}): UI thread's work in one gap",
               hb.ui_busiest * 1e3, TARGET_S * 1e3, "ms", digits=0)
        assert hb.longest < 1.0
