"""train.rbm: a Bernoulli restricted Boltzmann machine (scikit-learn's ``BernoulliRBM``).

The RBM is trained with scikit-learn's own update — ``BernoulliRBM.partial_fit``, one step of
stochastic maximum likelihood (persistent contrastive divergence) per mini-batch — in an epoch
loop written here rather than ``BernoulliRBM.fit``, so that every mini-batch reports progress
and can be cancelled, and every epoch is checkpointed, reported with its pseudo-likelihood and
a preview grid of Gibbs samples, and can be resumed. The loop of
:mod:`imgstudio.ops._training` is torch's; this one keeps its contracts with numpy:

- randomness: the epoch's shuffle is ``np.random.default_rng([seed, epoch])`` (a function of
  the seed and the epoch alone); everything the RBM draws (initial weights, the persistent
  chains' samples) comes from its ``random_state_``, a ``RandomState(seed)``. Same seed, same
  data → same arrays.
- the checkpoint ``<output>.ckpt`` is an ``.npz`` (no pickle) written atomically after every
  epoch: the RBM's arrays, its persistent chains ``h_samples_``, the Mersenne-Twister state of
  ``random_state_`` as arrays (key, position, cached Gaussian), the epoch, the per-epoch
  history and the settings (JSON). ``resume=True`` restores all of it, so 2 epochs + 3 resumed
  give the same arrays as 5 straight.
- the model file is an ``.npz`` of the arrays :mod:`imgstudio.models.nets.rbm` describes,
  registered in the model store (format ``npz``) with a card (settings and training record).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Annotated, Any

import numpy as np

from imgstudio.core.editor import Editor, Training
from imgstudio.core.progress import Cancelled, Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import Range, Table, Trained
from imgstudio.ops._pixels import token

CKPT_FORMAT = "imgstudio-rbm-checkpoint"
#: Chains and steps of the per-epoch preview grid.
PREVIEW_COUNT, PREVIEW_STEPS = 16, 200
#: At most this many training images score the pseudo-likelihood each epoch.
SCORE_LIMIT = 1000


def default_size(dataset: str) -> int:
    """The image side a dataset trains at when ``size`` is not given."""
    return 8 if str(dataset).strip() == "digits" else 28


def load_data(dataset: str, size: int | None, limit: int | None) -> tuple[np.ndarray, tuple[int, int], str]:
    """The training images as ``(N, h·w)`` float64 rows in [0, 1] (not binarised), their
    shape and the dataset's description."""
    from imgstudio.ops._training import load_images

    side = int(size) if size is not None else default_size(dataset)
    keep_size = size is None and str(dataset).strip() in ("digits", "fashion_mnist")
    images = load_images(dataset, size=None if keep_size else side, limit=limit)
    x = np.asarray(images.x, dtype=np.float64)
    if x.ndim != 3:
        raise ValueError(f"dataset: expected grey images, got an array of shape {x.shape}")
    return x.reshape(len(x), -1), (int(x.shape[1]), int(x.shape[2])), images.description


def _rng_arrays(rng: np.random.RandomState) -> dict[str, np.ndarray]:
    name, key, pos, has_gauss, cached = rng.get_state(legacy=True)
    assert name == "MT19937"
    return {"rng_key": np.asarray(key, dtype=np.uint32), "rng_pos": np.int64(pos),
            "rng_has_gauss": np.int64(has_gauss), "rng_cached_gaussian": np.float64(cached)}


def _rng_from(arrays: dict[str, np.ndarray]) -> np.random.RandomState:
    rng = np.random.RandomState()
    rng.set_state(("MT19937", np.asarray(arrays["rng_key"], dtype=np.uint32),
                   int(arrays["rng_pos"]), int(arrays["rng_has_gauss"]),
                   float(arrays["rng_cached_gaussian"])))
    return rng


def _new_rbm(config: dict[str, Any], seed: int) -> Any:
    from sklearn.neural_network import BernoulliRBM

    return BernoulliRBM(n_components=int(config["n_components"]),
                        learning_rate=float(config["learning_rate"]),
                        batch_size=int(config["batch_size"]), n_iter=1, random_state=seed)


