"""Background jobs: a ``QRunnable`` on the global ``QThreadPool`` (superqt's worker shape).

A job is a plain function taking a :class:`~imgstudio.core.progress.Progress` token. The
worker runs it off the UI thread and reports through signals that Qt delivers on the UI
thread (queued across threads). The worker never touches widgets. :class:`JobManager` keeps a
reference to every live job, cancels them cooperatively and waits for them on close.
"""

from __future__ import annotations

import itertools
import time
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from imgstudio.core.progress import Cancelled, Progress

_job_ids = itertools.count(1)


class JobSignals(QObject):
    started = Signal()
    progress = Signal(float, str)
    reported = Signal(str, object)  # Progress.report(name, data): epochs of a training, samples
    returned = Signal(object)
    errored = Signal(object)  # the exception
    cancelled = Signal()
    finished = Signal()


class Job(QRunnable):
    """Runs ``fn(progress)`` on a pool thread. ``title`` is what the Jobs dock shows."""

    def __init__(self, fn: Callable[[Progress], Any], title: str = "Job") -> None:
        super().__init__()
        self.setAutoDelete(False)  # the manager owns it until finished
        self.id = next(_job_ids)
        self.title = title
        self.fn = fn
        self.signals = JobSignals()
        self.progress = Progress(self._report, self.signals.reported.emit)
        self.done = False
        self.started_at: float | None = None
        self.elapsed: float | None = None
        self.error_text = ""

    def _report(self, fraction: float, message: str) -> None:
        self.signals.progress.emit(fraction, message)

    def cancel(self) -> None:
        self.progress.cancel()

    def run(self) -> None:  # runs on a pool thread
        self.started_at = time.perf_counter()
        self.signals.started.emit()
        try:
            self.progress.check()
            result = self.fn(self.progress)
        except Cancelled:
            self.signals.cancelled.emit()
        except Exception as exc:  # reported to the UI, never swallowed
            self.error_text = "".join(traceback.format_exception(exc))
            self.signals.errored.emit(exc)
        else:
            self.signals.returned.emit(result)
        finally:
            self.elapsed = time.perf_counter() - self.started_at
            self.done = True
            self.signals.finished.emit()


class JobManager(QObject):
    """Starts jobs and holds them until they finish. Signals: ``job_added(job)``,
    ``job_finished(job)``."""

    job_added = Signal(object)
    job_finished = Signal(object)

    def __init__(self, parent: QObject | None = None, pool: QThreadPool | None = None) -> None:
        super().__init__(parent)
        self.pool = pool or QThreadPool.globalInstance()
        self._live: dict[int, Job] = {}

    def start(
        self,
        fn: Callable[[Progress], Any],
        title: str,
        *,
        on_result: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        on_cancel: Callable[[], None] | None = None,
        on_progress: Callable[[float, str], None] | None = None,
    ) -> Job:
        job = Job(fn, title)
        if on_result is not None:
            job.signals.returned.connect(on_result)
        if on_error is not None:
            job.signals.errored.connect(on_error)
        if on_cancel is not None:
            job.signals.cancelled.connect(on_cancel)
        if on_progress is not None:
            job.signals.progress.connect(on_progress)
        job.signals.finished.connect(lambda: self._finished(job))
        self._live[job.id] = job
        self.job_added.emit(job)
        self.pool.start(job)
        return job

    def _finished(self, job: Job) -> None:
        self._live.pop(job.id, None)
        self.job_finished.emit(job)

    @property
    def live(self) -> list[Job]:
        return list(self._live.values())

    def cancel_all(self) -> None:
        for job in self.live:
            job.cancel()

    def wait(self, timeout_ms: int = 30000) -> bool:
        """Block until every started job has finished (used on close); True if all did."""
        return self.pool.waitForDone(timeout_ms)
