"""train.dae: the denoising autoencoder's training (short runs on a small digits subset)."""

from __future__ import annotations

import numpy as np
import pytest

import imgstudio.api as api
from imgstudio.core.progress import Cancelled, Progress

SMALL = {"dataset": "digits", "limit": 300, "batch_size": 32, "learning_rate": 3e-3, "seed": 3,
         "features": 16}
#: Enough steps on the 8×8 digits for the denoising to show (measured with seeds 3, 4, 5: the
#: validation PSNR rose each epoch, by 1.6 to 2.2 dB in all, to 2.2 to 2.7 dB above the noisy
#: tiles').
LEARNS = {**SMALL, "noise_sigma": 50.0, "batch_size": 64, "patches_per_epoch": 2048}


def _recording() -> tuple[Progress, list[dict]]:
    reports: list[dict] = []
    return Progress(None, lambda name, data: reports.append(data) if name == "epoch" else None), reports


def _weights(path) -> dict:
    import torch

    return torch.load(str(path), map_location="cpu", weights_only=True)


def test_catalog_contract():
    spec = next(s for s in api.list_operations() if s.id == "train.dae")
    names = {p.name for p in spec.params}
    assert {"dataset", "epochs", "batch_size", "seed", "output", "name", "resume", "noise_sigma",
            "learning_rate", "patch_size"} <= names
    defaults = {p.name: p.default for p in spec.params}
    assert defaults["dataset"] == "digits" and defaults["name"] == "my-dae"
    assert defaults["noise_sigma"] == 25.0 and defaults["resume"] is False
    assert spec.editor.training is not None
    assert spec.editor.training.uses == {"enhance.denoise_autoencoder": "model"}


def test_training_lowers_the_loss_raises_val_psnr_and_the_model_denoises(models):
    from imgstudio.ops.train.dae import load_tiles, psnr

    progress, reports = _recording()
    out = models / "out" / "tiny.pt"
    trained = api.run("train.dae", **LEARNS, epochs=4, output=out, name="tiny-dae",
                      progress=progress)
    loss, val = trained.losses.columns["loss"], trained.losses.columns["val_psnr"]
    assert trained.epochs == 4 and len(loss) == 4 and len(reports) == 4
    assert loss[-1] < 0.8 * loss[0]
    assert val[-1] > val[0] + 0.5
    # the denoised validation tiles beat the noisy ones (the measured baseline)
    assert trained.metrics["val_psnr"] > trained.metrics["val_psnr_noisy"] + 1.5
    preview = reports[-1]["preview"]
    assert preview.dtype == np.uint8 and preview.ndim == 2 and max(preview.shape) <= 256
    assert out.is_file() and out.with_suffix(".json").is_file()

    # the op loads it by its store name, and gives what the network itself gives
    tiles = load_tiles("digits", 40, SMALL["seed"], SMALL["limit"]).val
    clean = np.concatenate(list(tiles[:8]), axis=1)  # 8 held-out digits side by side
    rng = np.random.default_rng(5)
    noisy = np.clip(clean + rng.normal(0, 50 / 255, clean.shape), 0, 1).astype(np.float32)
    result = api.run("enhance.denoise_autoencoder", noisy, model="tiny-dae")
    from imgstudio.models.nets import dae

    card = next(m for m in api.list_models(check=False) if m["name"] == "tiny-dae")
    assert card["config"] == {"depth": 8, "features": 16, "channels": 1}
    net = dae.build(card["config"]).eval()
    net.load_state_dict({k[4:]: v for k, v in _weights(out).items()})
    with dae.torch.no_grad():
        direct = net(dae.torch.from_numpy(noisy)[None, None])[0, 0].clamp(0, 1).numpy()
    np.testing.assert_allclose(result, direct, atol=1e-5)
    assert psnr(result, clean) > psnr(noisy, clean)
    # and by the weights file's path (its card beside it)
    by_path = api.run("enhance.denoise_autoencoder", noisy, model=str(out))
    np.testing.assert_array_equal(by_path, result)


