"""OpViews: histogram-matching overlays and the frequency-filter spectrum in the Histogram dock."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QSettings

import imgstudio.api as api
from imgstudio.core.document import ImageLayer
from imgstudio.core.history import AddLayer, SetPixels
from imgstudio.gui.op_views import OpViews
from imgstudio.gui.panels.histogram import HistogramPanel
from imgstudio.gui.panels.operation import OperationPanel
from imgstudio.ops.enhance._spectrum import (
    SPECTRUM_SIDE,
    filter_rings,
    log_spectrum,
    spectrum_grey,
)
from tests.gui.canvas_events import LEFT


@pytest.fixture
def reference(workspace):
    """A second, darker RGB layer of another size; the astronaut stays active."""
    rng = np.random.default_rng(3)
    data = rng.integers(0, 120, (40, 50, 3), dtype=np.uint8)
    layer = ImageLayer(data, "reference")
    workspace.history.execute(AddLayer(workspace.document, layer))
    workspace.document.active = workspace.document.by_name("astronaut")
    return layer


@pytest.fixture
def views(qtbot, workspace, jobs, tmp_path):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    panel = OperationPanel(workspace, jobs, settings=settings)
    histogram = HistogramPanel(workspace, debounce_ms=10)
    for w in (panel, histogram):
        qtbot.addWidget(w)
        w.show()
    return panel, histogram, OpViews(panel, histogram)


def _assert_histograms(hists, image):
    channels = ["gray"] if image.ndim == 2 else ["R", "G", "B"]
    assert list(hists) == channels
    for c, name in enumerate(channels):
        values = image if image.ndim == 2 else image[..., c]
        counts, edges = np.histogram(values, bins=256, range=(0, 256))
        np.testing.assert_array_equal(hists[name][1], counts)
        np.testing.assert_allclose(hists[name][0], edges)


def _pick(combo, text: str) -> None:
    """Choose an entry of a layer picker as a user does (emits currentIndexChanged)."""
    index = combo.findText(text)
    assert index >= 0, text
    combo.setCurrentIndex(index)


# -- histogram matching ------------------------------------------------------------------------

def test_histogram_match_overlays_the_reference_histogram(views, reference):
    panel, histogram, _ = views
    panel.set_operation("enhance.histogram_match")
    extra = histogram.extra_histograms()
    assert list(extra) == ["reference"]
    _assert_histograms(extra["reference"], reference.data)


def test_preview_adds_the_result_histogram(qtbot, views, reference, workspace):
    panel, histogram, _ = views
    panel.set_operation("enhance.histogram_match")
    with qtbot.waitSignal(panel.preview_ready, timeout=10000):
        qtbot.mouseClick(panel.preview_button, LEFT)
    extra = histogram.extra_histograms()
    assert list(extra) == ["reference", "result"]
    source = workspace.document.by_name("astronaut").data
    _assert_histograms(extra["result"],
                       api.run("enhance.histogram_match", source, reference=reference.data))
    _assert_histograms(histogram.histograms(), source)  # the filled curves: the source
    qtbot.mouseClick(panel.preview_button, LEFT)  # preview off: no result any more
    assert list(histogram.extra_histograms()) == ["reference"]


def test_apply_shows_source_reference_and_result(qtbot, views, reference, workspace,
                                                 astronaut_small):
    panel, histogram, _ = views
    panel.set_operation("enhance.histogram_match")
    with qtbot.waitSignal(panel.applied, timeout=10000):
        qtbot.mouseClick(panel.apply_button, LEFT)
    expected = api.run("enhance.histogram_match", astronaut_small, reference=reference.data)
    assert np.array_equal(workspace.document.by_name("astronaut").data, expected)
    extra = histogram.extra_histograms()
    assert list(extra) == ["reference", "result", "source"]
    _assert_histograms(extra["reference"], reference.data)
    _assert_histograms(extra["result"], expected)
    _assert_histograms(extra["source"], astronaut_small)


def test_choosing_another_reference_updates_it_and_drops_the_result(qtbot, views, reference,
                                                                    workspace):
    panel, histogram, _ = views
    bright = ImageLayer(np.full((30, 30, 3), 200, np.uint8), "bright")
    workspace.history.execute(AddLayer(workspace.document, bright))
    workspace.document.active = workspace.document.by_name("astronaut")
    panel.set_operation("enhance.histogram_match")
    _pick(panel.form.widget_for("reference"), "reference")
    with qtbot.waitSignal(panel.preview_ready, timeout=10000):
        qtbot.mouseClick(panel.preview_button, LEFT)
    assert "result" in histogram.extra_histograms()
    _pick(panel.form.widget_for("reference"), "bright")
    extra = histogram.extra_histograms()
    assert list(extra) == ["reference"]
    _assert_histograms(extra["reference"], bright.data)


def test_another_operation_clears_the_overlays(views, reference):
    panel, histogram, _ = views
    panel.set_operation("enhance.histogram_match")
    assert histogram.extra_histograms()
    panel.set_operation("enhance.gaussian")
    assert histogram.extra_histograms() == {}


# -- spectrum ----------------------------------------------------------------------------------

def _independent_grey(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """BT.601 luma in float64, block-averaged to ``shape`` (whole multiples only)."""
    rgb = image.astype(np.float64) / 255.0
    grey = 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]
    fy, fx = grey.shape[0] // shape[0], grey.shape[1] // shape[1]
    return grey.reshape(shape[0], fy, shape[1], fx).mean(axis=(1, 3))


def _textured(h: int, w: int, noise: float = 0.02) -> np.ndarray:
    """A smooth colour image with periodic stripes (peaks off the centre), plus noise."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    base = 0.5 + 0.25 * np.sin(2 * np.pi * x * 12 / w) + 0.15 * np.cos(2 * np.pi * y * 20 / h)
    rgb = np.stack([base, base * 0.8 + 0.1, 1 - base * 0.5], axis=-1)
    noise = np.random.default_rng(4).normal(0, noise, rgb.shape)
    return np.clip((rgb + noise) * 255, 0, 255).round().astype(np.uint8)


