"""Interactive segmentation in the main window, driven by real mouse events on the canvas.

Random walker from painted seeds with a live preview, watershed from clicked points (and from
proposed markers) with a background stroke, GrabCut from a dragged rectangle. Every Apply must
equal ``api.run`` with the same painted layer, reach a known accuracy on synthetic images and
be one undo step.
"""

from __future__ import annotations

import numpy as np

import imgstudio.api as api
from imgstudio.core.document import Document, ImageLayer
from imgstudio.core.workspace import Workspace
from imgstudio.gui.preview import PreviewResult
from imgstudio.ops.segment import markers_from_points
from tests.gui.canvas_events import LEFT, at, click, drag
from tests.helpers import dice, iou

H, W = 120, 160


# -- synthetic images ---------------------------------------------------------------------------
def _grid():
    return np.mgrid[:H, :W]


def noisy_disc() -> tuple[np.ndarray, np.ndarray]:
    """A bright disc (radius 35) on a dark background, Gaussian noise σ = 0.08 of the range."""
    yy, xx = _grid()
    disc = (xx - 80) ** 2 + (yy - 60) ** 2 < 35**2
    rng = np.random.default_rng(0)
    image = np.where(disc, 0.7, 0.3) + rng.normal(0, 0.08, (H, W))
    return np.clip(image * 255, 0, 255).astype(np.uint8), disc