def test_resume_continues_the_epochs_and_history_exactly(models):
    straight = api.run("train.dae", **SMALL, epochs=3, output=models / "a.pt", name="a")
    part = models / "b.pt"
    first = api.run("train.dae", **SMALL, epochs=1, output=part, name="b")
    assert first.epochs == 1
    resumed = api.run("train.dae", **SMALL, epochs=3, output=part, name="b", resume=True)
    assert resumed.epochs == 3
    assert resumed.losses.columns["epoch"] == [1, 2, 3]
    assert resumed.losses.columns["loss"][0] == first.losses.columns["loss"][0]
    # the same data order, noise and optimiser state: identical to the uninterrupted run
    assert resumed.losses.columns["loss"] == straight.losses.columns["loss"]
    assert resumed.losses.columns["val_psnr"] == straight.losses.columns["val_psnr"]
    a, b = _weights(straight.path), _weights(resumed.path)
    assert a.keys() == b.keys() and all(bool((a[k] == b[k]).all()) for k in a)
    # resuming with other data settings is refused, naming them
    with pytest.raises(ValueError, match="noise_sigma"):
        api.run("train.dae", **SMALL, epochs=4, output=part, name="b", resume=True,
                noise_sigma=10.0)


def test_cancel_leaves_a_loadable_checkpoint_and_resume_finishes(models):
    from imgstudio.ops._training import checkpoint_path, load_checkpoint

    out = models / "c.pt"
    progress = Progress()
    progress._on_report = lambda name, data: progress.cancel() if data.get("epoch") == 1 else None
    with pytest.raises(Cancelled):
        api.run("train.dae", **SMALL, epochs=3, output=out, name="c", progress=progress)
    assert not out.exists()  # no weights until the training is done
    state = load_checkpoint(checkpoint_path(out))
    assert state["epoch"] == 1 and len(state["history"]["loss"]) == 1
    assert not list(models.glob("**/*.tmp"))
    done = api.run("train.dae", **SMALL, epochs=2, output=out, name="c", resume=True)
    assert done.epochs == 2 and done.losses.columns["loss"][0] == state["history"]["loss"][0]


def test_folder_dataset_and_tiles(models, tmp_path, astronaut_small):
    from imgstudio.core.io import save_image
    from imgstudio.ops.train.dae import cut_tiles

    image = np.arange(50 * 70, dtype=np.float32).reshape(50, 70)
    tiles = cut_tiles([image], 16)  # a centred 3×4 grid of 16² tiles
    assert tiles.shape == (12, 16, 16)
    np.testing.assert_array_equal(tiles[0], image[1:17, 3:19])
    np.testing.assert_array_equal(tiles[5], image[17:33, 19:35])

    folder = tmp_path / "pictures"
    folder.mkdir()
    save_image(folder / "a.png", astronaut_small)
    save_image(folder / "b.png", astronaut_small[::-1, ::-1].copy())
    trained = api.run("train.dae", dataset=str(folder), patch_size=16, epochs=1,
                      output=models / "f.pt", name="f")
    assert trained.epochs == 1
    card = next(m for m in api.list_models(check=False) if m["name"] == "f")
    assert "folder" in card["training"]["dataset"] and "(2 images" in card["training"]["dataset"]


def test_photos_leave_out_the_held_out_images():
    import skimage.data

    from imgstudio.ops._pixels import grey_unit
    from imgstudio.ops.train.dae import HELD_OUT, PHOTOS, photo

    assert "camera" in HELD_OUT and not set(HELD_OUT) & set(PHOTOS)
    held = [grey_unit(getattr(skimage.data, n)(), np.float32) for n in HELD_OUT]
    for name in PHOTOS:
        im = photo(name)
        assert not any(im.shape == h.shape and np.array_equal(im, h) for h in held), name


@pytest.mark.parametrize(("params", "named"), [
    ({"epochs": 0}, "epochs"),
    ({"batch_size": 0}, "batch_size"),
    ({"noise_sigma": 0.0}, "noise_sigma"),
    ({"noise_sigma": 10.0, "noise_min": 20.0}, "noise_min"),
    ({"learning_rate": 0.0}, "learning_rate"),
    ({"learning_rate": float("nan")}, "learning_rate"),
    ({"patch_size": 4}, "patch_size"),
    ({"seed": -1}, "seed"),
    ({"name": "no spaces"}, "name"),
    ({"dataset": "no-such-dataset"}, "dataset"),
    ({"resume": True}, "resume"),
])
def test_bad_parameters_raise_value_errors_naming_them(models, params, named):
    with pytest.raises(ValueError, match=named):
        api.run("train.dae", **{"epochs": 1, **params, "output": models / "x.pt"})


def test_unusable_folders_are_refused(models, tmp_path):
    from imgstudio.core.io import save_image

    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="dataset: no images"):
        api.run("train.dae", dataset=str(empty), output=models / "x.pt")
    tiny = tmp_path / "tiny"
    tiny.mkdir()
    save_image(tiny / "a.png", np.zeros((5, 40), np.uint8))
    with pytest.raises(ValueError, match="dataset: .*at least 8"):
        api.run("train.dae", dataset=str(tiny), output=models / "x.pt")
