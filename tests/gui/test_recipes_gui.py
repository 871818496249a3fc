"""Recipes 1 in the real main window: cartoon, histogram matching, seamless cloning.

Each test drives the assembled window as a user does (menu actions, form widgets, the Preview
and Apply buttons, the layers list, brush and place tools with real mouse events) and checks
the applied layer against ``imgstudio.api.run`` with the same parameters.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import skimage.data
from PySide6.QtCore import Qt

import imgstudio.api as api
from imgstudio.core.io import load_image, save_image
from tests.gui.canvas_events import LEFT, at, drag, move, press, release
from tests.gui.helpers import _check_rect, _click_row

SAMPLE = Path(__file__).resolve().parents[2] / "resources" / "samples" / "astronaut.png"
TIMEOUT = 30000


def _open_sample(window, qtbot) -> np.ndarray:
    assert window.files.open_files([str(SAMPLE)]) == []
    qtbot.waitUntil(lambda: window.histogram_panel is not None, timeout=5000)
    return load_image(SAMPLE)


def _type(qtbot, spin, text: str) -> None:
    spin.lineEdit().selectAll()
    qtbot.keyClicks(spin, text)


def _pick(combo, text: str) -> None:
    """Choose an entry of a combo box as a user does (emits currentIndexChanged)."""
    index = combo.findText(text)
    assert index >= 0, f"{text!r} not in {[combo.itemText(i) for i in range(combo.count())]}"
    combo.setCurrentIndex(index)


def _activate(window, qtbot, layer) -> None:
    """Click the layer's row in the Layers dock."""
    _click_row(qtbot, window.layers_panel, window.layers_panel.row_of(layer))
    assert window.workspace.document.active is layer


def _hide(window, qtbot, layer) -> None:
    """Untick the layer's visibility box in the Layers dock."""
    panel = window.layers_panel
    qtbot.mouseClick(panel.list.viewport(), LEFT, pos=_check_rect(panel, panel.row_of(layer))
                     .center())
    assert not layer.visible


def _preview_on(window, qtbot):
    panel = window.operation_panel
    with qtbot.waitSignal(panel.preview_ready, timeout=TIMEOUT) as blocker:
        qtbot.mouseClick(panel.preview_button, LEFT)
    return blocker.args[0]


def _apply(window, qtbot) -> None:
    panel = window.operation_panel
    with qtbot.waitSignal(panel.applied, timeout=TIMEOUT):
        qtbot.mouseClick(panel.apply_button, LEFT)
    qtbot.waitUntil(lambda: not panel.busy, timeout=TIMEOUT)


def _save(window, qtbot, path: Path) -> None:
    qtbot.wait(150)  # let the canvas and the histogram repaint
    assert window.grab().save(str(path))
    assert path.stat().st_size > 10_000


# -- (a) cartoon -------------------------------------------------------------------------------

def test_cartoon_from_the_menu_with_preview_then_apply(window, qtbot, screenshot_dir):
    window.resize(1700, 1100)  # room to fit the 512×512 sample at zoom ≥ 1 (actual pixels)
    image = _open_sample(window, qtbot)
    window.op_actions["artistic.cartoon"].trigger()
    panel = window.operation_panel
    window.canvas.fit()
    assert window.canvas.zoom >= 1.0
    assert panel.spec.id == "artistic.cartoon" and window.docks["Operation"].isVisible()
    form = panel.form
    _type(qtbot, form.widget_for("num_bilateral"), "3")
    _type(qtbot, form.widget_for("block_size"), "13")
    _type(qtbot, form.widget_for("c"), "4.5")
    params = form.values()
    assert (params["num_bilateral"], params["block_size"], params["c"]) == (3, 13, 4.5)

    preview = _preview_on(window, qtbot)
    expected = api.run("artistic.cartoon", image, **params)
    layer = window.workspace.document[0]
    assert layer.id in window.canvas.previews
    assert np.array_equal(layer.data, image)  # a preview changes nothing
    # the window fits the whole image on screen: the preview covers it at full resolution
    assert (preview.region, preview.scale) == ((0, image.shape[0], 0, image.shape[1]), 1.0)
    assert np.array_equal(preview.result, expected)

    _apply(window, qtbot)
    assert np.array_equal(layer.data, expected)
    assert [s.label for s in window.workspace.history.steps] == ["Cartoon"]
    assert not panel.preview_button.isChecked()
    _save(window, qtbot, screenshot_dir / "recipe_cartoon.png")


