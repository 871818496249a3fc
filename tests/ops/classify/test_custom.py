"""classify.custom: models train.classifier made, run by file or by name, image for image the
network the training measured."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import imgstudio.api as api
from imgstudio.core.io import load_image
from imgstudio.models import loading, store
from imgstudio.ops import _training as tr
from tests.ops.train.test_classifier import SMALL, fashion_folder, validation_files


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A frozen-backbone model and a fine-tuned one of the same folder, in a private store."""
    tmp = tmp_path_factory.mktemp("custom")
    folder = fashion_folder(tmp / "clothes")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("IMGSTUDIO_MODELS", str(tmp / "models"))
        mp.setenv("XDG_DATA_HOME", str(tmp / "data"))
        store.forget()
        frozen = api.run("train.classifier", folder=folder, output=tmp / "frozen.pt",
                         name="my-clothes", **{**SMALL, "epochs": 2})
        tuned = api.run("train.classifier", folder=folder, output=tmp / "tuned.pt",
                        name="my-tuned-clothes", fine_tune=True, **{**SMALL, "epochs": 1})
        yield {"folder": folder, "tmp": tmp, "frozen": frozen, "tuned": tuned}
        store.forget()


def _accuracies(model, folder):
    files, ids, classes = validation_files(folder)
    top = np.array([api.run("classify.custom", load_image(f), model=model).items[0][0]
                    for f in files])
    truth = np.array([classes[i] for i in ids])
    per_class = {c: float(np.mean(top[truth == c] == c)) for c in classes}
    return float(np.mean(top == truth)), per_class


@pytest.mark.parametrize("kind", ["frozen", "tuned"])
def test_the_validation_accuracy_is_reproduced_exactly(made, kind):
    result = made[kind]
    accuracy, per_class = _accuracies(made["tmp"] / f"{kind}.pt", made["folder"])
    assert accuracy == result.metrics["val_accuracy"]
    for cname, value in per_class.items():
        assert value == result.metrics[f"val_accuracy.{cname}"]
    assert accuracy >= 0.9  # measured 1.0 both


def test_every_class_comes_with_its_probability_best_first(made):
    image = load_image(sorted((made["folder"] / "Bag").glob("*.png"))[0])
    items = api.run("classify.custom", image, model=made["tmp"] / "frozen.pt").items
    assert sorted(name for name, _ in items) == ["Bag", "Sneaker"]
    probs = [p for _, p in items]
    assert probs == sorted(probs, reverse=True) and sum(probs) == pytest.approx(1.0)
    assert items[0][0] == "Bag"


def test_the_input_is_imagenet_evaluation_preprocessing(made):
    """Probabilities against an independent pipeline: torchvision's transforms (resize the
    shorter side to 256/224 of the input, centre crop, normalise) and the network rebuilt
    here from the file."""
    import torchvision.transforms.v2 as T

    from imgstudio.models.nets import classifier as nets

    path = made["tmp"] / "frozen.pt"
    card = json.loads(path.with_suffix(".json").read_text())
    net = nets.build(card["config"])
    net.load_state_dict(tr.sub_state(loading.state_dict(path), "net"))
    net.eval()
    size = card["config"]["input_size"]
    prepare = T.Compose([T.Resize(round(size * 256 / 224), antialias=True), T.CenterCrop(size),
                         T.Normalize([127 / 255] * 3, [128 / 255] * 3)])
    rng = np.random.default_rng(3)
    photo = (rng.random((50, 70, 3)) * 255).astype(np.uint8)  # not square, colour
    for image in (photo, load_image(sorted((made["folder"] / "Sneaker").glob("*.png"))[0])):
        rgb = torch.from_numpy(image / 255.0).float()
        rgb = (rgb[None] if rgb.ndim == 2 else rgb.permute(2, 0, 1)).expand(3, -1, -1)
        with torch.no_grad():
            expected = torch.softmax(net(prepare(rgb)[None])[0].double(), 0).numpy()
        got = dict(api.run("classify.custom", image, model=path).items)
        assert [got[c] for c in card["labels"]] == pytest.approx(expected, abs=1e-5)


def test_fine_tuning_changes_only_the_last_stages(made):
    frozen = loading.state_dict(made["tmp"] / "frozen.pt")
    tuned = loading.state_dict(made["tmp"] / "tuned.pt")
    assert sorted(frozen) == sorted(tuned)
    for key in frozen:
        same = torch.equal(frozen[key], tuned[key])
        last = key.startswith(("net.backbone._blocks.15.", "net.backbone._conv_head.",
                               "net.backbone._bn1.", "net.head."))
        # batch-norm statistics stay frozen, also in the tuned stages
        if last and not key.endswith(("running_mean", "running_var", "num_batches_tracked")):
            assert not same, key
        else:
            assert same, key


def test_a_model_is_found_by_name_as_well_as_by_file(made):
    image = load_image(sorted((made["folder"] / "Sneaker").glob("*.png"))[1])
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("IMGSTUDIO_MODELS", str(made["tmp"] / "models"))
        store.forget()
        by_name = api.run("classify.custom", image, model="my-clothes").items
    by_file = api.run("classify.custom", image, model=made["tmp"] / "frozen.pt").items
    assert by_name == by_file


def test_files_that_are_not_a_classifier_are_refused(made, tmp_path):
    image = np.zeros((16, 16), np.uint8)
    source = made["tmp"] / "frozen.pt"
    card = json.loads(source.with_suffix(".json").read_text())

    def run(model):
        return api.run("classify.custom", image, model=model)

    with pytest.raises(ValueError, match="^model: no such model file"):
        run(tmp_path / "nothing.pt")
    lone = tmp_path / "lone.pt"
    lone.write_bytes(source.read_bytes())
    with pytest.raises(ValueError, match="^model: .*no model card"):
        run(lone)
    other = tmp_path / "vae.pt"
    torch.save({"encoder.w": torch.zeros(2)}, other)
    tr.write_card_beside(other, {**card, "name": "vae", "architecture": "conv-vae",
                                 "sha256": store.sha256_of(other), "config": {"size": 16}})
    with pytest.raises(ValueError, match="^model: .*conv-vae"):
        run(other)
    # a card that says classifier over tensors that are not one
    fake = tmp_path / "fake.pt"
    torch.save({"net.head.1.weight": torch.zeros(2, 4)}, fake)
    tr.write_card_beside(fake, {**card, "name": "fake", "sha256": store.sha256_of(fake)})
    with pytest.raises(ValueError, match="^model: .*do not fit"):
        run(fake)
    # the file changed after its card was written
    changed = tmp_path / "changed.pt"
    changed.write_bytes(source.read_bytes() + b"\0")
    tr.write_card_beside(changed, {**card, "name": "changed"})
    with pytest.raises(ValueError, match="^model: .*sha256"):
        run(changed)
    with pytest.raises(ValueError, match="^model"):
        run("")
