"""The history's drop notice names the budget that forced the drop (in memory or on disk)."""

from __future__ import annotations

import numpy as np

from imgstudio.core.history import History, SetPixels
from tests.core.helpers import Recorder, _doc, _image


def _edits(layer, history, count, size=48, seed=0):
    rng = np.random.default_rng(seed)
    h, w = layer.shape
    for _ in range(count):
        y, x = int(rng.integers(0, h - size)), int(rng.integers(0, w - size))
        new = layer.data.copy()
        new[y : y + size, x : x + size] = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        history.execute(SetPixels(layer, new))


def _notices(history) -> Recorder:
    recorder = Recorder()
    history.notice.connect(recorder)
    return recorder


def test_a_drop_forced_by_the_disk_budget_names_the_disk_budget(tmp_path):
    doc, layer, _ = _doc(_image((256, 256, 3), np.uint8))
    history = History(doc, budget_bytes=50_000, spill_dir=tmp_path, spill_budget_bytes=100_000)
    notices = _notices(history)
    _edits(layer, history, 20)
    messages = [args[0] for args in notices.calls]
    assert messages, "the small disk budget should have forced drops"
    for message in messages:
        assert "97.7 KiB on-disk undo budget" in message
        assert "48.8 KiB" not in message and "in-memory" not in message


def test_a_drop_forced_by_the_memory_budget_names_the_memory_budget(tmp_path):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")  # spilling fails, so memory is what overflows
    doc, layer, _ = _doc(_image((256, 256, 3), np.uint8))
    history = History(doc, budget_bytes=50_000, spill_dir=not_a_folder,
                      spill_budget_bytes=10_000_000)
    notices = _notices(history)
    _edits(layer, history, 10)
    messages = [args[0] for args in notices.calls]
    assert messages and history.memory_bytes <= 50_000
    for message in messages:
        assert "48.8 KiB in-memory undo budget" in message
        assert "on-disk" not in message and "could not write to disk" in message