# -- (b) histogram matching --------------------------------------------------------------------

def test_histogram_match_with_a_reference_layer_and_its_histograms(window, qtbot, tmp_path,
                                                                    screenshot_dir):
    image = _open_sample(window, qtbot)
    source = window.workspace.document[0]
    decoy = np.full((60, 80, 3), 230, np.uint8)
    save_image(tmp_path / "decoy.png", decoy)
    reference = skimage.data.coffee()  # warm, brown: another size and another histogram
    save_image(tmp_path / "reference.png", reference)
    ref_layer = window.workspace.import_layer(tmp_path / "reference.png")
    decoy_layer = window.workspace.import_layer(tmp_path / "decoy.png")
    _hide(window, qtbot, ref_layer)  # so that the canvas shows the image being matched
    _hide(window, qtbot, decoy_layer)
    _activate(window, qtbot, source)

    window.op_actions["enhance.histogram_match"].trigger()
    panel = window.operation_panel
    combo = panel.form.widget_for("reference")
    _pick(combo, "decoy")
    _pick(combo, "reference")
    assert panel.form.inputs()["reference"].name == "reference"
    histogram = window.histogram_panel
    assert list(histogram.extra_histograms()) == ["reference"]

    _preview_on(window, qtbot)
    expected = api.run("enhance.histogram_match", image, reference=reference)
    extra = histogram.extra_histograms()
    assert list(extra) == ["reference", "result"]
    _apply(window, qtbot)
    assert np.array_equal(source.data, expected)

    extra = histogram.extra_histograms()
    assert list(extra) == ["reference", "result", "source"]
    for name, array in [("reference", reference), ("result", expected), ("source", image)]:
        for c, channel in enumerate("RGB"):
            counts, _ = np.histogram(array[..., c], bins=256, range=(0, 256))
            np.testing.assert_array_equal(extra[name][channel][1], counts, err_msg=name)
    qtbot.waitUntil(lambda: np.array_equal(  # the filled curves: the active layer, now matched
        histogram.histograms()["R"][1], np.bincount(expected[..., 0].ravel(), minlength=256)),
        timeout=2000)
    window.resizeDocks([window.docks["Histogram"]], [420], Qt.Vertical)
    histogram.log_checkbox.setChecked(True)
    _save(window, qtbot, screenshot_dir / "recipe_histogram_match.png")


# -- (c) seamless cloning ----------------------------------------------------------------------

def _cat_source(shape: tuple[int, int]) -> np.ndarray:
    """Chelsea the cat on a grey canvas of the destination's size."""
    cat = skimage.data.chelsea()
    out = np.full(shape + (3,), 128, np.uint8)
    h, w = min(shape[0], cat.shape[0]), min(shape[1], cat.shape[1])
    out[:h, :w] = cat[:h, :w]
    return out


def _paint_mask(window, qtbot) -> np.ndarray:
    """A new labels layer, painted with the brush by a zig-zag stroke over the cat's face."""
    window.act_new_labels.trigger()
    assert window.canvas.tool == "brush"
    window.size_spin.setValue(31)
    canvas = window.canvas
    qtbot.wait(50)
    points = [at(canvas, 130.5, 60.5)]
    for y in range(60, 221, 20):
        points += [at(canvas, 130.5, y + 0.5), at(canvas, 290.5, y + 0.5)][:: 1 if y % 40 else -1]
    press(canvas, points[0])
    for p in points[1:]:
        move(canvas, p)
    release(canvas, points[-1])
    labels = window.workspace.document.active
    assert labels.kind.value == "labels"
    assert [s.label for s in window.workspace.history.steps][-1] == f"Brush stroke on {labels.name}"
    return labels