def test_spectrum_grey_is_the_strided_then_area_averaged_luma():
    image = _textured(1536, 3072)  # strided by 3 to 512 x 1024, then 2 x 2 area means
    grey = spectrum_grey(image)
    assert grey.dtype == np.float32 and grey.shape == (256, 512)
    assert max(grey.shape) <= SPECTRUM_SIDE
    np.testing.assert_allclose(grey, _independent_grey(image[::3, ::3], (256, 512)), atol=1e-5)
    small = _textured(64, 96)
    np.testing.assert_allclose(spectrum_grey(small), _independent_grey(small, (64, 96)),
                               atol=1e-6)


def test_log_spectrum_is_the_centred_log_magnitude_of_the_fft():
    grey = np.random.default_rng(5).random((48, 64)).astype(np.float32)
    out = log_spectrum(grey)
    assert out.shape == grey.shape and out.dtype == np.float32
    ref = np.log(1.0 + np.abs(np.fft.fftshift(np.fft.fft2(grey.astype(np.float64)))))
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)
    assert np.unravel_index(np.argmax(out), out.shape) == (24, 32)  # DC at (h // 2, w // 2)


def test_frequency_filter_shows_the_spectrum_of_the_downsampled_grey(views, workspace):
    panel, histogram, ov = views
    image = _textured(1200, 1024)
    layer = workspace.document[0]
    workspace.history.execute(SetPixels(layer, image))
    assert not ov.spectrum_view.isVisible()
    panel.set_operation("enhance.frequency_filter")
    assert ov.spectrum_view.isVisible()
    spectrum = ov.spectrum_view.spectrum()
    assert spectrum.shape == (512, 437) and max(spectrum.shape) <= SPECTRUM_SIDE
    grey = _independent_grey(image[::2, ::2], (600, 512))  # stride 2 is exact here: 1 x 1
    grey = cv2.resize(grey.astype(np.float32), (437, 512), interpolation=cv2.INTER_AREA)
    ref = np.log1p(np.abs(np.fft.fftshift(np.fft.fft2(grey.astype(np.float64)))))
    np.testing.assert_allclose(spectrum, ref, rtol=1e-3, atol=1e-3)
    # the stripes: 12 cycles across the width, 20 down the height, at those spectrum pixels
    cy, cx = 512 // 2, 437 // 2
    assert spectrum[cy, cx + 12] > np.median(spectrum) + 5
    assert spectrum[cy + 20, cx] > np.median(spectrum) + 5


