"""classify.imagenet (imgstudio.ops.classify.imagenet) and the shared torchvision machinery
(imgstudio.ops._torchvision): real EfficientNet-Lite0 answers on real photos; the torchvision
networks with random weights the tests save and import, checked against the bare torchvision
model fed by torchvision's own preprocessing preset."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data
import torch
import torchvision

import imgstudio.api as api
from imgstudio.core.errors import ModelNotFoundError
from imgstudio.core.progress import Progress
from imgstudio.core.types import Classes
from imgstudio.models import labels, store
from imgstudio.ops import _torchvision as tvops

CATS = {"tabby", "tiger cat", "Persian cat", "Siamese cat", "Egyptian cat"}
NAMES = labels.resolve("imagenet")
#: torchvision architecture → (store name, its weights enum: the official preprocessing preset)
TORCHVISION = {
    "mobilenet_v2": ("mobilenet-v2-imagenet", torchvision.models.MobileNet_V2_Weights),
    "resnet50": ("resnet50-imagenet", torchvision.models.ResNet50_Weights),
    "vgg16": ("vgg16-imagenet", torchvision.models.VGG16_Weights),
    "inception_v3": ("inception-v3-imagenet", torchvision.models.Inception_V3_Weights),
}


@pytest.fixture(scope="module")
def chelsea() -> np.ndarray:
    return skimage.data.chelsea()


def random_model(arch: str, seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    if arch == "inception_v3":  # as torchvision builds it for its ImageNet weights
        model = torchvision.models.inception_v3(weights=None, aux_logits=True,
                                                transform_input=True, init_weights=False)
    else:
        model = getattr(torchvision.models, arch)(weights=None)
    return model.eval()


def import_random(arch: str, folder, seed: int = 0) -> torch.nn.Module:
    """A randomly initialised torchvision ``arch``, saved and imported under its store name."""
    model = random_model(arch, seed)
    path = folder / f"{arch}-{seed}.pth"
    torch.save(model.state_dict(), path)
    store.import_file(path, TORCHVISION[arch][0])
    return model


def reference_probs(model: torch.nn.Module, image: np.ndarray, preset) -> np.ndarray:
    """Softmax of the bare model on torchvision's preset applied to the float image."""
    x = torch.from_numpy(image.astype(np.float32) / 255).permute(2, 0, 1)
    with torch.no_grad():
        return torch.softmax(model(preset(x)[None])[0], 0).numpy()


def assert_top_k_of(result: Classes, probs: np.ndarray, k: int) -> None:
    """``result`` is the top ``k`` of ``probs``: the same probability for each name, sorted,
    and none left out scores higher (random weights can tie within float rounding)."""
    assert len(result.items) == k
    got = [p for _, p in result.items]
    assert got == sorted(got, reverse=True)
    for name, p in result.items:
        assert p == pytest.approx(probs[NAMES.index(name)], abs=1e-5), name
    assert min(got) >= np.sort(probs)[-k] - 1e-5


# -- EfficientNet-Lite0: real weights from the registry package -------------------------------


def test_efficientnet_names_a_cat_on_chelsea(chelsea):
    result = api.run("classify.imagenet", chelsea)
    assert isinstance(result, Classes) and len(result.items) == 5
    # measured: tiger cat 0.39, Egyptian cat 0.37, tabby 0.17
    assert result.items[0][0] in CATS
    assert sum(p for name, p in result.items if name in CATS) > 0.8


def test_efficientnet_names_espresso_on_coffee():
    name, p = api.run("classify.imagenet", skimage.data.coffee()).items[0]
    assert name == "espresso" and p > 0.9  # measured 0.95 (cup 0.015 second)


def test_efficientnet_matches_the_bare_network(chelsea):
    from efficientnet_lite_pytorch import EfficientNet
    from torchvision.transforms import v2

    net = EfficientNet.from_name("efficientnet-lite0")
    net.load_state_dict(torch.load(store.find("efficientnet-lite0").path, weights_only=True))
    preset = v2.Compose([v2.Resize(256, antialias=True), v2.CenterCrop(224),
                         v2.Normalize([127 / 255] * 3, [128 / 255] * 3)])  # (x - 127) / 128
    probs = reference_probs(net.eval(), chelsea, preset)
    assert_top_k_of(api.run("classify.imagenet", chelsea, top_k=10), probs, 10)


def test_probabilities_are_sorted_and_top_k_is_respected(chelsea):
    for k in (1, 3, 1000):
        items = api.run("classify.imagenet", chelsea, top_k=k).items
        probs = [p for _, p in items]
        assert len(items) == k and probs == sorted(probs, reverse=True)
        assert all(0.0 <= p <= 1.0 for p in probs) and sum(probs) <= 1.0 + 1e-5
    assert sum(probs) == pytest.approx(1.0, abs=1e-5)  # all 1000 classes
    assert len({name for name, _ in items}) == 1000


@pytest.mark.parametrize("kind", ["uint16", "float32", "gray", "rgba"])
def test_every_image_kind_gives_the_same_answer(chelsea, kind):
    image = {
        "uint16": chelsea.astype(np.uint16) * 257,
        "float32": chelsea.astype(np.float32) / 255,
        "gray": np.repeat(chelsea[..., 1:2], 3, axis=2),
        "rgba": np.dstack([chelsea, np.zeros(chelsea.shape[:2], np.uint8)]),  # alpha ignored
    }[kind]
    if kind == "gray":  # a grey image is its value repeated in R, G and B
        expected = api.run("classify.imagenet", image).items
        image = np.ascontiguousarray(image[..., 0])
    else:
        expected = api.run("classify.imagenet", chelsea).items
    before = image.copy()
    got = api.run("classify.imagenet", image).items
    assert np.array_equal(image, before)
    assert [n for n, _ in got] == [n for n, _ in expected]
    assert np.allclose([p for _, p in got], [p for _, p in expected], atol=1e-4)


