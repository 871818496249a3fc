"""Undo memory and undo/redo latency of local edits on a 24-megapixel RGB image.

Run with ``make bench`` (``pytest -s tests/benchmarks``). Prints a table; asserts only generous
sanity bounds, so a slow machine does not fail the suite.
"""

from __future__ import annotations

import gc
import statistics
import time

import numpy as np
import psutil

from imgstudio.core.document import Document, ImageLayer
from imgstudio.core.history import History, SetPixels
from tests.benchmarks._timing import target

H, W = 4000, 6000
EDITS = 100
BLOCK = (200, 240)  # 0.2 % of the pixels per edit
MB = 1e6
TARGET_GROWTH_MB = 150.0
TARGET_STEP_MS = 30.0


def _photo_like(seed: int = 0) -> np.ndarray:
    """A smooth gradient with sensor-like noise: compresses about as badly as a photo."""
    rng = np.random.default_rng(seed)
    y = np.linspace(0, 200, H, dtype=np.float32)[:, None, None]
    x = np.linspace(0, 50, W, dtype=np.float32)[None, :, None]
    image = (y + x + np.array([0, 10, 20], np.float32)).astype(np.uint8)
    image += rng.integers(0, 6, image.shape, dtype=np.uint8)
    return image


def _rss() -> int:
    gc.collect()
    return psutil.Process().memory_info().rss


def _regions(seed: int = 1):
    rng = np.random.default_rng(seed)
    bh, bw = BLOCK
    for i in range(EDITS):
        y, x = int(rng.integers(0, H - bh)), int(rng.integers(0, W - bw))
        yield (y, y + bh, x, x + bw), np.uint8(i * 37 % 256)


def _median_ms(fn, repeats: int = 15) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def _measure(layer: ImageLayer, history: History, original: np.ndarray, edit_ms: float, rss0: int):
    growth = (_rss() - rss0) / MB
    held = history.memory_bytes / MB
    only_undo, only_redo = [], []
    for _ in range(20):  # 20 different steps, newest first
        t0 = time.perf_counter()
        history.undo()
        only_undo.append((time.perf_counter() - t0) * 1000)
    for _ in range(20):
        t0 = time.perf_counter()
        history.redo()
        only_redo.append((time.perf_counter() - t0) * 1000)
    t0 = time.perf_counter()
    history.jump(-1)
    undo_all_s = time.perf_counter() - t0
    assert np.array_equal(layer.data, original), "undoing every step must restore the original"
    return {
        "edit": edit_ms,
        "growth": growth,
        "held": held,
        "undo": statistics.median(only_undo),
        "redo": statistics.median(only_redo),
        "undo_all": undo_all_s,
    }


def _report(title: str, r: dict[str, float]) -> None:
    rows = [
        ("RSS growth after 100 edits", f"{r['growth']:.1f} MB", TARGET_GROWTH_MB, r["growth"]),
        ("history.memory_bytes", f"{r['held']:.2f} MB", TARGET_GROWTH_MB, r["held"]),
        ("undo one step (median)", f"{r['undo']:.2f} ms", TARGET_STEP_MS, r["undo"]),
        ("redo one step (median)", f"{r['redo']:.2f} ms", TARGET_STEP_MS, r["redo"]),
        ("record one edit (median)", f"{r['edit']:.1f} ms", None, None),
        ("undo all 100 steps", f"{r['undo_all'] * 1000:.0f} ms", None, None),
    ]
    print(f"\n{title} ({H}x{W}x3 uint8, {EDITS} edits of {BLOCK[0]}x{BLOCK[1]})")
    print(f"  {'measure':<28} {'measured':>12} {'target':>10} {'ratio':>7}")
    for name, shown, goal, value in rows:
        unit = "MB" if "MB" in shown else "ms"
        tgt = f"{goal:.0f} {unit}" if goal else "-"
        ratio = f"{value / goal:.3f}" if goal else "-"
        print(f"  {name:<28} {shown:>12} {tgt:>10} {ratio:>7}")
        if goal and name != "history.memory_bytes":
            target(f"history, {title}: {name}", value, goal, unit)


def test_history_full_array_edits_bench():
    """Edits passed as full new arrays (what an op returns): the diff finds the changed tiles."""
    original = _photo_like()
    layer = ImageLayer(original.copy(), "photo")
    history = History(Document([layer]))
    rss0 = _rss()
    edit_times = []
    for (y0, y1, x0, x1), value in _regions():
        new = layer.data.copy()
        new[y0:y1, x0:x1] = value
        t0 = time.perf_counter()
        history.execute(SetPixels(layer, new, label="Fill"))
        edit_times.append((time.perf_counter() - t0) * 1000)
        del new
    r = _measure(layer, history, original, statistics.median(edit_times), rss0)
    _report("SetPixels(layer, full new array)", r)
    assert r["growth"] < 10 * TARGET_GROWTH_MB
    assert r["undo"] < 10 * TARGET_STEP_MS and r["redo"] < 10 * TARGET_STEP_MS


def test_history_in_place_region_edits_bench():
    """Edits done in place and recorded with SetPixels.from_region (the brush path)."""
    original = _photo_like()
    layer = ImageLayer(original.copy(), "photo")
    history = History(Document([layer]))
    rss0 = _rss()
    edit_times = []
    for region, value in _regions():
        y0, y1, x0, x1 = region
        t0 = time.perf_counter()
        old = layer.data[y0:y1, x0:x1].copy()
        layer.data[y0:y1, x0:x1] = value
        history.push(SetPixels.from_region(layer, region, old, label="Fill"))
        edit_times.append((time.perf_counter() - t0) * 1000)
    r = _measure(layer, history, original, statistics.median(edit_times), rss0)
    _report("SetPixels.from_region (in place)", r)
    assert r["growth"] < 10 * TARGET_GROWTH_MB
    assert r["undo"] < 10 * TARGET_STEP_MS and r["redo"] < 10 * TARGET_STEP_MS


def test_history_whole_image_edit_bench():
    """For scale: one edit that changes every pixel (a filter), stored compressed."""
    original = _photo_like()
    layer = ImageLayer(original.copy(), "photo")
    history = History(Document([layer]))
    t0 = time.perf_counter()
    history.execute(SetPixels(layer, 255 - original, label="Invert"))
    record_ms = (time.perf_counter() - t0) * 1000
    undo_ms = _median_ms(history.undo, 1)
    redo_ms = _median_ms(history.redo, 1)
    print(f"\nwhole-image edit ({H}x{W}x3 uint8, {original.nbytes / MB:.0f} MB raw, no target)")
    print(f"  record {record_ms:.0f} ms, held {history.memory_bytes / MB:.1f} MB (old + new),")
    print(f"  undo {undo_ms:.0f} ms, redo {redo_ms:.0f} ms")
    history.undo()
    assert np.array_equal(layer.data, original)
