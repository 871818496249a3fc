"""Canvas rendering: one 1920×1080 viewport of a 24 MP image vs converting the whole image.

The baseline is what a naive canvas does once per image change: wrap the whole 4000×6000 RGB
array as a QImage and copy it. Targets (from the GUI issue): a viewport render ≥ 10× faster
than that and ≤ 16 ms. Only generous sanity bounds are asserted; the table has the numbers.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from tests.benchmarks._timing import interleaved_medians, report, target

H, W = 4000, 6000
VW, VH = 1920, 1080


@pytest.fixture(scope="module")
def big_rgb() -> np.ndarray:
    """Photo-like 24 MP RGB: smooth gradients plus noise (fixed seed)."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    base = np.stack([xx / W, yy / H, (xx + yy) / (W + H)], axis=-1) * 200
    return np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)


def _fit_viewport():
    from imgstudio.gui.canvas.render import Viewport

    zoom = min(VW / W, VH / H)
    return Viewport(zoom, float((VW - W * zoom) // 2), float((VH - H * zoom) // 2), VW, VH)


def test_viewport_render_vs_whole_image_qimage(big_rgb, qapp):
    from PySide6.QtGui import QImage, QPainter

    from imgstudio.gui.canvas.render import Renderer, RenderLayer, Viewport
    from imgstudio.gui.canvas.view import to_qimage

    layers = [RenderLayer("photo", big_rgb)]
    fit = _fit_viewport()
    views = {
        "zoom 1": Viewport(1.0, -2000.0, -1500.0, VW, VH),
        "zoom 0.25": Viewport(0.25, (VW - W / 4) // 2, (VH - H / 4) // 2, VW, VH),
        f"fit (zoom {fit.zoom:.3f})": fit,
        "zoom 1.25, subpixel": Viewport(1.25, -2000.3, -1500.6, VW, VH),
        "zoom 0.6, panned": Viewport(0.6, -1234.5, -567.8, VW, VH),
    }

    def whole_qimage():
        return QImage(big_rgb.data, W, H, big_rgb.strides[0], QImage.Format.Format_RGB888).copy()

    # cold: a fresh renderer at fit builds the pyramid level it needs first
    cold_renderer = Renderer()
    t0 = time.perf_counter()
    cold_renderer.render(layers, fit)
    cold = time.perf_counter() - t0

    renderer = Renderer()
    for vp in views.values():  # warm every pyramid level
        renderer.render(layers, vp)
    screen = QImage(VW, VH, QImage.Format.Format_ARGB32_Premultiplied)

    def full_frame(vp):
        frame = renderer.render(layers, vp)
        image, buf = to_qimage(frame.array)
        painter = QPainter(screen)
        painter.drawImage(frame.x, frame.y, image)
        painter.end()
        return buf

    fns = {"baseline": whole_qimage}
    fns.update({name: (lambda vp=vp: renderer.render(layers, vp)) for name, vp in views.items()})
    fns["paint: fit, render+QImage+draw"] = lambda: full_frame(fit)
    fns["paint: zoom 1, render+QImage+draw"] = lambda: full_frame(views["zoom 1"])
    times = interleaved_medians(fns, repeat=9)
    base = times.pop("baseline")

    rows = [("what", "median", "whole-image QImage", "speed-up (target ≥ 10×, ≤ 16 ms)")]
    for name, t in times.items():
        rows.append((f"render {name}" if not name.startswith("paint") else name,
                     f"{t * 1e3:.2f} ms", f"{base * 1e3:.1f} ms", f"{base / t:.1f}×"))
    rows.append(("render fit, cold (builds /2 level)", f"{cold * 1e3:.1f} ms",
                 f"{base * 1e3:.1f} ms", f"{base / cold:.1f}×"))
    report(f"canvas: {VW}×{VH} viewport of a {H}×{W}×3 uint8 image (H×W)", rows)

    for name in views:
        target(f"canvas render {name}: speed-up vs a whole-image QImage", base / times[name], 10.0,
               at_least=True, digits=1)
        target(f"canvas render {name}", times[name] * 1e3, 16.0, "ms")
    for name in views:
        assert times[name] < 0.25, f"render {name} took {times[name] * 1e3:.0f} ms"
        assert times[name] < base * 2, f"render {name} is slower than the baseline"
    assert cold < 2.0
