"""Train the shipped ``gan-default`` model: ``train.gan`` on scikit-learn's digits at 16×16.

    python scripts/train/gan_default.py [--out imgstudio/models/data/gan-default.pt] [--manifest]

Data: scikit-learn's digits (``sklearn.datasets.load_digits``: 1,797 8×8 images, values 0..16
÷ 16, enlarged to 16×16 bilinearly as ``train.gan`` does), in their shipped order; the first
1,500 train the model, the remaining 297 are held out and only scored (the tests use them
too). Training: the op itself, ``train.gan`` with its defaults (a DCGAN with z = 32, 100
epochs, batches of 64, Adam at 2e-4 with β₁ = 0.5, seed 0) and one torch thread, so two runs
give the same weights; it registers into a private temporary model store, never the user's.

Measured with 256 samples (``generate.gan_sample``'s latents, seed 0): the mean Euclidean
distance (pixels in [0, 1]) from each sample to its nearest held-out digit; the same for the
samples with their pixels shuffled (same grey values, no shape: what a generator that only
learned the brightness would score) and for 256 training digits (what real digits score).
The weights file holds the generator's tensors only (``torch.save`` of a dict of tensors,
written through a buffer so that equal tensors give equal bytes); the script prints its
sha256 and the manifest entry, and with ``--manifest`` writes that entry into
``imgstudio/models/manifest.json`` (only this one entry).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("IMGSTUDIO_TORCH_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from _shipping import MANIFEST, save_bytes, update_manifest, write_weights  # noqa: E402

NAME = "gan-default"
OUT = ROOT / "imgstudio" / "models" / "data" / f"{NAME}.pt"
N_TRAIN = 1500
SEED = 0
EPOCHS = 100
SAMPLES = 256


def heldout_metrics(tensors: dict, config: dict) -> dict[str, float]:
    """Distances of samples to the 297 held-out digits (see the module docstring)."""
    from imgstudio.models.nets import gan as nets
    from imgstudio.ops import _training as tr
    from imgstudio.ops.generate._latent import latents
    from imgstudio.ops.train._generative import nearest_distance

    torch = nets.torch
    net = nets.Generator(config["size"], config["z_dim"], config["width"])
    net.load_state_dict(tr.sub_state(tensors, "generator"))
    net.eval()
    digits = torch.from_numpy(tr.load_images("digits", size=config["size"]).x)
    heldout = digits[N_TRAIN:]
    with torch.no_grad():
        samples = net(torch.from_numpy(latents(SAMPLES, config["z_dim"], SEED)))[:, 0]
    flat = samples.reshape(SAMPLES, -1)
    shuffle = torch.Generator().manual_seed(SEED)
    shuffled = torch.stack([row[torch.randperm(len(row), generator=shuffle)] for row in flat])
    return {
        "sample_nn_distance": nearest_distance(samples, heldout),
        "shuffled_nn_distance": nearest_distance(shuffled, heldout),
        "train_digit_nn_distance": nearest_distance(digits[:SAMPLES], heldout),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help="weights file to write")
    parser.add_argument("--epochs", type=int, default=EPOCHS, help="epochs to train")
    parser.add_argument("--manifest", action="store_true",
                        help=f"write the {NAME} entry into imgstudio/models/manifest.json")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as private:
        os.environ["IMGSTUDIO_MODELS"] = private  # register into a throwaway store
        import imgstudio.api as api
        from imgstudio.core.progress import Progress
        from imgstudio.models import loading

        def show(name: str, data: dict) -> None:
            if name == "epoch" and (data["epoch"] % 10 == 0 or data["epoch"] == 1):
                print(f"epoch {data['epoch']:3d}: D {data['loss_d']:.3f}, G {data['loss_g']:.3f}, "
                      f"D(real) {data['d_real']:.2f}, D(fake) {data['d_fake']:.2f}, "
                      f"distance {data['distance']:.3f}", flush=True)

        trained = api.run("train.gan", dataset="digits", limit=N_TRAIN, epochs=args.epochs,
                          seed=SEED, name=NAME, output=Path(private) / f"{NAME}.pt",
                          progress=Progress(None, show))
        card = json.loads(Path(trained.path).with_suffix(".json").read_text(encoding="utf-8"))
        tensors = loading.state_dict(Path(trained.path))
    seconds = sum(trained.losses.columns["seconds"])
    metrics = {"train_loss_d": float(trained.metrics["loss_d"]),
               "train_loss_g": float(trained.metrics["loss_g"]),
               **heldout_metrics(tensors, card["config"])}
    blob = save_bytes(tensors)
    digest = write_weights(blob, args.out)
    entry = {
        "name": NAME, "file": args.out.name, "sha256": digest, "format": "torch-state-dict",
        "architecture": card["architecture"], "labels": None,
        "licence": "ours; trained by scripts/train/gan_default.py from scikit-learn's digits "
                   "(BSD-3-Clause; UCI optical recognition of handwritten digits, CC BY 4.0)",
        "source": f"trained by scripts/train/gan_default.py on the first {N_TRAIN:,} "
                  "scikit-learn digits at 16×16",
        "shipped": True, "config": card["config"],
        "training": {"dataset": card["training"]["dataset"], "epochs": trained.epochs,
                     "seed": SEED, "metrics": {k: round(v, 6) for k, v in metrics.items()},
                     "trained_by": "scripts/train/gan_default.py (train.gan)"},
    }
    print(f"trained {trained.epochs} epochs on the first {N_TRAIN} digits in {seconds:.1f} s")
    for key, value in metrics.items():
        print(f"  {key}: {value:.4f}")
    print(f"wrote {args.out} ({len(blob):,} bytes)")
    print(f"sha256 {digest} (manifest.json, {NAME})")
    if args.manifest:
        update_manifest(entry)
        print(f"updated {MANIFEST} ({NAME})")
    else:
        print(json.dumps(entry, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
