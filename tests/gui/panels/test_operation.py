"""OperationPanel: live preview on a proxy, Apply in a worker as one history step, Cancel."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Annotated

import numpy as np
import pytest

import imgstudio.api as api
import imgstudio.core.spec as spec_module
from imgstudio.core import registry
from imgstudio.core.document import ImageLayer, LabelsLayer
from imgstudio.core.progress import Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import Image, Range, Table
from imgstudio.gui.forms import ParamForm
from imgstudio.gui.panels.operation import OperationPanel
from imgstudio.gui.preview import PREVIEW_MARGIN, WHOLE_MAX_PIXELS, PreviewResult, make_proxy
from tests.gui.canvas_events import LEFT
from tests.gui.helpers import every_kind, type_into

REGION = (10, 40, 20, 70)


class FakeCanvas:
    """The preview-target interface of the canvas, recording what it is given."""

    def __init__(self, region=REGION) -> None:
        self.region = region
        self.previews: list[tuple] = []
        self.cleared = 0

    def visible_region(self):
        return self.region

    def set_preview(self, layer, array, region=None) -> None:
        self.previews.append((layer, array, region))

    def clear_preview(self) -> None:
        self.cleared += 1


def _unregister(op_id: str) -> None:
    # Test-only ops must not leak into api.list_operations() for later tests.
    spec_module._PENDING.pop(op_id, None)
    spec_module._DECLARED.pop(op_id, None)
    registry.refresh()


@pytest.fixture
def slow_op() -> Iterator[str]:
    @operation("test.slow_op", title="Slow op", menu="Test")
    def slow_op(image: Image, *, steps: Annotated[int, Range(1, 500)] = 20,
                progress: Progress) -> Image:
        """Sleep steps × 10 ms while reporting progress, then invert."""
        for i in range(steps):
            progress(i / steps, f"step {i + 1} of {steps}")
            time.sleep(0.01)
        return api.run("basic.invert", image)

    registry.refresh()
    yield "test.slow_op"
    _unregister("test.slow_op")


@pytest.fixture
def extra_ops() -> Iterator[None]:
    """A 5×5 box blur (a neighbourhood op), a Table-valued op and the every-kind op."""

    @operation("test.box_blur", title="Box blur", menu="Test")
    def box_blur(image: Image) -> Image:
        """Mean over a 5×5 window (reflected borders)."""
        import scipy.ndimage as ndi

        size = (5, 5, 1)[: image.ndim]
        return ndi.uniform_filter(image.astype(np.float32), size).round().astype(image.dtype)

    @operation("test.stats", title="Statistics", menu="Test")
    def stats(image: Image) -> Table:
        """Mean and maximum of the image."""
        return Table({"mean": [float(image.mean())], "max": [float(image.max())]})

    operation("test.every_kind", title="Every kind", menu="Test")(every_kind)
    registry.refresh()
    yield
    for op_id in ("test.box_blur", "test.stats", "test.every_kind"):
        _unregister(op_id)


@pytest.fixture
def canvas() -> FakeCanvas:
    return FakeCanvas()


def make_panel(qtbot, workspace, jobs, settings, target) -> OperationPanel:
    panel = OperationPanel(workspace, jobs, preview_target=target, settings=settings)
    qtbot.addWidget(panel)
    panel.resize(380, 520)
    panel.show()
    return panel


@pytest.fixture
def panel(qtbot, workspace, jobs, settings, canvas) -> OperationPanel:
    return make_panel(qtbot, workspace, jobs, settings, canvas)


def toggle_preview(qtbot, panel) -> PreviewResult:
    with qtbot.waitSignal(panel.preview_ready, timeout=5000) as blocker:
        qtbot.mouseClick(panel.preview_button, LEFT)
    return blocker.args[0]


def click_apply(qtbot, panel, signal=None, timeout=5000):
    with qtbot.waitSignal(signal or panel.applied, timeout=timeout) as blocker:
        qtbot.mouseClick(panel.apply_button, LEFT)
    return blocker.args[0]


# -- preview ----------------------------------------------------------------------------------

def test_preview_of_the_visible_region_equals_the_op_on_that_crop(qtbot, panel, canvas,
                                                                  workspace):
    layer = workspace.document.active
    before = layer.data.copy()
    panel.set_operation("basic.gamma")
    type_into(qtbot, panel.form.widget_for("gamma"), "2.5")
    toggle_preview(qtbot, panel)
    shown_layer, array, region = canvas.previews[-1]
    y0, y1, x0, x1 = REGION
    assert shown_layer is layer and region == REGION
    np.testing.assert_array_equal(array, api.run("basic.gamma", before[y0:y1, x0:x1], gamma=2.5))
    assert workspace.history.steps == () and np.array_equal(layer.data, before)


def test_preview_is_debounced_and_shows_the_last_value(qtbot, panel, canvas, workspace):
    panel.set_operation("basic.gamma")
    toggle_preview(qtbot, panel)
    with qtbot.waitSignal(panel.preview_ready, timeout=5000):
        type_into(qtbot, panel.form.widget_for("gamma"), "0.75")  # 4 changes, one preview
    qtbot.wait(250)
    assert len(canvas.previews) == 2
    y0, y1, x0, x1 = REGION
    crop = workspace.document.active.data[y0:y1, x0:x1]
    np.testing.assert_array_equal(canvas.previews[-1][1], api.run("basic.gamma", crop, gamma=0.75))


def test_region_preview_of_a_neighbourhood_op_matches_the_full_result(
        qtbot, panel, canvas, workspace, extra_ops):
    panel.set_operation("test.box_blur")
    toggle_preview(qtbot, panel)
    y0, y1, x0, x1 = REGION
    full = api.run("test.box_blur", workspace.document.active.data)
    np.testing.assert_array_equal(canvas.previews[-1][1], full[y0:y1, x0:x1])


def test_geometry_ops_preview_the_whole_layer(qtbot, panel, canvas, workspace):
    panel.set_operation("basic.rotate")
    preview = toggle_preview(qtbot, panel)
    layer, array, region = canvas.previews[-1]
    assert region is None and preview.region is None and preview.scale == 1.0
    np.testing.assert_array_equal(array, api.run("basic.rotate", layer.data, angle=90.0))


def test_without_a_target_the_preview_covers_the_whole_image(qtbot, workspace, jobs,
                                                            settings):
    panel = make_panel(qtbot, workspace, jobs, settings, None)
    panel.set_operation("basic.invert")
    preview = toggle_preview(qtbot, panel)
    assert preview.region is None and preview.layer is workspace.document.active
    np.testing.assert_array_equal(preview.result,
                                  api.run("basic.invert", workspace.document.active.data))


def test_a_large_layer_is_previewed_at_a_downscaled_proxy(qtbot, workspace, jobs, settings):
    big = np.random.default_rng(1).integers(0, 256, (1500, 1600, 3), dtype=np.uint8)
    workspace.add_layer(ImageLayer(big, "big"))
    panel = make_panel(qtbot, workspace, jobs, settings, None)
    panel.set_operation("basic.invert")
    preview = toggle_preview(qtbot, panel)
    h, w = preview.result.shape[:2]
    assert preview.scale < 1 and h * w <= WHOLE_MAX_PIXELS and abs(w / h - 1600 / 1500) < 0.01


def test_turning_preview_off_or_switching_op_clears_it(qtbot, panel, canvas, workspace):
    panel.set_operation("basic.invert")
    toggle_preview(qtbot, panel)
    cleared = canvas.cleared
    qtbot.mouseClick(panel.preview_button, LEFT)
    assert canvas.cleared == cleared + 1 and not panel.preview_button.isChecked()
    toggle_preview(qtbot, panel)
    panel.set_operation("basic.gamma")
    assert canvas.cleared == cleared + 2
    assert workspace.history.steps == ()


def test_an_invalid_preview_reports_instead_of_showing(qtbot, panel, canvas):
    panel.set_operation("basic.levels")
    panel.form.set_values({"black": 200.0, "white": 100.0})
    with qtbot.waitSignal(panel.preview_failed, timeout=5000) as blocker:
        qtbot.mouseClick(panel.preview_button, LEFT)
    assert "white" in blocker.args[0] and canvas.previews == []


def test_proxy_region_is_clipped_to_the_layer_with_its_margin():
    image = np.zeros((100, 200, 3), np.uint8)
    proxy = make_proxy(api.get_operation("basic.gamma"), {"image": image}, (-10, 50, 150, 260))
    assert proxy.region == (0, 50, 150, 200) and proxy.scale == 1.0
    assert proxy.inputs["image"].shape == (50 + PREVIEW_MARGIN, 50 + PREVIEW_MARGIN, 3)
    assert proxy.inner == (0, 50, PREVIEW_MARGIN, PREVIEW_MARGIN + 50)


def test_proxy_is_the_whole_layer_for_points_inputs_and_other_outputs():
    image = np.zeros((1500, 1500), np.uint8)
    corners = np.array([[0, 0], [10, 0], [10, 10], [0, 10]], float)
    spec = api.get_operation("basic.perspective")
    proxy = make_proxy(spec, {"image": image, "corners": corners}, REGION)
    assert proxy.region is None and proxy.scale == 1.0 and proxy.inputs["image"] is image


def test_labels_are_downscaled_by_nearest_keeping_their_values():
    from imgstudio.gui.preview import downscale

    labels = np.repeat(np.arange(2000, dtype=np.int32)[None, :], 1200, axis=0)
    small = downscale(labels, 0.5, labels=True)
    assert small.shape == (600, 1000) and small.dtype == np.int32
    assert set(np.unique(small)) <= set(range(2000))


# -- apply ------------------------------------------------------------------------------------

def test_apply_equals_api_run_and_adds_one_history_step(qtbot, panel, workspace, settings):
    layer = workspace.document.active
    before = layer.data.copy()
    panel.set_operation("basic.gamma")
    type_into(qtbot, panel.form.widget_for("gamma"), "1.8")
    busy = []
    panel.busy_changed.connect(busy.append)
    applied = click_apply(qtbot, panel)
    qtbot.waitUntil(lambda: busy == [True, False], timeout=2000)
    np.testing.assert_array_equal(layer.data, api.run("basic.gamma", before, gamma=1.8))
    assert len(workspace.history.steps) == 1 and applied.command is workspace.history.steps[0]
    remembered = ParamForm(api.get_operation("basic.gamma"), workspace.document, settings)
    assert remembered.values() == {"gamma": 1.8}
    remembered.deleteLater()


def test_apply_of_a_labels_result_adds_a_layer(qtbot, panel, workspace):
    image = workspace.document.active.data.copy()
    panel.set_operation("basic.color_mask")
    applied = click_apply(qtbot, panel)
    new = workspace.document.active
    assert isinstance(new, LabelsLayer) and applied.new_layers == [new]
    np.testing.assert_array_equal(new.data, api.run("basic.color_mask", image))
    assert len(workspace.history.steps) == 1


def test_a_non_layer_result_is_emitted_for_the_window(qtbot, panel, workspace, extra_ops):
    panel.set_operation("test.stats")
    with qtbot.waitSignal(panel.result_ready, timeout=5000) as blocker:
        qtbot.mouseClick(panel.apply_button, LEFT)
    assert isinstance(blocker.args[0], Table)
    assert blocker.args[0].columns["max"] == [float(workspace.document.active.data.max())]


@pytest.mark.parametrize(("op_id", "values", "name"), [
    ("basic.levels", {"black": 200.0, "white": 100.0}, "white"),
    ("basic.crop", {"x": 1000, "width": 10, "height": 10}, "x"),
])
def test_an_op_raising_value_error_fails_naming_the_parameter(qtbot, panel, workspace, op_id,
                                                              values, name):
    layer = workspace.document.active
    before = layer.data.copy()
    panel.set_operation(op_id)
    panel.form.set_values(values)
    message = click_apply(qtbot, panel, panel.failed)
    title = api.get_operation(op_id).title
    assert message.startswith(f"{title} ({op_id}): {name} must") and "\n" not in message
    qtbot.waitUntil(lambda: not panel.busy, timeout=2000)
    assert workspace.history.steps == () and np.array_equal(layer.data, before)


def test_invalid_values_fail_before_any_job_starts(qtbot, panel, workspace, jobs, extra_ops):
    workspace.new_labels_layer("seeds")
    workspace.document.active = workspace.document.by_name("astronaut")
    steps = len(workspace.history.steps)
    panel.set_operation("test.every_kind")
    panel.form.widget_for("freqs").clear()
    qtbot.keyClicks(panel.form.widget_for("freqs"), "1, x")
    with qtbot.waitSignal(panel.failed, timeout=1000) as blocker:
        qtbot.mouseClick(panel.apply_button, LEFT)
    assert "freqs" in blocker.args[0] and jobs.live == [] and not panel.busy
    assert len(workspace.history.steps) == steps


def test_cancel_stops_a_long_running_op_quickly_and_changes_nothing(
        qtbot, panel, workspace, slow_op, screenshot_dir):
    layer = workspace.document.active
    before = layer.data.copy()
    panel.set_operation(slow_op)
    panel.form.set_values({"steps": 400})  # 4 s if not cancelled
    assert not panel.cancel_button.isEnabled()
    qtbot.mouseClick(panel.apply_button, LEFT)
    qtbot.waitUntil(lambda: panel.progress_bar.value() > 0, timeout=3000)
    assert panel.cancel_button.isEnabled() and not panel.apply_button.isEnabled()
    panel.grab().save(str(screenshot_dir / "operation_panel_running.png"))
    start = time.perf_counter()
    with qtbot.waitSignal(panel.busy_changed, timeout=2000, check_params_cb=lambda b: not b):
        qtbot.mouseClick(panel.cancel_button, LEFT)
    assert time.perf_counter() - start < 1.0
    assert workspace.history.steps == () and np.array_equal(layer.data, before)
    assert panel.status_label.text() == "Cancelled" and not panel.cancel_button.isEnabled()


def test_apply_goes_to_the_layer_active_when_it_was_clicked(qtbot, panel, workspace, slow_op):
    first = workspace.document.active
    before = first.data.copy()
    other = workspace.add_layer(ImageLayer(before.copy(), "other"))
    workspace.document.active = first
    panel.set_operation(slow_op)
    with qtbot.waitSignal(panel.applied, timeout=5000):
        qtbot.mouseClick(panel.apply_button, LEFT)
        workspace.document.active = other  # the user moves on while it runs
    np.testing.assert_array_equal(first.data, api.run("basic.invert", before))
    np.testing.assert_array_equal(other.data, before)
    assert len(workspace.history.steps) == 2  # add "other" + the op


def test_editing_the_layer_while_it_runs_fails_instead_of_overwriting(
        qtbot, panel, workspace, slow_op):
    layer = workspace.document.active
    panel.set_operation(slow_op)
    with qtbot.waitSignal(panel.failed, timeout=5000) as blocker:
        qtbot.mouseClick(panel.apply_button, LEFT)
        layer.data = np.zeros_like(layer.data)  # e.g. a brush stroke
    assert "was edited while it ran" in blocker.args[0]
    assert workspace.history.steps == () and not layer.data.any()


# -- screenshots ------------------------------------------------------------------------------

def test_screenshots_of_the_panel(qtbot, panel, workspace, screenshot_dir, extra_ops):
    panel.set_operation("basic.rotate")
    qtbot.wait(50)
    assert panel.grab().save(str(screenshot_dir / "operation_panel_rotate.png"))
    workspace.new_labels_layer("seeds")
    panel.set_operation("test.every_kind")
    panel.resize(420, 760)
    qtbot.wait(50)
    assert panel.grab().save(str(screenshot_dir / "operation_panel_every_kind.png"))


def test_list_input_is_picked_in_the_form_and_applied_as_a_new_layer(qtbot, workspace):
    from imgstudio.core.document import ImageLayer
    from imgstudio.gui.panels.operation import OperationPanel
    from imgstudio.gui.workers import JobManager

    base = workspace.document[0].data
    workspace.document.append(ImageLayer(255 - base, "negative"))
    jobs = JobManager()
    panel = OperationPanel(workspace, jobs)
    qtbot.addWidget(panel)
    panel.set_operation("artistic.long_exposure")
    assert not panel.preview_button.isEnabled()  # list inputs run with Apply only
    panel.form.set_inputs({"frames": ["astronaut", "negative"]})
    with qtbot.waitSignal(panel.applied, timeout=20000):
        panel.apply()
    jobs.wait()
    result = workspace.document.active.data
    expected = api.run("artistic.long_exposure", frames=[base, 255 - base])
    assert len(workspace.document) == 3 and np.array_equal(result, expected)


def test_an_op_on_the_seeds_being_painted_reads_the_image_below(qtbot, panel, workspace, canvas):
    image = workspace.document.active
    seeds = workspace.new_labels_layer()  # above the image, and active: the brush paints it
    seeds.data[5:10, 5:40] = 1
    seeds.data[50:60, 5:90] = 2
    panel.set_operation("segment.random_walker")
    assert panel.form.inputs()["seeds"] is seeds
    preview = toggle_preview(qtbot, panel)
    assert preview.layer is image and canvas.previews[-1][0] is image
    applied = click_apply(qtbot, panel, timeout=30000)
    np.testing.assert_array_equal(
        applied.new_layers[0].data,
        api.run("segment.random_walker", image.data, seeds=seeds.data))
    assert [lay.name for lay in workspace.document] == ["astronaut", "Random walker of astronaut",
                                                        "Seeds"]


def test_an_image_picked_as_another_input_still_feeds_the_first_one(workspace):
    from imgstudio.gui.panels.operation import input_layer

    doc = workspace.document
    first = doc.active
    other = workspace.add_layer(ImageLayer(first.data.copy(), "other"))  # active
    spec = api.get_operation("enhance.histogram_match")
    assert input_layer(spec, doc, {"reference": other}) is other
    seeds = workspace.new_labels_layer()
    rw = api.get_operation("segment.random_walker")
    assert input_layer(rw, doc, {"seeds": seeds}) is other  # the image right below
    assert input_layer(rw, doc, {"seeds": None}) is seeds  # not picked: a labels-as-image input
    doc.move(seeds, 0)
    assert input_layer(rw, doc, {"seeds": seeds}) is first  # nothing below: the nearest above
