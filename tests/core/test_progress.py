"""Progress tokens (imgstudio.core.progress): fractions, messages, sub-ranges and cancellation."""

from __future__ import annotations

import threading

import pytest

from imgstudio.core.progress import Cancelled, Progress


def test_progress_reports_clamped_fraction_and_message():
    seen = []
    progress = Progress(lambda f, m: seen.append((f, m)))
    progress(0.5, "half")
    progress(2.0, "over")
    assert seen == [(0.5, "half"), (1.0, "over")]


def test_check_raises_after_cancel_from_another_thread():
    progress = Progress()
    progress.check()
    thread = threading.Thread(target=progress.cancel)
    thread.start()
    thread.join()
    with pytest.raises(Cancelled):
        progress.check()
    with pytest.raises(Cancelled):
        progress(0.1)


def test_sub_progress_maps_into_parent_range_and_shares_cancel():
    seen = []
    parent = Progress(lambda f, m: seen.append(round(f, 3)))
    child = parent.sub(0.5, 1.0)
    child(0.5)
    assert seen == [0.75]
    parent.cancel()
    with pytest.raises(Cancelled):
        child.check()


def test_reports_reach_the_watcher_through_sub_tokens_and_are_dropped_without_one():
    seen = []
    parent = Progress(on_report=lambda name, data: seen.append((name, data)))
    parent.report("epoch", {"epoch": 1})
    parent.sub(0.5, 1.0).report("sample", 3)
    assert seen == [("epoch", {"epoch": 1}), ("sample", 3)]
    Progress().report("epoch", {"epoch": 1})  # nobody watches: nothing happens