def save_checkpoint(path: Path, rbm: Any, *, config: dict[str, Any], epoch: int,
                    history: dict[str, list[float]]) -> None:
    """The training state written atomically as an npz (see the module docstring)."""
    from imgstudio.core.atomic import atomic_write
    from imgstudio.models.loading import npz_bytes

    arrays: dict[str, Any] = {
        "format": np.array(CKPT_FORMAT), "config": np.array(json.dumps(config, sort_keys=True)),
        "epoch": np.int64(epoch), "history_names": np.array(sorted(history), dtype=str),
        "components_": rbm.components_, "intercept_hidden_": rbm.intercept_hidden_,
        "intercept_visible_": rbm.intercept_visible_, "h_samples_": rbm.h_samples_,
        **_rng_arrays(rbm.random_state_),
    }
    for k, values in history.items():
        arrays[f"history_{k}"] = np.asarray(values, dtype=np.float64)
    blob = npz_bytes(arrays)
    atomic_write(path, lambda tmp: Path(tmp).write_bytes(blob), "checkpoint")


def load_checkpoint(path: Path, rbm: Any, config: dict[str, Any]) -> tuple[int, dict[str, list[float]]]:
    """Restore ``rbm`` from the checkpoint at ``path``; returns its epoch and history."""
    from imgstudio.models import loading

    try:
        arrays = loading.npz(path)
    except ValueError as exc:
        raise ValueError(f"resume: {exc}") from None
    if str(arrays.get("format", "")) != CKPT_FORMAT:
        raise ValueError(f"resume: {path} is not a checkpoint of an RBM training")
    saved = json.loads(str(arrays["config"]))
    if saved != config:
        raise ValueError(f"resume: the checkpoint {path} was made with other settings ({saved}); "
                         "resume with those, or start afresh")
    rbm.components_ = np.asarray(arrays["components_"], dtype=np.float64)
    rbm.intercept_hidden_ = np.asarray(arrays["intercept_hidden_"], dtype=np.float64)
    rbm.intercept_visible_ = np.asarray(arrays["intercept_visible_"], dtype=np.float64)
    rbm.h_samples_ = np.asarray(arrays["h_samples_"], dtype=np.float64)
    rbm.random_state_ = _rng_from(arrays)
    # what partial_fit's first call would have set (the input size it checks later calls by)
    rbm.n_features_in_ = rbm.components_.shape[1]
    rbm._n_features_out = rbm.components_.shape[0]
    history = {str(k): [float(v) for v in arrays[f"history_{k}"]] for k in arrays["history_names"]}
    return int(arrays["epoch"]), history


