"""train.classifier: transfer learning on a small imbalanced folder of two Fashion-MNIST classes
(50 sneakers, 10 bags: 5:1), with the shipped EfficientNet-Lite0 backbone frozen."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import imgstudio.api as api
from imgstudio.core.errors import ModelNotFoundError
from imgstudio.core.io import load_image, save_image
from imgstudio.core.progress import Cancelled, Progress
from imgstudio.models import loading, store
from imgstudio.ops import _training as tr

#: Small and fast: 64-pixel inputs, two augmented views per image, three epochs.
SMALL = {"input_size": 64, "views": 2, "epochs": 3, "batch_size": 16}
#: Sneaker (7) × 50 and Bag (8) × 10.
PAIR = ((7, 50), (8, 10))


def fashion_folder(root: Path, pair=PAIR) -> Path:
    """A class folder of Fashion-MNIST test images (28×28 grey PNGs), the first of each class."""
    try:
        x, y = tr.fashion_mnist("test")
    except ValueError as exc:
        pytest.skip(str(exc))
    root.mkdir(parents=True, exist_ok=True)
    for cls, n in pair:
        sub = root / tr.FASHION_CLASSES[cls].replace("/", " or ")
        sub.mkdir(exist_ok=True)
        for k, i in enumerate(np.flatnonzero(y == cls)[:n]):
            save_image(sub / f"{k:03d}.png", x[i])
    return root


def validation_files(folder: Path, seed: int = 0, val_split: float = 0.2):
    """The validation images and their class ids, as the op splits them (stratified)."""
    files, ids, classes = tr.load_classes(folder)
    _, val = tr.split(len(files), val_split, seed, ids)
    return [files[i] for i in val], ids[val], classes


def top_classes(model, files) -> list[str]:
    return [api.run("classify.custom", load_image(f), model=model).items[0][0] for f in files]


def train(folder, output, progress=None, **params):
    return api.run("train.classifier", progress=progress, folder=folder, output=output,
                   **{**SMALL, **params})


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return fashion_folder(tmp_path_factory.mktemp("fashion") / "clothes")


@pytest.fixture(scope="module")
def trained(folder, tmp_path_factory):
    """The reference training (balanced, seed 0), in a private model store, with its reports."""
    tmp = tmp_path_factory.mktemp("trained")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("IMGSTUDIO_MODELS", str(tmp / "models"))
        mp.setenv("XDG_DATA_HOME", str(tmp / "data"))
        store.forget()
        reports = []
        result = train(folder, tmp / "a.pt",
                       Progress(on_report=lambda name, data: reports.append((name, data))))
        yield {"result": result, "path": tmp / "a.pt", "reports": reports}
        store.forget()


def _tensors(path):
    return loading.state_dict(Path(path))


def _equal(a, b) -> bool:
    return sorted(a) == sorted(b) and all(torch.equal(a[k], b[k]) for k in a)


def test_augmented_views_do_what_their_numbers_say():
    from imgstudio.ops.classify import custom
    from imgstudio.ops.train.classifier import augmented

    rng = np.random.default_rng(0)
    image = (rng.random((40, 50, 3)) * 255).astype(np.uint8)
    base = custom.base_view(image, 32)
    centre = custom.centre_view(base, 32)
    assert base.shape == (3, 37, 46) and centre.shape == (3, 32, 32)  # 32 · 256/224 = 36.6
    identity = [0.0, 0.5, 0.5, 0.5, 0.9, 0.5, 0.5, 0.5]  # zoom 1, 0°, no shift, flip, jitter
    assert torch.allclose(augmented(base, 32, identity), centre, atol=1e-6)
    flipped = augmented(base, 32, [0.0, 0.5, 0.5, 0.5, 0.1, 0.5, 0.5, 0.5])
    assert torch.allclose(flipped, centre.flip(-1), atol=1e-6)
    brighter = augmented(base, 32, [0.0, 0.5, 0.5, 0.5, 0.9, 1.0, 0.5, 0.5])
    assert torch.allclose(brighter, (centre * 1.2).clamp(0, 1), atol=1e-6)
    rotated = augmented(base, 32, [0.0, 1.0, 0.5, 0.5, 0.9, 0.5, 0.5, 0.5])  # 10°
    assert not torch.allclose(rotated, centre, atol=0.05)


def test_training_reaches_90_percent_and_the_card_holds_labels_weights_and_metrics(folder, trained):
    result, path = trained["result"], trained["path"]
    m = result.metrics
    assert m["val_accuracy"] >= 0.9, m  # measured 1.0
    assert result.epochs == 3 and result.losses.columns["epoch"] == [1, 2, 3]
    # the stratified split: a fifth of each class kept aside
    assert (m["train_images"], m["val_images"]) == (40 + 8, 10 + 2)
    # class weights inverse to the training counts: n / (k · n_c) = 48 / (2 · 40), 48 / (2 · 8)
    assert m["class_weight.Sneaker"] == pytest.approx(48 / 80)
    assert m["class_weight.Bag"] == pytest.approx(48 / 16)
    # the overall accuracy is the per-class accuracies weighed by their validation images
    assert m["val_accuracy"] == pytest.approx((10 * m["val_accuracy.Sneaker"]
                                               + 2 * m["val_accuracy.Bag"]) / 12)
    card = json.loads(path.with_suffix(".json").read_text())
    assert card["labels"] == ["Bag", "Sneaker"] and card["architecture"] == "transfer-classifier"
    assert card["config"]["arch"] == "efficientnet_lite0" and card["config"]["input_size"] == 64
    assert card["config"]["backbone"]["sha256"] == store.find("efficientnet-lite0").info.sha256
    assert card["training"]["metrics"] == pytest.approx(m)
    assert card["training"]["trained_by"] == "train.classifier"
    # the file holds the whole network: backbone and head
    tensors = _tensors(path)
    assert "net.head.1.weight" in tensors and tensors["net.head.1.weight"].shape == (2, 1280)
    assert "net.backbone._conv_stem.weight" in tensors
    assert not any(k.startswith("net.backbone._fc") for k in tensors)


def test_each_epoch_reports_its_measures_and_a_preview_of_validation_images(trained):
    epochs = [d for name, d in trained["reports"] if name == "epoch"]
    assert [d["epoch"] for d in epochs] == [1, 2, 3]
    history = trained["result"].losses.columns
    for d, k in zip(epochs, range(3), strict=True):
        for key in ("loss", "train_accuracy", "val_loss", "val_accuracy"):
            assert d[key] == pytest.approx(history[key][k])
            assert np.isfinite(d[key])
    assert history["loss"][-1] < history["loss"][0]
    preview = epochs[-1]["preview"]
    # 12 validation images of 40 px in a 4-wide grid, 2 px apart: 3 rows
    assert preview.dtype == np.uint8 and preview.shape == (3 * 42 - 2, 4 * 42 - 2, 3)
    # each framed green (right) or red (wrong): all right at 100 % validation accuracy
    assert trained["result"].metrics["val_accuracy"] == 1.0
    assert np.array_equal(preview[0, 0], [40, 200, 60])


def test_the_same_seed_gives_the_same_weights(folder, trained, models, tmp_path):
    again = train(folder, tmp_path / "b.pt")
    assert _equal(_tensors(trained["path"]), _tensors(tmp_path / "b.pt"))
    assert again.losses.columns["loss"] == trained["result"].losses.columns["loss"]


def test_balance_moves_the_loss_optimum_to_equal_classes(models, tmp_path):
    # 60 copies of one picture, 50 filed as "a" and 10 as "b": no network tells them apart, so
    # the best any loss can do is one constant prediction. Plain cross-entropy is lowest at the
    # training split's frequency, P(b) = 8 / 48 = 1/6; weighted by n / (k · n_c) it is lowest at
    # P(b) = w_b·n_b / (w_a·n_a + w_b·n_b) = 24 / 48 = 1/2. Full batches reach the optimum.
    try:
        x, y = tr.fashion_mnist("test")
    except ValueError as exc:
        pytest.skip(str(exc))
    picture = x[np.flatnonzero(y == 7)[0]]
    root = tmp_path / "same"
    for cname, n in (("a", 50), ("b", 10)):
        (root / cname).mkdir(parents=True)
        for k in range(n):
            save_image(root / cname / f"{k:02d}.png", picture)
    settings = {"input_size": 32, "augment": False, "epochs": 40, "batch_size": 64,
                "learning_rate": 0.01}
    p_b = {}
    for balance in (True, False):
        result = api.run("train.classifier", folder=root, output=tmp_path / f"{balance}.pt",
                         balance=balance, **settings)
        weights = (result.metrics["class_weight.a"], result.metrics["class_weight.b"])
        assert weights == ((pytest.approx(48 / 80), pytest.approx(48 / 16)) if balance
                           else (1.0, 1.0))
        p_b[balance] = dict(api.run("classify.custom", picture,
                                    model=tmp_path / f"{balance}.pt").items)["b"]
    assert p_b[True] == pytest.approx(1 / 2, abs=0.03)  # measured 0.491 (seed 7: 0.509)
    assert p_b[False] == pytest.approx(1 / 6, abs=0.03)  # measured 0.166 (seed 7: 0.173)


def test_cancel_keeps_a_loadable_checkpoint_and_resume_reaches_the_same_weights(
        folder, trained, models, tmp_path):
    def on_progress(fraction, message):
        if message.startswith("epoch 2/3, batch 2/"):
            progress.cancel()

    progress = Progress(on_progress)
    target = tmp_path / "c.pt"
    with pytest.raises(Cancelled, match="epoch 1"):
        train(folder, target, progress)
    assert not target.exists() and not target.with_suffix(".json").exists()
    state = tr.load_checkpoint(tr.checkpoint_path(target))
    assert state["kind"] == "classifier" and state["epoch"] == 1
    head = torch.nn.Sequential(torch.nn.Dropout(0.2), torch.nn.Linear(1280, 2))
    head.load_state_dict(state["modules"]["head"])  # a checkpoint of the trained head
    with pytest.raises(ValueError, match="^resume"):
        train(folder, target, resume=True, balance=False)  # other settings
    with pytest.raises(ValueError, match="^resume"):
        train(folder, tmp_path / "none.pt", resume=True)  # no checkpoint
    resumed = train(folder, target, resume=True)
    assert resumed.losses.columns["epoch"] == [1, 2, 3]
    assert resumed.losses.columns["loss"] == trained["result"].losses.columns["loss"]
    assert _equal(_tensors(target), _tensors(trained["path"]))


@pytest.mark.parametrize("case", ["missing", "file", "one class", "empty class", "one image",
                                  "unreadable image"])
def test_bad_folders_are_refused_naming_folder(case, tmp_path):
    root = tmp_path / "data"
    image = np.zeros((8, 8), np.uint8)
    if case == "file":
        root.write_bytes(b"not a folder")
    elif case != "missing":
        for cname, n in {"one class": {"a": 3}, "empty class": {"a": 3, "b": 0},
                         "one image": {"a": 3, "b": 1}, "unreadable image": {"a": 2, "b": 2}
                         }[case].items():
            (root / cname).mkdir(parents=True)
            for k in range(n):
                save_image(root / cname / f"{k}.png", image)
        if case == "unreadable image":
            (root / "a" / "0.png").write_bytes(b"not a picture")
    with pytest.raises(ValueError, match="^folder"):
        api.run("train.classifier", folder=root, input_size=32)


@pytest.mark.parametrize("params, named", [
    ({"output": "model.txt"}, "output"), ({"name": "no spaces"}, "name"),
    ({"input_size": 16}, "input_size"), ({"val_split": 0.9}, "val_split"),
    ({"arch": "resnet50"}, "arch"), ({"epochs": 0}, "epochs"),
])
def test_bad_parameters_are_refused_by_name(params, named, folder, tmp_path):
    params = {"output": tmp_path / "m.pt", **params}
    with pytest.raises(ValueError, match=f"^{named}"):
        api.run("train.classifier", folder=folder, **params)


def test_mobilenet_v2_needs_its_weights_in_the_store(folder, models, tmp_path):
    with pytest.raises(ModelNotFoundError, match="mobilenet-v2-imagenet"):
        train(folder, tmp_path / "m.pt", arch="mobilenet_v2")


def test_mobilenet_v2_trains_from_weights_in_the_store(folder, models, tmp_path):
    import torchvision

    # no real weights can be had here: random ones, imported under the store name
    torch.manual_seed(0)
    torch.save(torchvision.models.mobilenet_v2(weights=None).state_dict(), tmp_path / "mv2.pth")
    store.import_file(tmp_path / "mv2.pth", "mobilenet-v2-imagenet")
    result = train(folder, tmp_path / "mv2.pt", arch="mobilenet_v2", input_size=32, epochs=1,
                   augment=False)
    card = json.loads((tmp_path / "mv2.json").read_text())
    assert card["config"]["arch"] == "mobilenet_v2"
    assert "net.backbone.18.0.weight" in _tensors(tmp_path / "mv2.pt")
    files, ids, classes = validation_files(folder)
    right = [c == classes[i] for c, i in zip(top_classes(tmp_path / "mv2.pt", files), ids,
                                             strict=True)]
    assert np.mean(right) == result.metrics["val_accuracy"]
