"""Foundation benchmarks: dispatch overhead and `imgstudio ops --json` start-up.

Ratios are measured against a baseline in the same run; asserts are generous sanity bounds,
the targets are printed beside the numbers.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np

import imgstudio.api as api
from imgstudio.ops.basic import invert
from tests.benchmarks._timing import interleaved_medians, report, target


def test_dispatch_overhead_of_api_run_on_24_megapixels():
    image = np.random.default_rng(0).integers(0, 256, (4000, 6000, 3), dtype=np.uint8)
    times = interleaved_medians({
        "numpy": lambda: np.subtract(255, image, dtype=np.uint8),
        "direct": lambda: invert(image),
        "api.run": lambda: api.run("basic.invert", image),
    }, repeat=9)
    ratio = times["api.run"] / times["numpy"]
    report("dispatch: basic.invert on 4000x6000x3 uint8", [
        ("what", "median", "vs numpy", "target"),
        ("numpy 255 - x", f"{times['numpy'] * 1e3:.1f} ms", "1.00x", ""),
        ("ops.basic.invert()", f"{times['direct'] * 1e3:.1f} ms",
         f"{times['direct'] / times['numpy']:.2f}x", ""),
        ("api.run('basic.invert')", f"{times['api.run'] * 1e3:.1f} ms", f"{ratio:.2f}x",
         "<= 1.10x"),
    ])
    target("api.run('basic.invert') vs numpy, 24 MP", ratio, 1.10)
    assert ratio < 2.0


def _wall(cmd: list[str]) -> float:
    import time

    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=env)
    return time.perf_counter() - t0


def test_ops_json_start_up_vs_importing_numpy():
    ops = [sys.executable, "-m", "imgstudio", "ops", "--json"]
    bare = [sys.executable, "-c", "import numpy"]
    times = interleaved_medians({"numpy": lambda: _wall(bare), "ops": lambda: _wall(ops)},
                                repeat=7)
    ratio = times["ops"] / times["numpy"]
    report("start-up: imgstudio ops --json", [
        ("what", "median", "vs numpy", "target"),
        ("python -c 'import numpy'", f"{times['numpy'] * 1e3:.0f} ms", "1.00x", ""),
        ("imgstudio ops --json", f"{times['ops'] * 1e3:.0f} ms", f"{ratio:.2f}x", "<= 3x"),
    ])
    target("imgstudio ops --json vs python -c 'import numpy'", ratio, 3.0)
    assert ratio < 10
