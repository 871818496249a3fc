"""Super-resolution benchmark: ``enhance.super_resolution`` 512² → 1024² (Real-ESRGAN on the
CPU, tiled) against ``cv2.resize`` bicubic on the same image, both measured in this run.

The network is ~10⁴ times the work of a bicubic resize: the ratio is reported, not a target.
"""

from __future__ import annotations

import os

import cv2
import numpy as np
import skimage.data

import imgstudio.api as api
from tests.benchmarks._timing import median_time, report


def test_super_resolution_vs_bicubic():
    os.environ.setdefault("IMGSTUDIO_TORCH_THREADS", "1")
    image = np.ascontiguousarray(skimage.data.astronaut())  # 512 × 512 RGB
    bicubic = median_time(lambda: cv2.resize(image, (1024, 1024), interpolation=cv2.INTER_CUBIC),
                          repeat=7)
    sr = median_time(lambda: api.run("enhance.super_resolution", image, scale=2), repeat=1)
    out = api.run("enhance.super_resolution", image, scale=2)
    assert out.shape == (1024, 1024, 3) and out.dtype == np.uint8
    report("enhance.super_resolution 512² → 1024² (realesr-animevideov3 ×2, CPU)", [
        ("what", "measured", "baseline (cv2 bicubic)", "ratio"),
        ("api.run", f"{sr:.2f} s", f"{bicubic * 1000:.2f} ms", f"{sr / bicubic:.0f}× (reported)"),
    ])