def preview_grid(arrays: dict[str, np.ndarray], seed: int) -> np.ndarray:
    """A uint8 grid of :data:`PREVIEW_COUNT` Gibbs samples, enlarged (nearest) to ≥ 128 px."""
    from imgstudio.models.nets.rbm import gibbs
    from imgstudio.ops._training import grid, to_uint8

    picture = grid(to_uint8(gibbs(arrays, PREVIEW_COUNT, PREVIEW_STEPS, seed)))
    factor = max(1, min(128 // max(picture.shape), 256 // max(picture.shape)))
    return np.kron(picture, np.ones((factor, factor), dtype=np.uint8)) if factor > 1 else picture


def fit_rbm(x: np.ndarray, image_shape: tuple[int, int], *, n_components: int, epochs: int,
            batch_size: int, learning_rate: float, seed: int, checkpoint: Path, resume: bool,
            progress: Progress, extra_config: dict[str, Any] | None = None,
            ) -> tuple[dict[str, np.ndarray], dict[str, list[float]]]:
    """Train an RBM on rows ``x`` up to ``epochs`` epochs (see the module docstring); returns
    the model arrays (:func:`imgstudio.models.nets.rbm.model_arrays`) and the history."""
    from imgstudio.models.nets.rbm import model_arrays

    config = {"n_components": int(n_components), "batch_size": int(batch_size),
              "learning_rate": float(learning_rate), "seed": int(seed),
              "image_shape": [int(image_shape[0]), int(image_shape[1])],
              **(extra_config or {})}
    rbm = _new_rbm(config, seed)
    epoch, history = 0, {}
    if resume:
        if not checkpoint.is_file():
            raise ValueError(f"resume: there is no checkpoint {checkpoint} to resume from")
        epoch, history = load_checkpoint(checkpoint, rbm, config)
        progress(epoch / max(epochs, 1), f"resumed at epoch {epoch}")
    n = len(x)
    batches = max(1, math.ceil(n / batch_size))
    scored = x[:SCORE_LIMIT]
    try:
        while epoch < epochs:
            e = epoch + 1
            started = time.perf_counter()
            order = np.random.default_rng([seed, e]).permutation(n)
            for i, idx in enumerate(np.array_split(order, batches)):
                rbm.partial_fit(x[idx])
                progress((epoch + (i + 1) / batches) / epochs,
                         f"epoch {e}/{epochs}, batch {i + 1}/{batches}")
            pseudo = float(np.mean(rbm.score_samples(scored)))
            epoch = e
            for k, v in (("epoch", e), ("pseudo_likelihood", pseudo),
                         ("seconds", round(time.perf_counter() - started, 3))):
                history.setdefault(k, []).append(float(v))
            save_checkpoint(checkpoint, rbm, config=config, epoch=epoch, history=history)
            arrays = model_arrays(rbm.components_, rbm.intercept_hidden_,
                                  rbm.intercept_visible_, image_shape)
            progress.report("epoch", {"epoch": e, "epochs": epochs, "pseudo_likelihood": pseudo,
                                      "preview": preview_grid(arrays, seed)})
            progress(e / epochs, f"epoch {e}/{epochs}, pseudo-likelihood {pseudo:.4g}")
    except Cancelled:
        kept = (f"the checkpoint {checkpoint} holds epoch {epoch}; resume=True continues "
                "from it") if epoch else "no epoch had finished"
        raise Cancelled(f"cancelled after {epoch} of {epochs} epochs: {kept}") from None
    return model_arrays(rbm.components_, rbm.intercept_hidden_, rbm.intercept_visible_,
                        image_shape), history


def _positive_int(value: Any, name: str, lo: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < lo:
        raise ValueError(f"{name} must be an integer >= {lo}; got {value!r}")
    return int(value)


@operation("train.rbm", title="Train RBM (Bernoulli restricted Boltzmann machine)",
           menu="Tools/Train",
           editor=Editor(training=Training(uses={"generate.rbm_sample": "model"})))
def rbm(
    *,
    dataset: str = "digits",
    n_components: Annotated[int, Range(1, 4096)] = 150,
    epochs: Annotated[int, Range(1, 10000)] = 20,
    batch_size: Annotated[int, Range(1, 65536)] = 10,
    learning_rate: Annotated[float, Range(1e-6, 10.0, step=0.01)] = 0.06,
    seed: Annotated[int, Range(0, 2**31 - 1)] = 0,
    size: Annotated[int, Range(2, 256)] | None = None,
    limit: Annotated[int, Range(1, 10**9)] | None = None,
    output: Path | None = None,
    name: str = "my-rbm",
    resume: bool = False,
    progress: Progress | None = None,
) -> Trained:
    """Train a Bernoulli RBM on images and register it in the model store.

    scikit-learn's ``BernoulliRBM`` learns ``n_components`` binary hidden units over the
    image's pixels by stochastic maximum likelihood (persistent contrastive divergence); here
    its ``partial_fit`` runs once per mini-batch in a seeded epoch loop with per-batch
    progress, a checkpoint after every epoch and resume. The pixels are the images' grey
    values in [0, 1], used as they are (not binarised: the RBM treats a grey value as the
    probability of the pixel being on). Each epoch reports its pseudo-likelihood (the mean of
    ``score_samples`` over up to 1,000 training images: a one-pixel-flip estimate of the log
    likelihood, higher is better) and a preview grid of 16 Gibbs samples (200 steps).
    On scikit-learn's digits the defaults (150 hidden units, 20 epochs) take a few seconds
    and their Gibbs samples are recognisable digits; the shipped ``rbm-default`` is 50 epochs
    on the first 1,500 digits.

    Parameters
    ----------
    dataset : str
        ``digits`` (scikit-learn's 1,797 8×8 digits), ``fashion_mnist`` (60,000 28×28
        images) or a folder of images (read as grey).
    n_components : int
        Number of hidden units.
    epochs : int
        Passes over the data in all (with ``resume``, the total to reach).
    batch_size : int
        Images per mini-batch (and number of persistent Gibbs chains).
    learning_rate : float
        Step size of the weight updates (scikit-learn divides it by the batch size).
    seed : int
        Seed of every random choice: the same seed and data give the same model.
    size : int, optional
        Side the images are resized to; default: the dataset's own (8 for digits, 28 for
        Fashion-MNIST), 28 for a folder.
    limit : int, optional
        Train on the first ``limit`` images only (a fixed subset).
    output : path, optional
        The model file (``.npz``) to write; default: ``NAME.npz`` in your model folder. The
        checkpoint is written beside it as ``OUTPUT.ckpt``.
    name : str
        Model store name the trained model is registered under.
    resume : bool
        Continue from the checkpoint of an earlier run with the same settings.
    progress : Progress, optional
        Per-batch progress, cancellation, and per-epoch reports.

    Returns
    -------
    Trained
        The registered name, the model file, the per-epoch pseudo-likelihood and the final
        metrics.
    """
    from imgstudio.core.atomic import atomic_write
    from imgstudio.models import store
    from imgstudio.models.loading import npz_bytes
    from imgstudio.models.nets.rbm import ARCHITECTURE
    from imgstudio.ops._training import check_name, check_seed, checkpoint_path, write_card_beside

    progress = token(progress)
    n_components = _positive_int(n_components, "n_components")
    epochs = _positive_int(epochs, "epochs")
    batch_size = _positive_int(batch_size, "batch_size")
    if size is not None:
        size = _positive_int(size, "size", 2)
    if limit is not None:
        limit = _positive_int(limit, "limit")
    if isinstance(learning_rate, bool) or not isinstance(learning_rate, (int, float)) \
            or not math.isfinite(learning_rate) or learning_rate <= 0:
        raise ValueError(f"learning_rate must be a positive number; got {learning_rate!r}")
    seed = check_seed(seed)
    name = check_name(name)
    x, shape, description = load_data(dataset, size, limit)
    if len(x) < 2:
        raise ValueError(f"dataset: needs at least 2 images; got {len(x)}")
    target = Path(output).expanduser() if output is not None else store.user_folders()[0] / f"{name}.npz"
    if target.suffix.lower() != ".npz":
        raise ValueError(f"output must be an .npz file; got {target}")
    target.parent.mkdir(parents=True, exist_ok=True)
    data = {"dataset": str(dataset), "limit": limit, "size": size}
    arrays, history = fit_rbm(x, shape, n_components=n_components, epochs=epochs,
                              batch_size=batch_size, learning_rate=float(learning_rate),
                              seed=seed, checkpoint=checkpoint_path(target), resume=resume,
                              progress=progress, extra_config=data)
    blob = npz_bytes(arrays)
    atomic_write(target, lambda tmp: Path(tmp).write_bytes(blob), "model file")
    metrics = {"pseudo_likelihood": history["pseudo_likelihood"][-1]}
    config = {"n_components": n_components, "image_shape": list(shape)}
    training = {"dataset": description, "epochs": int(history["epoch"][-1]), "seed": seed,
                "metrics": metrics, "batch_size": batch_size,
                "learning_rate": float(learning_rate), "images": len(x),
                "trained_by": "train.rbm", "date": time.strftime("%Y-%m-%d")}
    located = store.import_file(
        target, name, format="npz", architecture=ARCHITECTURE, licence="yours (trained with imgstudio)",
        config=config, training=training, source_text=f"trained by train.rbm on {description}")
    write_card_beside(target, located.info.to_json())
    return Trained(name=name, path=str(target), losses=Table({k: list(v) for k, v in history.items()}),
                   metrics=metrics, epochs=int(history["epoch"][-1]))