def two_discs() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two touching coins (radius 30, centres 56 apart) of different brightness, light noise."""
    yy, xx = _grid()
    left = (xx - 50) ** 2 + (yy - 60) ** 2 < 30**2
    right = (xx - 106) ** 2 + (yy - 60) ** 2 < 30**2
    rng = np.random.default_rng(1)
    image = np.where(right, 0.9, np.where(left, 0.6, 0.2)) + rng.normal(0, 0.04, (H, W))
    return np.clip(image * 255, 0, 255).astype(np.uint8), left & ~right, right


def object_on_clutter() -> tuple[np.ndarray, np.ndarray]:
    """A red ellipse on rectangles of five clutter colours (RGB), light noise."""
    yy, xx = _grid()
    obj = ((xx - 80) / 32.0) ** 2 + ((yy - 60) / 24.0) ** 2 < 1
    palette = np.array([(40, 120, 60), (70, 90, 160), (150, 150, 140), (200, 190, 70),
                        (30, 40, 50)])
    rng = np.random.default_rng(5)
    image = np.empty((H, W, 3))
    image[:] = palette[0]
    for _ in range(120):
        x0, y0 = rng.integers(-10, W), rng.integers(-10, H)
        w, h = rng.integers(4, 20), rng.integers(4, 20)
        image[max(0, y0):y0 + h, max(0, x0):x0 + w] = palette[rng.integers(len(palette))]
    image[obj] = (210, 50, 40)
    image = np.clip(image + rng.normal(0, 8, image.shape), 0, 255).astype(np.uint8)
    return image, obj


# -- window and gestures ------------------------------------------------------------------------
def show_image(window, qtbot, image: np.ndarray, name: str) -> ImageLayer:
    layer = ImageLayer(image, name)
    window.files.show_workspace(Workspace(Document([layer])))
    qtbot.wait(50)
    window.canvas.fit()
    qtbot.wait(10)
    return layer


def stroke(canvas, points: list[tuple[float, float]]) -> None:
    """One brush stroke through image points (x, y): press, moves, release."""
    drag(canvas, [at(canvas, x, y) for x, y in points])


def apply(window, qtbot, timeout: int = 60000):
    panel = window.operation_panel
    with qtbot.waitSignal(panel.applied, timeout=timeout) as blocker:
        qtbot.mouseClick(panel.apply_button, LEFT)
    return blocker.args[0]


# -- random walker ------------------------------------------------------------------------------
def test_random_walker_preview_follows_the_seed_strokes_and_apply_is_one_step(
        window, qtbot, screenshot_dir):
    image, disc = noisy_disc()
    picture = show_image(window, qtbot, image, "disc")
    doc, history, canvas = window.workspace.document, window.workspace.history, window.canvas
    window.act_new_labels.trigger()  # "Seeds", and the brush tool
    seeds = doc.active
    assert seeds.name == "Seeds" and canvas.tool == "brush"
    window.op_actions["segment.random_walker"].trigger()
    panel = window.operation_panel
    assert panel.form.inputs()["seeds"] is seeds  # the only labels layer, preselected
    assert "label 1 on the object" in window.message_bar.current_text()
    previews: list[PreviewResult] = []
    panel.preview_ready.connect(previews.append)
    panel.preview_button.setChecked(True)

    window.size_spin.setValue(7)
    window.label_spin.setValue(1)
    stroke(canvas, [(70.5, 60.5), (90.5, 60.5), (80.5, 50.5)])  # object
    with qtbot.waitSignal(panel.preview_failed, timeout=30000) as failed:
        pass  # one label only: the preview says so instead of showing garbage
    assert "two labels" in failed.args[0]
    window.label_spin.setValue(2)
    with qtbot.waitSignal(panel.preview_ready, timeout=30000):
        stroke(canvas, [(6.5, 6.5), (153.5, 6.5), (153.5, 113.5)])  # background: top, right
    first = previews[-1]
    assert first.layer is picture  # the op reads the image under the seeds layer
    with qtbot.waitSignal(panel.preview_ready, timeout=30000):
        stroke(canvas, [(153.5, 113.5), (6.5, 113.5), (6.5, 6.5)])  # bottom, left
    second = previews[-1]
    assert len(previews) == 2 and second is not first
    expected = api.run("segment.random_walker", image, seeds=seeds.data)
    np.testing.assert_array_equal(second.result, expected)  # 160x120 is below the proxy budget
    shown = canvas.previews[picture.id]
    assert shown.kind == "labels" and np.array_equal(shown.array, second.result)
    qtbot.wait(50)
    assert window.grab().save(str(screenshot_dir / "segmentation_random_walker_preview.png"))

    steps = len(history.steps)
    prepared = apply(window, qtbot)
    result = prepared.new_layers[0]
    assert doc.active is result and result.kind.value == "labels"
    assert [lay.name for lay in doc] == ["disc", result.name, "Seeds"]
    np.testing.assert_array_equal(result.data, expected)
    assert dice(result.data == 1, disc) >= 0.9
    assert len(history.steps) == steps + 1
    window.act_undo.trigger()
    assert result not in doc and [lay.name for lay in doc] == ["disc", "Seeds"]
    assert np.array_equal(picture.data, image) and (seeds.data > 0).sum() > 500


# -- watershed ----------------------------------------------------------------------------------
def test_watershed_from_clicked_points_and_a_background_stroke(window, qtbot, screenshot_dir):
    image, left, right = two_discs()
    show_image(window, qtbot, image, "coins")
    doc, history, canvas = window.workspace.document, window.workspace.history, window.canvas
    window.act_new_points.trigger()
    points = doc.active
    assert canvas.tool == "points"
    click(canvas, at(canvas, 50.5, 60.5))
    click(canvas, at(canvas, 106.5, 60.5))
    assert len(points.data) == 2
    np.testing.assert_allclose(points.data, [[50, 60], [106, 60]], atol=1.0)

    steps = len(history.steps)
    window.act_points_to_markers.trigger()
    markers = doc.active
    assert markers.name == "Markers" and markers.kind.value == "labels"
    assert len(history.steps) == steps + 1 and canvas.tool == "brush"
    np.testing.assert_array_equal(markers.data, markers_from_points(points.data, (H, W)))
    assert set(np.unique(markers.data)) == {0, 1, 2}

    window.label_spin.setValue(3)  # the background marker
    window.size_spin.setValue(5)
    stroke(canvas, [(5.5, 4.5), (154.5, 4.5)])
    assert set(np.unique(markers.data)) == {0, 1, 2, 3}
    window.op_actions["segment.watershed"].trigger()
    assert window.operation_panel.form.inputs()["markers"] is markers  # named like the input
    assert "background" in window.message_bar.current_text()  # the reminder
    result = apply(window, qtbot).new_layers[0]
    np.testing.assert_array_equal(
        result.data, api.run("segment.watershed", image, markers=markers.data))
    assert iou(result.data == 1, left) >= 0.9 and iou(result.data == 2, right) >= 0.9
    assert iou(result.data == 3, ~(left | right)) >= 0.9
    qtbot.wait(50)
    assert window.grab().save(str(screenshot_dir / "segmentation_watershed.png"))


def test_proposed_watershed_markers_are_a_layer_to_fix_with_the_brush(window, qtbot):
    image, left, right = two_discs()
    show_image(window, qtbot, image, "coins")
    doc, canvas = window.workspace.document, window.canvas
    window.op_actions["segment.watershed_markers"].trigger()
    proposed = apply(window, qtbot).new_layers[0]
    assert doc.active is proposed and proposed.kind.value == "labels"
    np.testing.assert_array_equal(proposed.data, api.run("segment.watershed_markers", image))
    found = {int(proposed.data[y, x]): (x, y) for y, x in np.argwhere(proposed.data)}
    on_left = [v for v, (x, y) in sorted(found.items()) if left[y, x]]
    on_right = [v for v, (x, y) in found.items() if right[y, x]]
    assert len(on_right) == 1 and len(on_left) >= 1  # the noisy left coin may get several

    window.set_tool("brush")
    window.size_spin.setValue(5)
    window.label_spin.setValue(on_left[0])  # merge the left coin's markers into one
    stroke(canvas, [(found[v][0] + 0.5, found[v][1] + 0.5) for v in on_left])
    background = int(proposed.data.max()) + 1
    window.label_spin.setValue(background)  # and add the background marker it lacks
    stroke(canvas, [(5.5, 115.5), (154.5, 115.5)])
    assert set(np.unique(proposed.data)) == {0, on_left[0], on_right[0], background}
    window.op_actions["segment.watershed"].trigger()
    assert window.operation_panel.form.inputs()["markers"] is proposed
    result = apply(window, qtbot).new_layers[0]
    np.testing.assert_array_equal(
        result.data, api.run("segment.watershed", image, markers=proposed.data))
    assert iou(result.data == on_left[0], left) >= 0.9
    assert iou(result.data == on_right[0], right) >= 0.9


def test_points_to_markers_needs_a_points_layer(window, qtbot):
    image, _, _ = two_discs()
    show_image(window, qtbot, image, "coins")
    assert not window.act_points_to_markers.isEnabled()  # no points layer: nothing to convert
    window.act_new_points.trigger()
    assert window.act_points_to_markers.isEnabled()
    window.act_points_to_markers.trigger()
    assert "no points" in window.message_bar.current_text()
    assert len(window.workspace.document) == 2


# -- GrabCut ------------------------------------------------------------------------------------
def test_grabcut_from_a_dragged_rectangle_and_a_background_stroke(window, qtbot, screenshot_dir):
    image, obj = object_on_clutter()
    show_image(window, qtbot, image, "clutter")
    doc, canvas = window.workspace.document, window.canvas
    window.set_tool("rect")
    drag(canvas, [at(canvas, 42, 30), at(canvas, 80, 60), at(canvas, 119, 91)])
    rect = canvas.selection.mask((H, W))
    assert rect.sum() == 77 * 61
    window.act_labels_from_selection.trigger()
    mask = doc.active
    assert mask.kind.value == "labels" and np.array_equal(mask.data, rect.astype(np.int32))
    assert canvas.selection is None  # else GrabCut would run inside the rectangle only

    window.set_tool("brush")
    window.label_spin.setValue(2)  # sure background, inside the rectangle
    window.size_spin.setValue(3)
    stroke(canvas, [(45.5, 33.5), (116.5, 33.5)])
    assert set(np.unique(mask.data)) == {0, 1, 2}
    window.op_actions["segment.grabcut"].trigger()
    assert window.operation_panel.form.inputs()["mask"] is mask
    result = apply(window, qtbot).new_layers[0]
    np.testing.assert_array_equal(result.data, api.run("segment.grabcut", image, mask=mask.data))
    assert iou(result.data == 1, obj) >= 0.9
    mask.visible = False  # show the cut, not the rectangle over it
    qtbot.wait(50)
    assert window.grab().save(str(screenshot_dir / "segmentation_grabcut.png"))
