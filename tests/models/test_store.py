"""The model store: manifest, lookup order, checksums, import, safe loading, the CLI."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from imgstudio import cli
from imgstudio.core.errors import MissingExtraError, ModelNotFoundError
from imgstudio.models import labels, loading, store


@pytest.fixture(autouse=True)
def private_store(models):
    """Every test gets empty user folders and its own torch hub cache (tests/conftest.py)."""
    return models


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def npz_file(path: Path, seed: int = 0) -> Path:
    np.savez(path, w=np.random.default_rng(seed).normal(size=(3, 4)))
    return path


def with_entry(monkeypatch, info: store.ModelInfo) -> None:
    entries = dict(store.manifest())
    entries[info.name] = info
    monkeypatch.setattr(store, "_manifest_cache", entries)


# -- the manifest -------------------------------------------------------------------------------

def test_manifest_entries_are_complete_and_unique():
    doc = json.loads(store.MANIFEST.read_text())
    names = [e["name"] for e in doc["models"]]
    assert len(names) == len(set(names))
    for info in store.manifest().values():
        assert info.format in store.FORMATS, info.name
        assert info.licence and info.source and info.file, info.name
        if not (info.package or info.shipped or info.torchvision):
            # bring your own (zhang-eccv16): no digest known here; the card written at import
            # records the file's, and the entry says how to import it
            assert info.sha256 == "" and info.install.startswith("imgstudio models import "), info.name
            continue
        assert all(c in "0123456789abcdef" for c in info.sha256), info.name
        assert len(info.sha256) == 64 or (info.torchvision and len(info.sha256) == 8), info.name
        if info.torchvision:  # torchvision names carry the digest prefix torch.hub checks
            assert info.file.rsplit("-", 1)[1].startswith(info.sha256)


def test_every_model_that_ships_is_present_with_its_checksum():
    """What `make install` puts in place (registry packages, our own weights) is intact."""
    shipped = [i for i in store.manifest().values() if i.package or i.shipped]
    assert {"efficientnet-lite0", "ppocr-det", "ppocr-rec", "blazepose-detector",
            "realesr-animevideov3-x2", "digits-hog-logreg"} <= {i.name for i in shipped}
    for info in shipped:
        located = store.find(info.name)
        assert sha(located.path).startswith(info.sha256)
        for comp, card in zip(located.companions, info.companions, strict=True):
            assert sha(comp) == card["sha256"]


def test_cv2_is_still_the_contrib_build_after_the_no_deps_installs():
    import cv2

    assert hasattr(cv2, "ximgproc") and hasattr(cv2, "xfeatures2d")


def test_label_sets():
    assert len(labels.resolve("imagenet")) == 1000
    assert labels.resolve("imagenet")[281] == "tabby"
    assert labels.resolve("coco")[1] == "person" and len(labels.resolve("voc")) == 21
    assert labels.resolve("digits") == [str(d) for d in range(10)]
    assert len(labels.resolve("blazepose")) == 33 and labels.resolve(["a", "b"]) == ["a", "b"]
    with pytest.raises(ValueError, match="label set"):
        labels.resolve("nonsense")


# -- lookup -------------------------------------------------------------------------------------

def test_missing_model_names_the_model_every_folder_and_the_command(tmp_path):
    with pytest.raises(ModelNotFoundError) as err:
        store.find("resnet50-imagenet")
    exc = err.value
    assert isinstance(exc, ValueError)
    message = str(exc)
    assert "'resnet50-imagenet' is not installed" in message
    for folder in (tmp_path / "models", tmp_path / "data" / "imgstudio" / "models",
                   tmp_path / "torch" / "hub" / "checkpoints"):
        assert str(folder) in message
    assert exc.command == "imgstudio models import FILE --name resnet50-imagenet"
    assert message.endswith(exc.command)


def test_unknown_model_suggests_import_and_similar_names():
    with pytest.raises(ModelNotFoundError, match="unknown model 'resnet50-mine'.*resnet50-imagenet"):
        store.find("resnet50-mine")


def test_lookup_order_env_folder_then_data_folder_then_package(tmp_path, monkeypatch):
    a, b, c = (npz_file(tmp_path / f"{k}.npz", seed=k) for k in range(3))
    info = store.ModelInfo(name="toy", file="toy.npz", sha256="", format="npz", licence="x",
                           source="test", shipped=True)
    shipped_dir = tmp_path / "shipped"
    shipped_dir.mkdir()
    (shipped_dir / "toy.npz").write_bytes(c.read_bytes())
    monkeypatch.setattr(store, "SHIPPED", shipped_dir)
    with_entry(monkeypatch, replace(info, sha256=sha(c)))
    assert store.find("toy").path == shipped_dir / "toy.npz"
    store.import_file(b, "toy", folder=tmp_path / "data" / "imgstudio" / "models")
    assert store.find("toy").path.parent == tmp_path / "data" / "imgstudio" / "models"
    store.import_file(a, "toy")  # into $IMGSTUDIO_MODELS, first in the order
    found = store.find("toy")
    assert found.path.parent == tmp_path / "models" and sha(found.path) == sha(a)
    assert store.known()["toy"].origin == str(tmp_path / "models" / "toy.json")


def test_torch_hub_cache_is_found_under_torchvisions_file_name(tmp_path, monkeypatch):
    weights = npz_file(tmp_path / "w.npz")
    info = store.ModelInfo(name="toy-tv", file="toy_tv-0000.pth", sha256=sha(weights)[:8],
                           format="torch-state-dict", licence="x", source="test",
                           torchvision=True)
    with_entry(monkeypatch, info)
    hub = tmp_path / "torch" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    (hub / "toy_tv-0000.pth").write_bytes(weights.read_bytes())
    assert store.find("toy-tv").path == hub / "toy_tv-0000.pth"
    assert store.hub_folder() == hub


def test_a_file_failing_its_checksum_is_refused(tmp_path, monkeypatch):
    weights = npz_file(tmp_path / "w.npz")
    store.import_file(weights, "mine")
    path = store.find("mine").path
    path.write_bytes(path.read_bytes() + b"tampered")
    with pytest.raises(ModelNotFoundError, match="fails its sha256 check"):
        store.find("mine")
    assert [s for n, s, _ in store.verify(["mine"])] == ["corrupt"]
    # a manifest model dropped in under its file name with the wrong content
    info = store.ModelInfo(name="toy", file="toy.npz", sha256="ab" * 32, format="npz",
                           licence="x", source="test", shipped=True)
    with_entry(monkeypatch, info)
    (tmp_path / "models" / "toy.npz").write_bytes(weights.read_bytes())
    with pytest.raises(ModelNotFoundError, match="sha256"):
        store.find("toy")


def test_missing_companion_file_is_refused(tmp_path, monkeypatch):
    main = tmp_path / "m.bin"
    main.write_bytes(b"weights")
    param = tmp_path / "m.param"
    param.write_bytes(b"graph")
    store.import_file(main, "sr", format="ncnn", companions=[param])
    located = store.find("sr")
    assert located.companions == (tmp_path / "models" / "sr.param",)
    located.companions[0].unlink()
    with pytest.raises(ModelNotFoundError, match="companion"):
        store.find("sr")


# -- import -------------------------------------------------------------------------------------

def test_import_writes_a_card_and_takes_the_manifest_defaults(tmp_path):
    torch = loading.torch()
    path = tmp_path / "mine.pth"
    torch.save({"w": torch.zeros(2)}, path)
    located = store.import_file(path, "maskrcnn-resnet50-coco")
    card = json.loads((tmp_path / "models" / "maskrcnn-resnet50-coco.json").read_text())
    assert card["sha256"] == sha(path) and card["format"] == "torch-state-dict"
    assert card["architecture"] == "maskrcnn_resnet50_fpn" and card["labels"] == "coco"
    assert located.path == tmp_path / "models" / "maskrcnn-resnet50-coco.pth"
    assert store.find("maskrcnn-resnet50-coco").path == located.path


@pytest.mark.parametrize(("name", "content", "fmt", "match"), [
    ("bad name!", b"PK..", "npz", "model name"),
    ("ok", b"", "npz", "empty"),
    ("ok", b"\x80\x02pickle", "torch-state-dict", "not a torch state dict"),
    ("ok", b"text", "npz", "not an .npz"),
    ("ok", b"PK..", "weird", "format must be one of"),
])
def test_import_refuses_bad_input(tmp_path, name, content, fmt, match):
    path = tmp_path / "file.bin"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=match):
        store.import_file(path, name, format=fmt)
    assert not (tmp_path / "models").exists() or not list((tmp_path / "models").iterdir())


def test_import_of_a_missing_file_names_it(tmp_path):
    with pytest.raises(ValueError, match="model file not found: .*nothing.pth"):
        store.import_file(tmp_path / "nothing.pth", "x")


# -- loading ------------------------------------------------------------------------------------

class Evil:
    def __reduce__(self):
        return (os.system, ("echo owned",))


def test_state_dict_never_unpickles_code(tmp_path):
    torch = loading.torch()
    good = tmp_path / "good.pth"
    torch.save({"state_dict": {"w": torch.ones(3)}}, good)
    assert loading.state_dict(good)["w"].tolist() == [1.0, 1.0, 1.0]
    evil = tmp_path / "evil.pth"
    torch.save({"w": Evil()}, evil)
    with pytest.raises(ValueError, match="weights_only=True"):
        loading.state_dict(evil)
    with pytest.raises(ValueError, match="not torch weights"):
        loading.state_dict(good, "onnx")


def test_npz_refuses_object_arrays(tmp_path):
    path = tmp_path / "obj.npz"
    np.savez(path, a=np.array([{"x": 1}], dtype=object))
    with pytest.raises(ValueError, match="not a readable npz model"):
        loading.npz(path)
    assert loading.npz(npz_file(tmp_path / "ok.npz"))["w"].shape == (3, 4)


def test_cached_builds_once_per_key():
    calls = []
    first = store.cached(("k", 1), lambda: calls.append(1) or object())
    second = store.cached(("k", 1), lambda: calls.append(2) or object())
    assert first[0] is second[0] and first[1] is second[1]
    assert (first[2], second[2]) == (True, False) and calls == [1]


def test_require_names_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "rapidocr", None)
    with pytest.raises(MissingExtraError, match="detect.text needs rapidocr.*pip install --no-deps rapidocr") as err:
        loading.require("rapidocr", "detect.text")
    assert err.value.command.startswith("pip install --no-deps rapidocr")
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(MissingExtraError, match=r"imgstudio\[dl\]"):
        loading.torch("classify.imagenet")


def test_torch_is_configured_before_it_is_imported():
    code = ("import os, imgstudio.models.loading as l; t = l.torch(); "
            "print(os.environ['OMP_WAIT_POLICY'], t.get_num_threads(), l.device())")
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    env.update(IMGSTUDIO_TORCH_THREADS="1", IMGSTUDIO_DEVICE="cpu")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["PASSIVE", "1", "cpu"]


def test_device_setting(monkeypatch):
    torch = loading.torch()
    monkeypatch.setenv("IMGSTUDIO_DEVICE", "auto")
    assert loading.device().type == ("cuda" if torch.cuda.is_available() else "cpu")
    monkeypatch.setenv("IMGSTUDIO_DEVICE", "tpu")
    with pytest.raises(ValueError, match="IMGSTUDIO_DEVICE"):
        loading.device()
    if not torch.cuda.is_available():
        monkeypatch.setenv("IMGSTUDIO_DEVICE", "cuda")
        with pytest.raises(ValueError, match="no CUDA device"):
            loading.device()


# -- the CLI ------------------------------------------------------------------------------------

def test_cli_models_list_path_verify_import(tmp_path, capsys):
    assert cli.main(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert "efficientnet-lite0" in out and "ok" in out
    assert "install: imgstudio models import FILE --name resnet50-imagenet" in out
    weights = npz_file(tmp_path / "w.npz")
    assert cli.main(["models", "import", str(weights), "--name", "mine"]) == 0
    assert "imported mine (npz" in capsys.readouterr().out
    assert cli.main(["models", "path", "mine"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "models" / "mine.npz")
    assert cli.main(["models", "verify", "mine", "efficientnet-lite0"]) == 0
    assert capsys.readouterr().out.startswith("mine: ok ")
    assert cli.main(["models", "list", "--json"]) == 0
    listed = {m["name"]: m for m in json.loads(capsys.readouterr().out)}
    assert listed["mine"]["status"] == "ok" and listed["resnet50-imagenet"]["status"] == "missing"


def test_cli_missing_model_is_one_line_and_exit_2(capsys):
    assert cli.main(["models", "path", "resnet50-imagenet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert err.endswith("install it with: imgstudio models import FILE --name resnet50-imagenet")


def test_cli_verify_exits_1_on_a_corrupt_file(tmp_path, capsys):
    store.import_file(npz_file(tmp_path / "w.npz"), "mine")
    (tmp_path / "models" / "mine.npz").write_bytes(b"PK changed")
    assert cli.main(["models", "verify", "mine"]) == 1
    assert "mine: corrupt" in capsys.readouterr().out


def test_api_lists_and_imports_models(tmp_path):
    import imgstudio.api as api

    entry = api.import_model(str(npz_file(tmp_path / "w.npz")), "mine")
    assert Path(entry["path"]).is_file() and api.model_folder() == str(tmp_path / "models")
    models = {m["name"]: m for m in api.list_models()}
    assert models["mine"]["status"] == "ok"
    assert models["resnet50-imagenet"]["status"] == "missing"
    assert models["resnet50-imagenet"]["command"].endswith("--name resnet50-imagenet")
