"""Train the shipped ``rbm-default`` model: a Bernoulli RBM on scikit-learn's digits.

    python scripts/train/rbm_default.py [--out imgstudio/models/data/rbm-default.npz]

Data: scikit-learn's digits (``sklearn.datasets.load_digits``: 1,797 8×8 images, values 0..16
divided by 16 → [0, 1], not binarised), in their shipped order; the first 1,500 train the
model, the remaining 297 are held out and only measured. Model: scikit-learn's
``BernoulliRBM`` with 150 hidden units, trained by the very loop ``train.rbm`` runs
(:func:`imgstudio.ops.train.rbm.fit_rbm`: ``partial_fit`` per mini-batch of 10, learning rate
0.06, 50 epochs, seed 0), so two runs give the same arrays.

Measured and printed: the pseudo-likelihood (``score_samples`` mean) on the training and the
held-out digits, and how near 64 samples (1,000 Gibbs steps, seed 0, as
``generate.rbm_sample`` draws them) lie to the held-out digits — the mean over samples of the
L2 pixel distance to the nearest held-out digit — next to the same for the held-out digits'
pixels shuffled (same values, no shape) and for the training digits themselves.

The npz holds the arrays :mod:`imgstudio.models.nets.rbm` describes (``components_``,
``intercept_hidden_``, ``intercept_visible_``, ``image_shape``, ``kind``), written with a fixed
zip date so the same arrays give the same bytes; the script prints the sha256 that belongs in
``imgstudio/models/manifest.json`` (entry ``rbm-default``).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from imgstudio.core.progress import Progress  # noqa: E402
from imgstudio.models.loading import npz_bytes  # noqa: E402
from imgstudio.models.nets.rbm import check_arrays, gibbs  # noqa: E402
from imgstudio.ops.train.rbm import _new_rbm, fit_rbm, load_data  # noqa: E402

OUT = ROOT / "imgstudio" / "models" / "data" / "rbm-default.npz"
N_TRAIN = 1500
SETTINGS = {"n_components": 150, "epochs": 50, "batch_size": 10, "learning_rate": 0.06, "seed": 0}


def nearest_distance(samples: np.ndarray, reference: np.ndarray) -> float:
    """Mean over ``samples`` rows of the L2 distance to the nearest ``reference`` row."""
    d2 = (samples ** 2).sum(1)[:, None] + (reference ** 2).sum(1)[None] - 2 * samples @ reference.T
    return float(np.sqrt(np.maximum(d2.min(1), 0)).mean())


def pseudo_likelihood(arrays: dict[str, np.ndarray], rows: np.ndarray, seed: int) -> float:
    """``BernoulliRBM.score_samples`` mean of ``rows`` for an RBM rebuilt from ``arrays``."""
    rbm = _new_rbm({"n_components": arrays["components_"].shape[0], "learning_rate": 0.1,
                    "batch_size": 10}, seed)
    rbm.components_ = arrays["components_"]
    rbm.intercept_hidden_ = arrays["intercept_hidden_"]
    rbm.intercept_visible_ = arrays["intercept_visible_"]
    rbm.n_features_in_ = rows.shape[1]
    return float(np.mean(rbm.score_samples(rows)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help="npz file to write")
    args = parser.parse_args(argv)
    x, shape, _ = load_data("digits", None, None)
    train, held = x[:N_TRAIN], x[N_TRAIN:]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        arrays, history = fit_rbm(
            train, shape, n_components=SETTINGS["n_components"], epochs=SETTINGS["epochs"],
            batch_size=SETTINGS["batch_size"], learning_rate=SETTINGS["learning_rate"],
            seed=SETTINGS["seed"], checkpoint=Path(tmp) / "rbm.ckpt", resume=False,
            progress=Progress(), extra_config={"dataset": "digits", "limit": N_TRAIN, "size": None})
    seconds = time.perf_counter() - started
    checked = check_arrays(arrays, "trained RBM")
    samples = gibbs(checked, 64, 1000, 0).reshape(64, -1)
    shuffled = np.random.default_rng(1).permuted(held[:64], axis=1)
    metrics = {
        "pseudo_likelihood_train": pseudo_likelihood(checked, train, SETTINGS["seed"]),
        "pseudo_likelihood_heldout": pseudo_likelihood(checked, held, SETTINGS["seed"]),
        "sample_nn_distance_heldout": nearest_distance(samples, held),
        "shuffled_nn_distance_heldout": nearest_distance(shuffled, held),
        "train_nn_distance_heldout": nearest_distance(train[:64], held),
    }
    blob = npz_bytes(arrays)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = args.out.with_name(f".{args.out.name}.part")
    tmp_out.write_bytes(blob)
    tmp_out.replace(args.out)
    print(f"trained {SETTINGS} on the first {N_TRAIN} digits in {seconds:.1f} s; "
          f"pseudo-likelihood per epoch {[round(v, 2) for v in history['pseudo_likelihood']]}")
    for k, v in metrics.items():
        print(f"{k}: {v:.4f}")
    print(f"wrote {args.out} ({len(blob):,} bytes)")
    print(f"sha256 {hashlib.sha256(blob).hexdigest()} (manifest.json, rbm-default)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
