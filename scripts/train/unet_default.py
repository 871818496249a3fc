"""Train the shipped ``unet-default`` model: a tiny U-Net that finds high-contrast shapes.

    nice -n 10 python scripts/train/unet_default.py [--out imgstudio/models/data/unet-default.pt]

It runs the ``train.unet`` operation itself (``api.run``) with the settings below: the
built-in ``shapes`` dataset (flat, vivid, high-contrast discs, ellipses, rectangles, triangles and
polygons pasted onto crops of scikit-image's photographs, new images every epoch, drawn from
the seeded generator; see :mod:`imgstudio.ops.train._shapes`), 64×64 crops, a U-Net of
depth 4 with 8 channels at the first level, batches of 8, seed 0, on the CPU with one torch thread.
The model is registered in a private temporary model store (nothing lands in the user's
folder) and its weights file is copied to ``--out``.

Measured afterwards, on data the training never saw:

- ``iou``: the op's own held-out IoU after the last epoch (its fixed validation set,
  seed ``VALIDATION_SEED``);
- ``test_iou``: IoU of ``segment.unet`` (the operation users run, with the shipped weights'
  file) on :data:`TEST_COUNT` images of 75×90 pixels (crops of 90×90 synthetic images, so
  the shapes are larger than in training) made with seed :data:`TEST_SEED`; their size is
  no multiple of the network's stride, so this also exercises the padding.

It prints the metrics, the file size, the sha256 and the whole entry to put into
``imgstudio/models/manifest.json`` (entry ``unet-default``). The weights are a
``torch.save`` of a dict of tensors only (read with ``weights_only=True``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

OUT = ROOT / "imgstudio" / "models" / "data" / "unet-default.pt"
SETTINGS = {"dataset": "shapes", "epochs": 80, "samples": 512, "batch_size": 8, "size": 64,
            "base": 8, "depth": 4, "learning_rate": 5e-3, "seed": 0}
#: The held-out test set: images of another size, from a seed the training does not use.
TEST_SEED, TEST_COUNT, TEST_SHAPE = 314_159, 256, (90, 75)


def test_iou(model_path: Path) -> float:
    """IoU of ``segment.unet`` with the weights ``model_path`` on the held-out test images,
    all pixels together."""
    import numpy as np

    import imgstudio.api as api
    from imgstudio.ops.train._shapes import shapes
    from imgstudio.ops.train.unet import iou

    side = max(TEST_SHAPE)
    x, y = shapes(TEST_COUNT, side, TEST_SEED)
    h, w = TEST_SHAPE
    predicted = [api.run("segment.unet", np.ascontiguousarray(im[:h, :w]), model=str(model_path))
                 for im in x]
    return iou(np.stack(predicted), y[:, :h, :w])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help="weights file to write")
    parser.add_argument("--epochs", type=int, default=SETTINGS["epochs"],
                        help="epochs (the shipped model: the default)")
    args = parser.parse_args(argv)
    os.environ.setdefault("IMGSTUDIO_TORCH_THREADS", "1")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["IMGSTUDIO_MODELS"] = str(Path(tmp) / "models")
        os.environ["XDG_DATA_HOME"] = str(Path(tmp) / "data")
        import imgstudio.api as api
        from imgstudio.core.progress import Progress

        started = time.perf_counter()

        def report(name: str, data: dict) -> None:
            if name == "epoch":
                print(f"epoch {data['epoch']}/{data['epochs']}: loss {data['loss']:.4f}, "
                      f"held-out IoU {data['iou']:.4f} ({time.perf_counter() - started:.0f} s)",
                      flush=True)

        trained = api.run("train.unet", **{**SETTINGS, "epochs": args.epochs},
                          output=Path(tmp) / "unet-default.pt", name="unet-default",
                          progress=Progress(None, report))
        seconds = time.perf_counter() - started
        weights = Path(trained.path)
        card = json.loads(weights.with_suffix(".json").read_text(encoding="utf-8"))
        measured = test_iou(weights)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        part = args.out.with_name(f".{args.out.name}.part")
        shutil.copyfile(weights, part)
        part.replace(args.out)
    blob = args.out.read_bytes()
    print(f"trained {trained.epochs} epochs in {seconds:.0f} s; held-out IoU (validation set) "
          f"{trained.metrics['iou']:.4f}, loss {trained.metrics['loss']:.4f}")
    print(f"test IoU (segment.unet, {TEST_COUNT} images {TEST_SHAPE[1]}×{TEST_SHAPE[0]}, "
          f"seed {TEST_SEED}): {measured:.4f}")
    print(f"wrote {args.out} ({len(blob):,} bytes)")
    print(f"sha256 {hashlib.sha256(blob).hexdigest()} (manifest.json, unet-default)")
    training = {**card["training"], "seconds": round(seconds),
                "metrics": {**card["training"]["metrics"], "test_iou": measured}}
    entry = {
        "name": "unet-default", "file": args.out.name, "sha256": hashlib.sha256(blob).hexdigest(),
        "format": "torch-state-dict", "architecture": card["architecture"],
        "labels": ["background", "foreground"],
        "licence": "ours; trained by scripts/train/unet_default.py from synthetic shapes on "
                   "scikit-image's sample photographs (public domain, CC0 or no known "
                   "copyright restrictions, as scikit-image states)",
        "source": "trained by scripts/train/unet_default.py (train.unet on the built-in shapes "
                  f"dataset, seed {SETTINGS['seed']})",
        "config": card["config"], "training": training, "shipped": True,
    }
    print("manifest entry:", json.dumps(entry))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
