"""train.unet: a short training lowers the loss and raises the held-out IoU, the trained model
runs in segment.unet by name, resume continues exactly, cancel keeps a loadable checkpoint,
folder datasets of image/mask pairs work and bad input is refused by name."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import imgstudio.api as api
from imgstudio.core.io import save_image
from imgstudio.core.progress import Cancelled, Progress
from imgstudio.models import store
from imgstudio.ops import _training as tr
from imgstudio.ops.train import _shapes
from imgstudio.ops.train.unet import VALIDATION, iou, load_pairs

#: Small and quick: 32-pixel crops, a 2-level U-Net with 8 channels (a fraction of a second
#: an epoch).
QUICK = {"epochs": 4, "samples": 64, "batch_size": 8, "size": 32, "base": 8, "depth": 2,
         "learning_rate": 1e-2, "seed": 3}


@pytest.fixture(scope="module")
def private_store(tmp_path_factory):
    """A private model store for the whole module (the trained model is shared by tests)."""
    root = tmp_path_factory.mktemp("unet-store")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("IMGSTUDIO_MODELS", str(root / "models"))
        mp.setenv("XDG_DATA_HOME", str(root / "data"))
        mp.setenv("TORCH_HOME", str(root / "torch"))
        store.forget()
        yield root
        store.forget()


@pytest.fixture(scope="module")
def quick(private_store):
    """One uninterrupted QUICK training and what it reported each epoch."""
    reports: list[dict] = []
    out = api.run("train.unet", **QUICK, name="quick-unet", output=private_store / "quick.pt",
                  progress=Progress(None, lambda name, data: reports.append(data)))
    return out, reports


def test_catalog_entry():
    spec = next(s for s in api.list_operations() if s.id == "train.unet")
    names = {p.name for p in spec.params}
    assert {"dataset", "epochs", "batch_size", "seed", "output", "name", "resume",
            "learning_rate", "size"} <= names
    assert spec.param("dataset").default == "shapes" and spec.param("name").default == "my-unet"
    assert spec.menu == "Tools/Train" and not spec.inputs
    assert dict(spec.editor.training.uses) == {"segment.unet": "model"}


def test_short_training_lowers_the_loss_and_raises_the_held_out_iou(quick):
    out, reports = quick
    loss, held_out = out.losses.columns["loss"], out.losses.columns["iou"]
    assert out.losses.columns["epoch"] == [1, 2, 3, 4] and out.epochs == 4
    assert loss[-1] < 0.8 * loss[0] and loss[-1] < loss[1], loss
    assert held_out[-1] > held_out[0] + 0.05 and held_out[-1] > 0.4, held_out
    assert np.all(np.diff(held_out) > 0), held_out
    assert [r["epoch"] for r in reports] == [1, 2, 3, 4]
    assert [r["iou"] for r in reports] == held_out and out.metrics["iou"] == held_out[-1]
    preview = reports[-1]["preview"]  # 3 rows of image | predicted | true mask
    assert preview.dtype == np.uint8 and preview.shape == (3 * 33 - 1, 3 * 33 - 1, 3)
    assert set(np.unique(preview[:32, 66:])) <= {0, 255}  # the true mask, black and white
    _, vy = _shapes.shapes(1, 32, _shapes.VALIDATION_SEED)
    assert np.array_equal(preview[:32, 66:, 0] > 0, vy[0] > 0)


def test_the_trained_model_runs_in_segment_unet_by_name_and_gives_the_reported_iou(quick):
    out, _ = quick
    card = store.find("quick-unet").info
    assert card.architecture == "imgstudio-unet" and card.config == {"in_channels": 3, "base": 8,
                                                                     "depth": 2}
    assert card.training["seed"] == 3 and card.training["metrics"]["iou"] == out.metrics["iou"]
    assert json.loads((Path(out.path).with_suffix(".json")).read_text())["name"] == "quick-unet"
    # segment.unet over the op's validation set reproduces the IoU the training measured
    vx, vy = _shapes.shapes(VALIDATION, 32, _shapes.VALIDATION_SEED)
    masks = np.stack([api.run("segment.unet", im, model="quick-unet") for im in vx])
    assert masks.dtype == np.int32 and set(np.unique(masks)) <= {0, 1}
    assert iou(masks, vy) == pytest.approx(out.metrics["iou"], abs=2e-3)


def test_cancel_keeps_a_loadable_checkpoint_and_resume_continues_exactly(quick, private_store):
    out, _ = quick
    target = private_store / "resumed.pt"
    job = Progress(None, lambda name, data: job.cancel() if data["epoch"] == 2 else None)
    with pytest.raises(Cancelled):
        api.run("train.unet", **QUICK, name="resumed", output=target, progress=job)
    assert not target.exists()  # nothing registered: only the checkpoint
    state = tr.load_checkpoint(tr.checkpoint_path(target))
    assert state["epoch"] == 2 and state["history"]["epoch"] == [1, 2]
    assert state["history"]["loss"] == out.losses.columns["loss"][:2]
    resumed = api.run("train.unet", **QUICK, name="resumed", output=target, resume=True)
    assert resumed.losses.columns["epoch"] == [1, 2, 3, 4]
    for key in ("loss", "iou", "learning_rate"):  # the same as the uninterrupted training
        assert resumed.losses.columns[key] == out.losses.columns[key], key
    a, b = tr.load_checkpoint(tr.checkpoint_path(target)), \
        tr.load_checkpoint(tr.checkpoint_path(Path(out.path)))
    assert a["extra"] == b["extra"] and set(a["modules"]) == {"unet", "average"}
    for module in ("unet", "average"):
        for name, tensor in a["modules"][module].items():
            assert np.array_equal(tensor.numpy(), b["modules"][module][name].numpy()), name
    with pytest.raises(ValueError, match="other settings"):
        api.run("train.unet", **{**QUICK, "base": 4}, name="resumed", output=target, resume=True)
    with pytest.raises(ValueError, match="resume"):
        api.run("train.unet", **QUICK, output=private_store / "never.pt", resume=True)


def _pairs(folder, count=3, size=(40, 48), seed=5):
    x, y = _shapes.shapes(count, max(size), seed)
    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    for i in range(count):
        save_image(folder / "images" / f"p{i}.png", tr.to_uint8(x[i, :size[0], :size[1]]))
        save_image(folder / "masks" / f"p{i}.png", (y[i, :size[0], :size[1]] * (i + 1) * 60)
                   .astype(np.uint8))
    return x[:, :size[0], :size[1]], y[:, :size[0], :size[1]]


def test_a_folder_of_pairs_trains_and_masks_above_zero_are_foreground(tmp_path, private_store):
    x, y = _pairs(tmp_path / "pairs")
    pairs = load_pairs(tmp_path / "pairs", 32)
    assert pairs.stems == ["p0", "p1", "p2"]
    for i in range(3):
        assert np.array_equal(pairs.masks[i], y[i]) and pairs.images[i].shape == (40, 48, 3)
        assert np.abs(pairs.images[i] - x[i]).max() <= 0.5 / 255 + 1e-6
    small = load_pairs(tmp_path / "pairs", 64)  # smaller than a crop: mirrored out, mask too
    assert small.images[0].shape == (64, 64, 3)
    assert np.array_equal(small.masks[0][12:52, 8:56], y[0])
    out = api.run("train.unet", dataset=str(tmp_path / "pairs"), epochs=1, samples=32,
                  size=32, base=4, depth=2, name="pairs-unet", output=private_store / "pairs.pt")
    assert out.epochs == 1 and 0.0 <= out.metrics["iou"] <= 1.0
    assert "3 image/mask pairs" in store.find("pairs-unet").info.training["dataset"]
    assert api.run("segment.unet", x[0], model=str(private_store / "pairs.pt")).shape == (40, 48)


def test_bad_folders_are_refused_naming_the_files(tmp_path):
    def refused(folder, *words):
        with pytest.raises(ValueError) as err:
            api.run("train.unet", dataset=str(folder), epochs=1)
        assert "dataset" in str(err.value) and all(w in str(err.value) for w in words), err.value

    refused(tmp_path / "nowhere", "neither")
    (tmp_path / "a" / "images").mkdir(parents=True)
    refused(tmp_path / "a", "masks/")
    (tmp_path / "a" / "masks").mkdir()
    refused(tmp_path / "a", "no images")
    img = np.zeros((20, 24, 3), np.uint8)
    save_image(tmp_path / "a" / "images" / "one.png", img)
    save_image(tmp_path / "a" / "images" / "two.png", img)
    save_image(tmp_path / "a" / "masks" / "one.png", np.zeros((20, 24), np.uint8))
    refused(tmp_path / "a", "without a mask", "two")
    save_image(tmp_path / "a" / "masks" / "two.png", np.zeros((20, 25), np.uint8))
    save_image(tmp_path / "a" / "masks" / "three.png", np.zeros((20, 24), np.uint8))
    refused(tmp_path / "a", "without an image", "three")
    (tmp_path / "a" / "masks" / "three.png").unlink()
    refused(tmp_path / "a", "two.png", "size")
    (tmp_path / "a" / "masks" / "two.png").write_bytes(b"not a picture")
    refused(tmp_path / "a", "cannot read", "two")


@pytest.mark.parametrize("params, name", [
    ({"epochs": 0}, "epochs"), ({"batch_size": 0}, "batch_size"), ({"samples": 0}, "samples"),
    ({"learning_rate": 0.0}, "learning_rate"), ({"learning_rate": float("nan")}, "learning_rate"),
    ({"size": 30}, "size"), ({"size": 8}, "size"), ({"size": 16, "depth": 4}, "size"),
    ({"depth": 9}, "depth"), ({"base": 0}, "base"),
    ({"seed": -1}, "seed"), ({"name": "bad name"}, "name"), ({"dataset": ""}, "dataset"),
    ({"output": "weights.txt"}, "output"),
])
def test_bad_parameters_raise_value_errors_naming_them(params, name, models):
    with pytest.raises(ValueError, match=name):
        api.run("train.unet", **params)
