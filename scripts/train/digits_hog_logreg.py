"""Train the shipped ``digits-hog-logreg`` model: HOG features + logistic regression on digits.

    python scripts/train/digits_hog_logreg.py [--out imgstudio/models/data/digits-hog-logreg.npz]

Data: scikit-learn's digits (``sklearn.datasets.load_digits``: 1,797 8×8 images, values 0..16,
bright strokes on a 0 background), in their shipped order; the first 1,200 train the model,
the remaining 597 are held out and only scored. Features: each digit divided by 16, enlarged
to 32×32 bilinearly and described by ``skimage.feature.hog`` (9 orientations, 4×4-pixel cells,
2×2-cell blocks, L2-Hys), computed by :func:`imgstudio.ops.classify.digits.hog_features`, the
very function the op uses. Model: ``sklearn.linear_model.LogisticRegression`` (multinomial,
lbfgs, C = 1, ``random_state`` = 0; lbfgs itself draws nothing at random), so two runs give the
same arrays.

The npz holds plain arrays only (``np.load(allow_pickle=False)`` reads it): ``coef_``,
``intercept_``, ``classes``, the HOG settings (``hog_size``, ``hog_orientations``,
``hog_pixels_per_cell``, ``hog_cells_per_block``, ``hog_block_norm``) and the input
normalisation (``input_size`` = 8, ``input_max`` = 16: a digit's values are divided by it), plus
``n_train``, ``n_heldout``, ``seed`` and ``heldout_accuracy``. The zip entries carry a fixed date, so the same arrays give
the same file bytes and the same sha256; the script prints the digest that belongs in
``imgstudio/models/manifest.json`` (entry ``digits-hog-logreg``).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from imgstudio.models.loading import npz_bytes  # noqa: E402
from imgstudio.ops.classify.digits import hog_features  # noqa: E402

OUT = ROOT / "imgstudio" / "models" / "data" / "digits-hog-logreg.npz"
N_TRAIN = 1200
SEED = 0
C = 1.0
SETTINGS = {
    "input_size": np.int64(8),
    "input_max": np.float64(16.0),
    "hog_size": np.int64(32),
    "hog_orientations": np.int64(9),
    "hog_pixels_per_cell": np.array([4, 4], dtype=np.int64),
    "hog_cells_per_block": np.array([2, 2], dtype=np.int64),
    "hog_block_norm": np.array("L2-Hys"),
}


def dataset() -> tuple[np.ndarray, np.ndarray]:
    """sklearn's digits in their shipped order: ``(1797, 8, 8)`` floats 0..16 and the targets."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    return digits.images.astype(np.float64), digits.target.astype(np.int64)


def train(n_train: int = N_TRAIN, seed: int = SEED) -> dict[str, np.ndarray]:
    """Fit the model on the first ``n_train`` digits; the arrays the npz holds."""
    from sklearn.linear_model import LogisticRegression

    images, target = dataset()
    features = hog_features(images / SETTINGS["input_max"], SETTINGS)
    model = LogisticRegression(C=C, max_iter=5000, random_state=seed)
    model.fit(features[:n_train], target[:n_train])
    heldout = float(model.score(features[n_train:], target[n_train:])) \
        if n_train < len(target) else float("nan")
    return {
        "coef_": model.coef_.astype(np.float64),
        "intercept_": model.intercept_.astype(np.float64),
        "classes": model.classes_.astype(np.int64),
        **SETTINGS,
        "n_train": np.int64(n_train),
        "n_heldout": np.int64(len(target) - n_train),
        "seed": np.int64(seed),
        "heldout_accuracy": np.float64(heldout),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help="npz file to write")
    args = parser.parse_args(argv)
    arrays = train()
    blob = npz_bytes(arrays)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(f".{args.out.name}.part")
    tmp.write_bytes(blob)
    tmp.replace(args.out)
    print(f"trained on the first {int(arrays['n_train'])} digits; held-out accuracy on the "
          f"remaining {int(arrays['n_heldout'])}: {float(arrays['heldout_accuracy']):.4f}")
    print(f"wrote {args.out} ({len(blob):,} bytes)")
    print(f"sha256 {hashlib.sha256(blob).hexdigest()} (manifest.json, digits-hog-logreg)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