def test_rgb_tensor_conventions():
    rgb = np.arange(24, dtype=np.uint8).reshape(2, 4, 3) * 10
    x = tvops.rgb_tensor(rgb, torch.device("cpu"))
    assert x.shape == (3, 2, 4) and x.dtype == torch.float32
    assert np.allclose(x.permute(1, 2, 0).numpy(), rgb / 255.0)
    grey = rgb[..., 0]
    assert np.allclose(tvops.rgb_tensor(grey, torch.device("cpu")).numpy(),
                       np.stack([grey / 255.0] * 3))
    rgba = np.dstack([rgb.astype(np.uint16) * 257, np.zeros((2, 4), np.uint16)])
    assert np.allclose(tvops.rgb_tensor(rgba, torch.device("cpu")).numpy(), x.numpy())
    wild = np.array([[-0.5, 0.25, 2.0]], np.float32)
    assert tvops.rgb_tensor(wild, torch.device("cpu"))[0].tolist() == [[0.0, 0.25, 1.0]]
    assert wild.tolist() == [[-0.5, 0.25, 2.0]]  # the input is not clipped in place


def test_bad_params(chelsea):
    with pytest.raises(ValueError, match="arch"):
        api.run("classify.imagenet", chelsea, arch="alexnet")
    for k in (0, 1001):
        with pytest.raises(ValueError, match="top_k"):
            api.run("classify.imagenet", chelsea, top_k=k)
    with pytest.raises(ValueError, match="aspect ratio"):
        api.run("classify.imagenet", np.zeros((2, 300, 3), np.uint8))
    with pytest.raises(ValueError, match="image"):
        api.run("classify.imagenet", np.zeros((8, 8, 2), np.uint8))


# -- torchvision networks: weights from the store ---------------------------------------------


@pytest.mark.parametrize("arch", list(TORCHVISION))
def test_missing_weights_name_the_import_command(models, chelsea, arch):
    name = TORCHVISION[arch][0]
    with pytest.raises(ModelNotFoundError, match=f"imgstudio models import FILE --name {name}"
                       ) as info:
        api.run("classify.imagenet", chelsea, arch=arch)
    assert info.value.name == name


@pytest.mark.parametrize("arch", ["mobilenet_v2", "resnet50", "inception_v3"])
def test_imported_weights_give_the_bare_models_softmax(models, chelsea, arch):
    # vgg16 is left out: its random weights are a 553 MB file
    model = import_random(arch, models)
    preset = TORCHVISION[arch][1].IMAGENET1K_V1.transforms()  # torchvision's own preprocessing
    probs = reference_probs(model, chelsea, preset)
    assert_top_k_of(api.run("classify.imagenet", chelsea, arch=arch, top_k=7), probs, 7)


def test_reimported_weights_are_loaded_afresh(models, chelsea):
    first = import_random("mobilenet_v2", models, seed=1)
    messages: list[str] = []
    progress = Progress(lambda f, m: messages.append(m))
    preset = TORCHVISION["mobilenet_v2"][1].IMAGENET1K_V1.transforms()
    got = api.run("classify.imagenet", chelsea, arch="mobilenet_v2", progress=progress)
    assert_top_k_of(got, reference_probs(first, chelsea, preset), 5)
    assert messages[0] == "loading model mobilenet-v2-imagenet…"
    messages.clear()
    api.run("classify.imagenet", chelsea, arch="mobilenet_v2", progress=progress)
    assert not any(m.startswith("loading model") for m in messages)  # cached
    second = import_random("mobilenet_v2", models, seed=2)  # same name, other file
    got = api.run("classify.imagenet", chelsea, arch="mobilenet_v2")
    assert_top_k_of(got, reference_probs(second, chelsea, preset), 5)


def test_weights_of_another_architecture_are_refused(models, chelsea):
    torch.manual_seed(0)
    path = models / "wrong.pth"
    torch.save(random_model("mobilenet_v2", 0).state_dict(), path)
    store.import_file(path, "resnet50-imagenet")
    with pytest.raises(ValueError, match="do not fit the resnet50 architecture"):
        api.run("classify.imagenet", chelsea, arch="resnet50")


def test_device_comes_from_imgstudio_device(models, chelsea, monkeypatch):
    import_random("mobilenet_v2", models)
    monkeypatch.setenv("IMGSTUDIO_DEVICE", "cpu")
    loaded = tvops.load("mobilenet_v2", "mobilenet-v2-imagenet", Progress())
    assert loaded.device == torch.device("cpu")
    assert all(p.device.type == "cpu" for p in loaded.model.parameters())
    assert not loaded.model.training
    monkeypatch.setenv("IMGSTUDIO_DEVICE", "tpu")
    with pytest.raises(ValueError, match="IMGSTUDIO_DEVICE"):
        api.run("classify.imagenet", chelsea, arch="mobilenet_v2")


@pytest.mark.parametrize("arch", list(TORCHVISION))
def test_real_torchvision_weights_name_a_cat_on_chelsea(chelsea, arch):
    try:
        store.find(TORCHVISION[arch][0])
    except ModelNotFoundError as exc:
        pytest.skip(str(exc))
    result = api.run("classify.imagenet", chelsea, arch=arch)
    assert {name for name, _ in result.items} & CATS
    assert result.items[0][0] in CATS
