"""Test-only ops for the Training dock and the live sample grid (test_training.py and
tests/benchmarks/test_training_gui_bench.py).

- ``test.train_tiny``: a real training through the framework (:func:`imgstudio.ops._training.fit`
  and :func:`~imgstudio.ops._training.register`): a one-layer linear auto-encoder on the first 64
  scikit-learn digits, with per-epoch reports (loss, a validation loss, a preview grid of
  reconstructions), checkpoints and resume. ``delay`` seconds of sleep per batch make an epoch
  last long enough to be stopped mid-way.
- ``test.sample_tiny``: a generate-style op (no layer input, returns an image) that reports the
  grid made so far after each sample, as the generate ops do.

:func:`registered` declares both and takes them out of the registry again. :class:`Heartbeat`
measures how long the event loop goes without running a 5 ms timer.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import numpy as np

import imgstudio.core.spec as spec_module
from imgstudio.core import registry
from imgstudio.core.editor import Editor, Training
from imgstudio.core.progress import Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import Image, Range, Trained

TRAIN_ID = "test.train_tiny"
SAMPLE_ID = "test.sample_tiny"
ARCHITECTURE = "test-tiny-autoencoder"


def train_tiny(
    *,
    dataset: str = "digits",
    epochs: Annotated[int, Range(1, 1000)] = 3,
    batch_size: Annotated[int, Range(1, 64)] = 16,
    seed: int = 0,
    output: Path | None = None,
    name: str = "my-tiny",
    resume: bool = False,
    delay: Annotated[float, Range(0.0, 1.0)] = 0.0,
    progress: Progress | None = None,
) -> Trained:
    """Train a one-layer linear auto-encoder on 64 digits (a test op).

    Parameters
    ----------
    dataset : str
        A built-in dataset name or a folder of images.
    epochs : int
        Epochs in all (a resumed run continues up to this many).
    batch_size : int
        Images per batch.
    seed : int
        Seed of the weights and the shuffles.
    output : Path, optional
        Weights file; default: ``<name>.pt`` in the user's model folder.
    name : str
        The model store name.
    resume : bool
        Continue from the checkpoint ``<output>.ckpt``.
    delay : float
        Seconds slept after each batch (to make an epoch last).
    progress : Progress
        Progress and cancellation.
    """
    from imgstudio.models import loading
    from imgstudio.ops import _training

    torch = loading.torch("the tiny test training")
    progress = progress or Progress()
    _training.check_name(name)
    data = _training.load_images(dataset, size=8, limit=80)
    x_all = torch.from_numpy(data.x.reshape(len(data.x), -1))
    x, x_val = x_all[:64], x_all[64:]
    gen = _training.seeded(seed, "the tiny test training")
    net = torch.nn.Linear(64, 64)
    opt = torch.optim.SGD(net.parameters(), lr=0.5)
    session = _training.Session("tiny", {"net": net}, {"opt": opt}, {"size": 64}, gen)
    batches = (len(x) + batch_size - 1) // batch_size

    def run_epoch(epoch: int, sub: Progress) -> dict[str, float]:
        order = torch.randperm(len(x), generator=gen)
        total = 0.0
        for b in range(batches):
            idx = order[b * batch_size:(b + 1) * batch_size]
            loss = ((net(x[idx]) - x[idx]) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
            if delay:
                time.sleep(delay)
            sub((b + 1) / batches, f"batch {b + 1}/{batches}, loss {loss.item():.4f}")
        with torch.no_grad():
            val = float(((net(x_val) - x_val) ** 2).mean())
        return {"loss": total / batches, "val_loss": val}

    def preview() -> np.ndarray:
        with torch.no_grad():
            out = net(x_val[:16]).clamp(0, 1).reshape(-1, 8, 8).numpy()
        return _training.to_uint8(_training.grid(out, 4))

    target = Path(output) if output is not None else _training.default_output(name)
    target.parent.mkdir(parents=True, exist_ok=True)  # fit() writes the checkpoint there first
    _training.fit(session, epochs=epochs, checkpoint=_training.checkpoint_path(target),
                  resume=resume, run_epoch=run_epoch, progress=progress, preview=preview)
    return _training.register(session, name=name, output=output, dataset=dataset, seed=seed,
                              metrics={"val_loss": session.history["val_loss"][-1]},
                              architecture=ARCHITECTURE)


def sample_tiny(
    *,
    model: str = "my-tiny",
    count: Annotated[int, Range(1, 256)] = 16,
    delay: Annotated[float, Range(0.0, 1.0)] = 0.0,
    seed: int = 0,
    progress: Progress | None = None,
) -> Image:
    """Make ``count`` 8×8 random pictures into a grid, reporting the grid after each (a test op).

    Parameters
    ----------
    model : str
        The model's store name (shown only; the pictures are random).
    count : int
        Pictures in the grid.
    delay : float
        Seconds spent on each picture (busy numpy work, then sleep).
    seed : int
        Seed of the pictures.
    progress : Progress
        Progress, reports and cancellation.
    """
    progress = progress or Progress()
    rng = np.random.default_rng(seed)
    busy = np.random.default_rng(seed + 1)  # the delay's work: the pictures never depend on it
    cols = int(np.ceil(np.sqrt(count)))
    rows = int(np.ceil(count / cols))
    grid = np.zeros((rows * 9 - 1, cols * 9 - 1, 3), np.uint8)
    for i in range(count):
        started = time.perf_counter()
        tile = rng.integers(40, 256, (8, 8, 3), dtype=np.uint8)
        while time.perf_counter() - started < delay / 2:  # some work that holds the GIL a bit
            np.sort(busy.random(2000))
        time.sleep(delay / 2)
        r, c = divmod(i, cols)
        grid[r * 9:r * 9 + 8, c * 9:c * 9 + 8] = tile
        progress.report("sample", {"index": i, "count": count, "image": grid.copy()})
        progress((i + 1) / count, f"sample {i + 1}/{count} with {model}")
    return grid


def _unregister(op_id: str) -> None:
    spec_module._PENDING.pop(op_id, None)
    spec_module._DECLARED.pop(op_id, None)
    registry.refresh()


@contextlib.contextmanager
def registered() -> Iterator[tuple[str, str]]:
    """Declare ``test.train_tiny`` (its model used by ``test.sample_tiny``) and
    ``test.sample_tiny``; yields their ids and takes them out again."""
    operation(TRAIN_ID, title="Train a tiny auto-encoder", menu="Test",
              editor=Editor(training=Training(uses={"test.no_such_op": "model",
                                                    SAMPLE_ID: "model"})))(train_tiny)
    operation(SAMPLE_ID, title="Tiny samples", menu="Test")(sample_tiny)
    registry.refresh()
    try:
        yield TRAIN_ID, SAMPLE_ID
    finally:
        _unregister(TRAIN_ID)
        _unregister(SAMPLE_ID)


class Heartbeat:
    """A 5 ms ``QTimer`` on the UI thread recording the gaps between its ticks.

    ``longest`` is the largest gap: how long the event loop was kept from running (by the UI
    thread's own work, by a worker holding the GIL, or by the machine giving the process no
    CPU). ``busiest`` is the largest gap counted only while the process was on a CPU (the
    process's CPU time in the gap, at most the gap): a stall of ours — UI work or a worker
    holding the GIL both burn CPU — shows in both; a stall because other programs had the
    CPUs shows only in ``longest``. It overstates ours when a worker computes in parallel.
    ``ui_busiest`` is the UI thread's own CPU time in its longest-working gap (its share of
    the work: layout, painting, signal handling; never a worker's, never waiting).
    """

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.gaps: list[float] = []
        self.busy: list[float] = []
        self.ui: list[float] = []
        self.times: list[float] = []  # perf_counter at each tick (a gap ends there)
        self._last = time.perf_counter()
        self._cpu = time.process_time()
        self._ui = time.thread_time()
        self.timer = QTimer()
        self.timer.setInterval(5)
        self.timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now, cpu, ui = time.perf_counter(), time.process_time(), time.thread_time()
        gap = now - self._last
        self.gaps.append(gap)
        self.busy.append(min(gap, cpu - self._cpu))
        self.ui.append(ui - self._ui)
        self.times.append(now)
        self._last, self._cpu, self._ui = now, cpu, ui

    def start(self) -> None:
        self._last, self._cpu = time.perf_counter(), time.process_time()
        self._ui = time.thread_time()
        self.timer.start()

    def stop(self) -> float:
        self.timer.stop()
        return self.longest

    @property
    def longest(self) -> float:
        return max(self.gaps[1:], default=float("nan"))

    @property
    def busiest(self) -> float:
        return max(self.busy[1:], default=float("nan"))

    @property
    def ui_busiest(self) -> float:
        return max(self.ui[1:], default=float("nan"))

    def until(self, end: float) -> Heartbeat:
        """The heartbeat of the gaps that ended by ``end`` (a perf_counter time)."""
        part = Heartbeat.__new__(Heartbeat)
        keep = [i for i, t in enumerate(self.times) if t <= end]
        part.gaps = [self.gaps[i] for i in keep]
        part.busy = [self.busy[i] for i in keep]
        part.ui = [self.ui[i] for i in keep]
        part.times = [self.times[i] for i in keep]
        return part

    @staticmethod
    def overloaded() -> bool:
        """More runnable processes than CPUs over the last minute (other work here)."""
        return os.getloadavg()[0] > (os.cpu_count() or 1)

    def check(self, limit: float) -> None:
        """Assert the event loop never stalled over ``limit`` seconds; on an overloaded
        machine only the part of each gap the process spent on a CPU counts."""
        assert len(self.gaps) > 20, "the heartbeat hardly ran"
        text = (f"longest event-loop gap {self.longest * 1e3:.0f} ms "
                f"({self.busiest * 1e3:.0f} ms of it on a CPU; load {os.getloadavg()[0]:.1f} "
                f"on {os.cpu_count()} CPUs)")
        assert self.busiest <= limit, text
        if not self.overloaded():
            assert self.longest <= limit, text