def test_cutoff_ring_follows_the_form(qtbot, views, workspace):
    panel, _, ov = views
    panel.set_operation("enhance.frequency_filter")
    assert ov.spectrum_view.rings() == ([30.0], [])
    spin = panel.form.widget_for("cutoff")
    spin.lineEdit().selectAll()
    qtbot.keyClicks(spin, "12.5")
    assert ov.spectrum_view.rings() == ([12.5], [])
    combo = panel.form.widget_for("kind")
    combo.setCurrentIndex(combo.findText("notch"))
    assert ov.spectrum_view.rings() == ([12.5], [7.5, 17.5])  # width 10: the rejected band
    assert filter_rings("notch", 3.0, 10.0) == ([3.0], [8.0])


def test_spectrum_follows_edits_and_the_active_layer(qtbot, views, workspace):
    panel, _, ov = views
    panel.set_operation("enhance.frequency_filter")
    layer = workspace.document[0]
    flat = np.full_like(layer.data, 128)
    workspace.history.execute(SetPixels(layer, flat))
    qtbot.waitUntil(lambda: np.count_nonzero(ov.spectrum_view.spectrum() > 1e-3) == 1,
                    timeout=2000)  # a flat image: only the DC term is left
    workspace.history.undo()
    qtbot.waitUntil(lambda: np.count_nonzero(ov.spectrum_view.spectrum() > 1e-3) > 1,
                    timeout=2000)
    workspace.new_labels_layer()  # labels have no spectrum
    qtbot.waitUntil(lambda: ov.spectrum_view.spectrum() is None, timeout=2000)
    panel.set_operation("enhance.gaussian")
    assert not ov.spectrum_view.isVisible()


def test_op_views_screenshot(qtbot, views, workspace, screenshot_dir):
    panel, histogram, ov = views
    import skimage.data

    workspace.history.execute(SetPixels(workspace.document[0], skimage.data.astronaut()))
    panel.set_operation("enhance.frequency_filter")
    histogram.resize(320, 480)
    qtbot.wait(50)
    path = screenshot_dir / "op_views_spectrum.png"
    assert histogram.grab().save(str(path))


def test_main_window_wires_the_views_into_its_histogram_dock(qtbot, tmp_path, astronaut_small):
    from imgstudio.core.io import save_image
    from imgstudio.gui.main_window import MainWindow

    win = MainWindow(settings=QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat))
    win.files.ask_unsaved = lambda: "discard"
    qtbot.addWidget(win)
    win.resize(1000, 700)
    win.show()
    save_image(tmp_path / "a.png", astronaut_small)
    win.files.open_files([str(tmp_path / "a.png")])
    qtbot.waitUntil(lambda: win.op_views is not None, timeout=5000)
    assert win.op_views.histogram is win.histogram_panel
    assert win.op_views.operation is win.operation_panel
    win.op_actions["enhance.frequency_filter"].trigger()
    assert win.op_views.spectrum_view.isVisible()
    assert win.op_views.spectrum_view.spectrum().shape == astronaut_small.shape[:2]
    win.force_close()
