"""Self-organising map (Kohonen) colour segmentation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import numpy as np

from imgstudio.core.progress import Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import Image, Labels, Range, Result, check_image
from imgstudio.ops._params import Seed
from imgstudio.ops._pixels import as_labels, from_unit, to_unit, token
from imgstudio.ops.segment._common import nearest, pixels


@dataclass(frozen=True, eq=False)
class SomResult(Result):
    """The winning neuron of every pixel and the image quantised to the neurons' colours."""

    labels: Labels
    image: Image


def train_som(
    initial: np.ndarray,
    samples: np.ndarray,
    cols: int,
    sigma: float,
    learning_rate: float,
    progress: Progress,
) -> np.ndarray:
    """Online SOM training; returns the codebook (rows·cols, C).

    ``initial`` (rows·cols, C) is the starting codebook, neuron i at map position
    ``divmod(i, cols)``; ``samples`` (T, C) are presented in order. MiniSom's rules: sample x_t
    pulls every neuron i towards it by ``lr_t · h_i · (x_t - w_i)``, where
    ``h_i = exp(-|grid(i) - grid(bmu)|² / (2 σ_t²))`` around the best-matching unit (nearest
    neuron, first on ties) and both rates decay asymptotically:
    ``lr_t = learning_rate / (1 + 2t/T)``, ``σ_t = sigma / (1 + 2t/T)``.
    """
    weights = np.array(initial, dtype=np.float64)
    samples = np.asarray(samples, dtype=np.float64)
    n_neurons, iterations = len(weights), len(samples)
    gy, gx = np.divmod(np.arange(n_neurons), cols)
    grid_d2 = ((gy[:, None] - gy[None, :]) ** 2 + (gx[:, None] - gx[None, :]) ** 2).astype(float)
    decay = 1.0 + np.arange(iterations) / (iterations / 2.0)
    rates = (learning_rate / decay).tolist()
    neg_inv_two_s2 = (-1.0 / (2.0 * (sigma / decay) ** 2)).tolist()
    # The updates are sequential by nature; the loop body is kept to a few in-place numpy
    # calls (about 20 µs a step: 100,000 iterations take a few seconds).
    diff = np.empty_like(weights)
    square = np.empty_like(weights)
    h = np.empty(n_neurons)
    step = max(1, iterations // 50)
    for t in range(iterations):
        np.subtract(samples[t], weights, out=diff)
        np.multiply(diff, diff, out=square)
        bmu = square.sum(axis=1).argmin()
        np.multiply(grid_d2[bmu], neg_inv_two_s2[t], out=h)
        np.exp(h, out=h)
        h *= rates[t]
        diff *= h[:, None]
        weights += diff
        if t % step == 0:
            progress(t / iterations, "Training")
    return weights


@operation("segment.som", title="Self-organising map", menu="Segment/Cluster")
def som(
    image: Image,
    *,
    rows: Annotated[int, Range(1, 16)] = 3,
    cols: Annotated[int, Range(1, 16)] = 3,
    iterations: Annotated[int, Range(1, 100_000)] = 1000,
    sigma: Annotated[float, Range(0.01, 10.0)] = 1.0,
    learning_rate: Annotated[float, Range(0.001, 1.0)] = 0.5,
    seed: Seed = 0,
    progress: Progress | None = None,
) -> SomResult:
    """Segment colours with a self-organising map: one label per winning neuron.

    A rows × cols Kohonen map, initialised with the colours of rows · cols random pixels, is
    trained online on pixel colours (RGB or grey in [0, 1]), one random pixel per iteration, with MiniSom's update and decay rules (a short
    numpy implementation: no maintained small SOM library is in our dependency set; see
    :func:`train_som`). Every pixel is then labelled with its best-matching neuron, and the
    quantised image replaces each pixel by that neuron's colour. Neighbouring neurons on the
    map end up with similar colours.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image; alpha is ignored for training and carried through.
    rows, cols : int
        Size of the map (rows · cols neurons = largest number of labels).
    iterations : int
        Training steps (one pixel each).
    sigma : float
        Initial neighbourhood radius on the map, in neurons.
    learning_rate : float
        Initial learning rate.
    seed : int
        Seed of the initial codebook and of the pixel draws.

    Returns
    -------
    SomResult
        ``labels``: (H, W) int32, neuron index + 1 (index = row · cols + col);
        ``image``: the quantised image, same shape and dtype as the input.
    """
    progress = token(progress)
    image = check_image(image)
    flat = pixels(image)
    rng = np.random.default_rng(seed)
    initial = to_unit(flat[rng.integers(0, len(flat), rows * cols)])
    samples = to_unit(flat[rng.integers(0, len(flat), iterations)])
    weights = train_som(initial, samples, cols, sigma, learning_rate, progress.sub(0.0, 0.7))
    winner = nearest(flat, weights, progress.sub(0.7, 1.0), "Labelling")
    codebook = from_unit(weights, image.dtype)
    quantised = codebook[winner].reshape(image.shape[:2] + (flat.shape[1],))
    if image.ndim == 2:
        out = quantised[..., 0]
    else:
        out = image.copy()
        out[..., :3] = quantised
    return SomResult(labels=as_labels(winner.reshape(image.shape[:2]) + 1), image=out)
