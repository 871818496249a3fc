"""The Bernoulli restricted Boltzmann machine ``train.rbm`` trains and ``generate.rbm_sample``
samples from: its arrays, the npz file that holds them and Gibbs sampling, in numpy.

Unlike the other modules here this one needs no torch: an RBM is three arrays, the ones
scikit-learn's ``BernoulliRBM`` learns,

- ``components_`` (H, V): the weights W between the H hidden and the V visible units;
- ``intercept_hidden_`` (H,): the hidden biases c;
- ``intercept_visible_`` (V,): the visible biases b;

plus ``image_shape`` ``[h, w]`` (V = h·w pixels, row-major). The model file is an ``.npz`` of
exactly these (and a ``kind`` marker), read with ``allow_pickle=False``;
:func:`imgstudio.models.loading.npz_bytes` writes it with a fixed zip date so equal arrays give equal bytes (and an equal sha256).

The model's conditionals are P(h_j = 1 | v) = σ(c_j + Σ_i W_ji v_i) and
P(v_i = 1 | h) = σ(b_i + Σ_j W_ji h_j) with σ the logistic function (scikit-learn's
``_mean_hiddens`` and ``_sample_visibles`` compute the same).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

#: The arrays an RBM model file holds.
REQUIRED = ("components_", "intercept_hidden_", "intercept_visible_", "image_shape")
#: The value of the file's ``kind`` array.
KIND = "imgstudio-bernoulli-rbm"
#: The ``architecture`` of RBM model cards.
ARCHITECTURE = "BernoulliRBM (scikit-learn)"


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function, without overflow warnings (scipy's ``expit``)."""
    from scipy.special import expit

    return expit(x)


def model_arrays(components: np.ndarray, hidden: np.ndarray, visible: np.ndarray,
                 image_shape: tuple[int, int]) -> dict[str, np.ndarray]:
    """The arrays of a model file (float64 weights, int64 image shape, the kind marker)."""
    return {
        "kind": np.array(KIND),
        "components_": np.ascontiguousarray(components, dtype=np.float64),
        "intercept_hidden_": np.ascontiguousarray(hidden, dtype=np.float64).ravel(),
        "intercept_visible_": np.ascontiguousarray(visible, dtype=np.float64).ravel(),
        "image_shape": np.asarray(image_shape, dtype=np.int64).ravel(),
    }


def check_arrays(arrays: dict[str, np.ndarray], where: str) -> dict[str, np.ndarray]:
    """``arrays`` checked to be an RBM (every array there, the shapes agreeing); ``ValueError``
    naming ``where`` otherwise."""
    missing = [k for k in REQUIRED if k not in arrays]
    if missing:
        raise ValueError(f"{where} is not an RBM model file: it lacks {', '.join(missing)}")
    w = np.asarray(arrays["components_"], dtype=np.float64)
    c = np.asarray(arrays["intercept_hidden_"], dtype=np.float64).ravel()
    b = np.asarray(arrays["intercept_visible_"], dtype=np.float64).ravel()
    shape = tuple(int(v) for v in np.asarray(arrays["image_shape"]).ravel())
    if (w.ndim != 2 or len(shape) != 2 or min(shape) < 1 or w.shape != (len(c), len(b))
            or shape[0] * shape[1] != len(b)):
        raise ValueError(f"{where}: components_ {w.shape}, intercept_hidden_ {c.shape}, "
                         f"intercept_visible_ {b.shape} and image_shape {shape} do not agree")
    if not (np.isfinite(w).all() and np.isfinite(b).all() and np.isfinite(c).all()):
        raise ValueError(f"{where}: the RBM's arrays hold non-finite values")
    return {"components_": w, "intercept_hidden_": c, "intercept_visible_": b,
            "image_shape": np.asarray(shape, dtype=np.int64)}


def gibbs(arrays: dict[str, np.ndarray], count: int, steps: int, seed: int, *,
          on_step: Callable[[int, np.ndarray], None] | None = None) -> np.ndarray:
    """``count`` samples of the RBM after ``steps`` steps of block Gibbs sampling, as
    ``(count, h, w)`` float64 images in [0, 1].

    Done in numpy with one ``np.random.default_rng(seed)`` (the same seed gives the same
    samples): the chains start from uniform random binary images (each pixel on with
    probability ½); a step draws every hidden unit from P(h | v), then every visible unit from
    P(v | h). What is returned is P(v = 1 | h) of the last step — the mean image of the last
    hidden state, smoother to look at than its binary draw, which only feeds the next step.
    ``on_step(step, images)`` is called after every step with the current mean images (a
    view: copy to keep); it may raise to stop (a cancel).
    """
    w = arrays["components_"]
    c = arrays["intercept_hidden_"]
    b = arrays["intercept_visible_"]
    h_px, w_px = (int(v) for v in arrays["image_shape"])
    rng = np.random.default_rng(seed)
    v = (rng.random((count, w.shape[1])) < 0.5).astype(np.float64)
    mean = v
    for step in range(1, steps + 1):
        hidden = (rng.random((count, w.shape[0])) < sigmoid(v @ w.T + c)).astype(np.float64)
        mean = sigmoid(hidden @ w + b)
        v = (rng.random(mean.shape) < mean).astype(np.float64)
        if on_step is not None:
            on_step(step, mean.reshape(count, h_px, w_px))
    return mean.reshape(count, h_px, w_px)
