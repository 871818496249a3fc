"""generate.rbm_sample: images drawn from a Bernoulli RBM by Gibbs sampling.

The model is an npz of the RBM's arrays (see :mod:`imgstudio.models.nets.rbm`): the shipped
``rbm-default`` (trained by ``scripts/train/rbm_default.py`` on the first 1,500 of
scikit-learn's digits), one ``train.rbm`` registered, or the path of such a file. The Gibbs
steps are done in numpy from the arrays (:func:`imgstudio.models.nets.rbm.gibbs`), not by
rebuilding a ``BernoulliRBM``: its ``gibbs`` draws from its own global ``random_state_``,
whereas here one ``default_rng(seed)`` per call makes the same seed give the same grid.
"""

from __future__ import annotations

import os
from typing import Annotated

import numpy as np

from imgstudio.core.progress import Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import Image, Range
from imgstudio.ops._params import user_path
from imgstudio.ops._pixels import token


def load_rbm(model: str | os.PathLike[str]) -> tuple[dict[str, np.ndarray], str, bool]:
    """The checked arrays of an RBM model — a store name or an ``.npz`` path — cached per
    process; also a label for messages and whether this call loaded it."""
    from imgstudio.models import loading, store
    from imgstudio.models.nets.rbm import check_arrays

    text = str(model).strip()
    if not text:
        raise ValueError("model must be a model store name or an .npz file; got ''")
    path = user_path(text, "model")
    if path.suffix and (path.is_file() or os.sep in text):
        if not path.is_file():
            raise ValueError(f"model: no such model file: {path}")
        key, label, fmt = ("rbm", str(path), store.sha256_of(path)), str(path), "npz"
    else:
        located = store.find(text)
        path, label, fmt = located.path, text, located.info.format
        key = ("rbm", str(path), located.info.sha256)
    if fmt != "npz":
        raise ValueError(f"model: {label!r} is a {fmt} model; generate.rbm_sample needs the npz "
                         "of an RBM (train.rbm makes one)")

    def build() -> dict[str, np.ndarray]:
        try:
            arrays = loading.npz(path)
        except ValueError as exc:
            raise ValueError(f"model: {exc}") from None
        return check_arrays(arrays, f"model {label!r} ({path})")

    arrays, _, built = store.cached(key, build)
    return arrays, label, built


@operation("generate.rbm_sample", title="RBM samples (Gibbs sampling)", menu="Filters/Generate")
def rbm_sample(
    *,
    model: str = "rbm-default",
    count: Annotated[int, Range(1, 1024)] = 16,
    gibbs_steps: Annotated[int, Range(1, 100000)] = 1000,
    seed: Annotated[int, Range(0, 2**31 - 1)] = 0,
    progress: Progress | None = None,
) -> Image:
    """Draw images from a restricted Boltzmann machine by block Gibbs sampling.

    ``count`` chains start from random binary images and take ``gibbs_steps`` steps, each
    drawing every hidden unit given the pixels and then every pixel given the hidden units
    (numpy, one random generator seeded by ``seed``: the same seed gives the same grid). Each
    sample shown is the probability of each pixel being on given the last hidden state. The
    grid is reported as it forms, every 5 % of the steps. The shipped ``rbm-default`` (150
    hidden units, 8×8 digits) makes recognisable digits after about 1,000 steps.

    Parameters
    ----------
    model : str
        Model store name of an RBM (``rbm-default``, or one ``train.rbm`` registered), or the
        path of an RBM ``.npz``.
    count : int
        Number of samples (chains); the grid is ⌈√count⌉ images wide.
    gibbs_steps : int
        Gibbs steps each chain takes.
    seed : int
        Seed of the random draws.
    progress : Progress, optional
        Progress per step, cancellation, and ``report("sample", {"index", "count", "image"})``
        with the grid so far (``index`` steps of ``count`` done).

    Returns
    -------
    Image
        A uint8 grid of the samples, one black pixel between them.
    """
    from imgstudio.models.nets.rbm import gibbs
    from imgstudio.ops._training import check_seed, grid, to_uint8

    progress = token(progress)
    for pname, value in (("count", count), ("gibbs_steps", gibbs_steps)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{pname} must be an integer >= 1; got {value!r}")
    seed = check_seed(seed)
    if not isinstance(model, (str, os.PathLike)):
        raise ValueError(f"model must be a model store name or an .npz file; got {model!r}")
    arrays, label, built = load_rbm(model)
    if built:
        progress(0.0, f"loaded model {label}")
    every = max(1, int(gibbs_steps) // 20)

    def step(i: int, images: np.ndarray) -> None:
        progress(i / gibbs_steps, f"Gibbs step {i}/{gibbs_steps}")
        if i % every == 0 or i == gibbs_steps:
            progress.report("sample", {"index": i, "count": int(gibbs_steps),
                                       "image": grid(to_uint8(images))})

    samples = gibbs(arrays, int(count), int(gibbs_steps), seed, on_step=step)
    return grid(to_uint8(samples))
