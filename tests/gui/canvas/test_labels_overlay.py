"""New labels layers start half see-through so the image under them stays visible; saved
opacities (1.0 included) come back unchanged."""

from __future__ import annotations

import numpy as np
import pytest

from imgstudio.core.document import Document, ImageLayer, LabelsLayer
from imgstudio.core.workspace import Workspace
from imgstudio.gui.palette_colors import LABEL_ALPHA, label_color
from tests.gui.canvas_events import grab_color, make_view


def test_new_labels_layers_start_at_half_opacity(workspace):
    seeds = workspace.new_labels_layer()
    mask = workspace.labels_from_mask(np.ones(workspace.document.size, bool))
    assert seeds.opacity == 0.5 and mask.opacity == 0.5
    assert LabelsLayer(np.zeros((4, 4), np.int32)).opacity == 0.5
    assert ImageLayer(np.zeros((4, 4), np.uint8)).opacity == 1.0
    assert LabelsLayer(np.zeros((4, 4), np.int32), opacity=1.0).opacity == 1.0


def test_image_shows_through_a_new_labels_overlay(qtbot, screenshot_dir):
    image = np.full((60, 80, 3), (20, 160, 40), np.uint8)
    image[:, 40:] = (200, 200, 200)
    ws = Workspace(Document([ImageLayer(image, "photo")]))
    labels = ws.new_labels_layer()
    labels.data[10:50, 10:70] = 1
    view = make_view(qtbot, ws, (400, 300))
    qtbot.wait(20)
    alpha = LABEL_ALPHA * 0.5
    colour = np.array(label_color(1)[:3], float)
    for x, base in ((20.5, image[0, 0]), (60.5, image[0, 60])):
        expected = alpha * colour + (1 - alpha) * base
        np.testing.assert_allclose(grab_color(view, x, 30.5), expected, atol=3)
    # the two halves of the image stay distinct under the overlay
    assert grab_color(view, 20.5, 30.5) != grab_color(view, 60.5, 30.5)
    view.grab().save(str(screenshot_dir / "labels_overlay_50_percent.png"))
    ws.close()


@pytest.mark.parametrize("opacity", [1.0, 0.5, 0.2])
def test_saved_labels_opacity_reopens_unchanged(tmp_path, workspace, opacity):
    labels = workspace.new_labels_layer()
    labels.opacity = opacity
    path = workspace.save(tmp_path / "p.imgs")
    again = Workspace.open(path)
    assert again.document.by_name(labels.name).opacity == opacity
    again.close()


def test_screenshot_of_seeds_over_a_photo(qtbot, workspace, screenshot_dir):
    seeds = workspace.new_labels_layer()
    seeds.data[8:30, 20:50] = 1
    seeds.data[40:60, 50:90] = 2
    view = make_view(qtbot, workspace, (480, 320))
    qtbot.wait(20)
    # a seed pixel is a mix of the photo and the label colour, not the label colour alone
    assert grab_color(view, 30.5, 15.5) != tuple(label_color(1)[:3])
    view.grab().save(str(screenshot_dir / "labels_overlay_photo.png"))