def test_seamless_clone_with_a_brushed_mask_placed_by_dragging(window, qtbot, tmp_path,
                                                               screenshot_dir):
    dest_image = _open_sample(window, qtbot)
    doc = window.workspace.document
    dest = doc[0]
    source_image = _cat_source(dest_image.shape[:2])
    save_image(tmp_path / "source.png", source_image)
    source = window.workspace.import_layer(tmp_path / "source.png")
    labels = _paint_mask(window, qtbot)
    mask = labels.data.copy()
    ys, xs = np.nonzero(mask)
    assert mask.max() == 1  # the stroke, 31 px wide, fills the zig-zag's box
    assert abs(xs.min() - 115) <= 2 and abs(xs.max() - 305) <= 2
    assert abs(ys.min() - 45) <= 2 and abs(ys.max() - 235) <= 2
    assert mask[60:221, 130:291].all()
    _hide(window, qtbot, source)
    _hide(window, qtbot, labels)
    _activate(window, qtbot, dest)

    window.op_actions["enhance.seamless_clone"].trigger()
    panel = window.operation_panel
    assert window.canvas.tool == "place"  # the op takes a position
    assert panel.form.inputs()["source"] is source
    _pick(panel.form.widget_for("mask"), labels.name)
    _pick(panel.form.widget_for("mode"), "monochrome")
    _pick(panel.form.widget_for("mode"), "normal")
    _preview_on(window, qtbot)  # at the image centre (center_x/center_y automatic)

    canvas = window.canvas
    path = [at(canvas, 300.5, 300.5), at(canvas, 320.5, 320.5), at(canvas, 350.5, 340.5),
            at(canvas, 362.5, 352.5)]
    with qtbot.waitSignal(panel.preview_ready, timeout=TIMEOUT) as blocker:
        drag(canvas, path)
    values = panel.form.values()
    centre = (values["center_x"], values["center_y"])  # the pixel under the release point
    assert abs(centre[0] - 362) <= 1 and abs(centre[1] - 352) <= 1
    assert canvas.tools["place"].position == centre
    params = dict(center_x=centre[0], center_y=centre[1], mode="normal")
    expected = api.run("enhance.seamless_clone", dest_image, source=source_image, mask=mask,
                       **params)
    preview = blocker.args[0]
    # centre-placed ops preview the whole layer at full resolution (region None, scale 1)
    assert (preview.region, preview.scale) == (None, 1.0)
    assert np.array_equal(preview.result, expected)  # the preview followed the drag
    assert np.array_equal(dest.data, dest_image)

    _apply(window, qtbot)
    assert np.array_equal(dest.data, expected)
    assert not np.array_equal(expected, dest_image)
    step = window.workspace.history.steps[-1]
    assert step.label == "Seamless clone"
    _save(window, qtbot, screenshot_dir / "recipe_seamless_clone.png")

    # a drag that puts the source partly outside: an error naming the centre, nothing changes
    steps = len(window.workspace.history.steps)
    qtbot.mouseClick(panel.preview_button, LEFT)
    with qtbot.waitSignal(panel.preview_failed, timeout=TIMEOUT) as failed:
        drag(canvas, [at(canvas, 400.5, 300.5), at(canvas, 470.5, 300.5)])
    assert "center_x" in failed.args[0]
    outside = panel.form.values()["center_x"]
    assert abs(outside - 470) <= 1
    qtbot.mouseClick(panel.apply_button, LEFT)
    qtbot.waitUntil(lambda: not panel.busy, timeout=TIMEOUT)
    assert window.message_bar.current_level() == "error"
    text = window.message_bar.current_text()
    assert f"center_x={outside}" in text and "seamless_clone" in text
    assert len(window.workspace.history.steps) == steps
    assert np.array_equal(dest.data, expected)
    _save(window, qtbot, screenshot_dir / "recipe_seamless_clone_error.png")
