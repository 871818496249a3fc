"""One kind of background job of a wizard page, with its progress bar, message and Cancel.

Starting a new job in a slot cancels the one running there, whose result (or error) is then
ignored: only the latest request's answer reaches the page. :meth:`JobSlot.shutdown` cancels
and waits; after it no callback runs. :class:`JobPage` is the base of the wizard pages that run
their work in a slot.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QThread, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QWidget,
    QWizardPage,
)
from shiboken6 import isValid

from imgstudio.core.progress import Progress
from imgstudio.gui.workers import Job, JobManager

if TYPE_CHECKING:
    from imgstudio.gui.wizards.morph_session import MorphSession

ERROR_STYLE = "color: #d04040;"


class JobSlot(QWidget):
    """A job runner for a page. ``busy_changed(bool)`` when a job starts or ends."""

    busy_changed = Signal(bool)

    def __init__(self, jobs: JobManager, parent: QWidget | None = None, *,
                 visible: bool = True) -> None:
        super().__init__(parent)
        self.jobs = jobs
        self.job: Job | None = None
        self._started: list[Job] = []
        self._closed = False
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel("", self)
        self.label.setWordWrap(True)
        self.bar = QProgressBar(self)
        self.bar.setRange(0, 1000)
        self.bar.setMaximumWidth(220)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.clicked.connect(self.cancel)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel_button)
        self._show_running(False)
        self.setVisible(visible)

    @property
    def busy(self) -> bool:
        return self.job is not None

    @property
    def live_jobs(self) -> list[Job]:
        """Jobs started here that have not finished running (cancelled ones included)."""
        self._started = [j for j in self._started if not j.done]
        return list(self._started)

    def _show_running(self, running: bool) -> None:
        self.bar.setVisible(running)
        self.cancel_button.setVisible(running)

    def set_message(self, text: str, error: bool = False) -> None:
        self.label.setStyleSheet(ERROR_STYLE if error else "")
        self.label.setText(text)

    def start(
        self,
        fn: Callable[[Progress], Any],
        title: str,
        on_result: Callable[[Any], None],
        on_error: Callable[[BaseException], None] | None = None,
    ) -> Job | None:
        """Run ``fn(progress)`` in the pool; ``on_result(value)`` on the UI thread if this is
        still the slot's latest job. Errors show in the slot's label (and go to ``on_error``)."""
        if self._closed:
            return None
        self.cancel()
        holder: list[Job] = []

        def current() -> bool:  # the widget may be gone when a late signal arrives
            return (isValid(self) and not self._closed and bool(holder)
                    and holder[0] is self.job)

        def returned(value: Any) -> None:
            if current():
                self._end()
                self.set_message("")
                on_result(value)

        def errored(exc: BaseException) -> None:
            if current():
                self._end()
                self.set_message(f"{title} failed: {exc}", error=True)
                if on_error is not None:
                    on_error(exc)

        def cancelled() -> None:
            if current():
                self._end()

        def progressed(fraction: float, message: str) -> None:
            if current():
                self.bar.setValue(round(fraction * 1000))
                self.label.setText(message)

        job = self.jobs.start(fn, title, on_result=returned, on_error=errored,
                              on_cancel=cancelled, on_progress=progressed)
        holder.append(job)
        self.job = job
        self._started.append(job)
        self.bar.setValue(0)
        self.set_message(f"{title}…")
        self._show_running(True)
        self.busy_changed.emit(True)
        return job

    def _end(self) -> None:
        self.job = None
        self._show_running(False)
        self.busy_changed.emit(False)

    def cancel(self) -> None:
        """Cancel the running job (its result will be ignored)."""
        if self.job is not None:
            self.job.cancel()
            self._end()
            self.set_message("Cancelled")

    def shutdown(self) -> None:
        """Cancel; no callback runs after this (see :func:`wait_for`)."""
        self.cancel()
        self._closed = True


def wait_for(jobs: Iterable[Job], timeout_s: float = 30.0) -> bool:
    """Block until every job has finished running (True) or ``timeout_s`` passed (False)."""
    jobs = list(jobs)
    deadline = time.monotonic() + timeout_s
    while any(not j.done for j in jobs):
        if time.monotonic() > deadline:
            return False
        QThread.msleep(5)
    return True


class JobPage(QWizardPage):
    """A page of the face morph wizard that runs its work in a :class:`JobSlot`.

    Shows ``title`` and ``subtitle`` and makes ``slot``, whose busy changes go to
    :meth:`_busy_changed` (by default the page re-checks whether it is complete); ``slots``
    lists every slot of the page, for the wizard to cancel and wait for on close.
    """

    def __init__(self, session: MorphSession, jobs: JobManager, title: str, subtitle: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setTitle(title)
        self.setSubTitle(subtitle)
        self.slot = JobSlot(jobs, self)
        self.slot.busy_changed.connect(self._busy_changed)
        self.slots = [self.slot]

    def _busy_changed(self, busy: bool) -> None:
        self.completeChanged.emit()
