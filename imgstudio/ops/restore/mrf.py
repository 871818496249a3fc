"""Binary denoising with an Ising Markov random field, by iterated conditional modes (ICM)."""

from __future__ import annotations

from typing import Annotated

import numpy as np

from imgstudio.core.progress import Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import Image, Labels, Range, check_image
from imgstudio.ops._params import Seed
from imgstudio.ops._pixels import grey_unit, token


def _binary(image: np.ndarray) -> np.ndarray:
    """The observed spins ``y`` (±1): grey (BT.601) above the midpoint of its range is +1."""
    x = grey_unit(image)
    mid = (float(x.min()) + float(x.max())) / 2.0
    return np.where(x > mid, 1, -1).astype(np.int8)


def _waves(rank: np.ndarray) -> list[np.ndarray]:
    """Split a visiting order into waves of pixels that can be updated at once.

    A pixel's wave is one more than the largest wave of its 4-neighbours visited before it
    (0 if none). Pixels of one wave are never neighbours, and all earlier-visited neighbours of
    a pixel are in earlier waves, so updating wave after wave is *exactly* the sequential visit
    in ``rank`` order, but vectorised. Returns the row-major indices of each wave.
    """
    # Slices (target, neighbour) of the four neighbour relations: for the pixels in
    # ``rank[target]`` the neighbour is at the same position of ``rank[neighbour]``.
    pairs = [
        ((slice(None), slice(None, -1)), (slice(None), slice(1, None))),  # right
        ((slice(None), slice(1, None)), (slice(None), slice(None, -1))),  # left
        ((slice(None, -1), slice(None)), (slice(1, None), slice(None))),  # below
        ((slice(1, None), slice(None)), (slice(None, -1), slice(None))),  # above
    ]
    before = [rank[nb] < rank[tg] for tg, nb in pairs]
    # at_least[k]: pixels whose wave is >= k, i.e. that have an earlier neighbour in wave >= k-1
    level = np.zeros(rank.shape, dtype=np.int32)
    current = np.ones(rank.shape, dtype=bool)
    while True:
        nxt = np.zeros_like(current)
        for (tg, nb), earlier in zip(pairs, before, strict=True):
            nxt[tg] |= earlier & current[nb]
        if not nxt.any():
            break
        level += nxt
        current = nxt
    flat = level.ravel()
    return [np.flatnonzero(flat == k) for k in range(int(flat.max()) + 1)]


@operation("restore.mrf_denoise", title="MRF binary denoise (ICM)", menu="Filters/Restore")
def mrf_denoise(
    image: Image,
    *,
    eta: Annotated[float, Range(0.0, 100.0)] = 2.0,
    zeta: Annotated[float, Range(0.0, 100.0)] = 1.5,
    sweeps: Annotated[int, Range(1, 100)] = 10,
    seed: Seed = 0,
    progress: Progress | None = None,
) -> Labels:
    """Denoise a binary image with an Ising MRF prior by iterated conditional modes (ICM).

    The image is binarised first: its grey level (BT.601 for colour) above the midpoint of its
    own range, ``(min + max) / 2``, is the spin ``y = +1``, the rest ``y = -1`` (so a 0/1 or
    0/255 image is taken as it is). ICM starts from ``x = y`` and minimises the energy
    ``E(x) = -eta·Σ x_i·y_i - zeta·Σ_<i,j> x_i·x_j`` (sum over 4-neighbour pairs) one pixel at
    a time: ``x_i`` becomes the sign of ``eta·y_i + zeta·Σ_j x_j`` (unchanged on a tie). Each
    sweep visits every pixel once in a random order fixed by ``seed`` (pixel ``p``, row-major,
    is visited ``k``-th where ``k = numpy.random.default_rng(seed).permutation(H·W)[p]``);
    sweeps stop early once one changes nothing.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Noisy binary image (any image is thresholded as above).
    eta : float
        Weight of agreement with the observed image.
    zeta : float
        Weight of agreement between neighbours (smoothness).
    sweeps : int
        Maximum number of sweeps over the image.
    seed : int
        Seed of the visiting order.

    Returns
    -------
    (H, W) ndarray of int32
        The denoised mask: 1 where ``x = +1``, 0 elsewhere.
    """
    image = check_image(image)
    progress = token(progress)
    progress(0.0, "MRF denoising: scheduling")
    y = _binary(image)
    h, w = y.shape
    rank = np.random.default_rng(seed).permutation(h * w).astype(np.int32).reshape(h, w)
    waves = _waves(rank)
    # Work on a zero-bordered copy (outside pixels contribute nothing), addressed by flat
    # indices so that the four neighbours of index i are i ± 1 and i ± (w + 2).
    wp = w + 2
    xp = np.zeros((h + 2, wp), dtype=np.int8)
    xp[1:-1, 1:-1] = y
    xp = xp.ravel()
    field_y = eta * y.ravel().astype(np.float64)
    to_padded = (np.arange(h * w) // w + 1) * wp + np.arange(h * w) % w + 1
    waves = [(wave, to_padded[wave]) for wave in waves]
    for sweep in range(sweeps):
        progress(sweep / sweeps, f"MRF denoising: sweep {sweep + 1}/{sweeps}")
        changed = 0
        for wave, ids in waves:
            around = (xp[ids - 1].astype(np.int16) + xp[ids + 1] + xp[ids - wp] + xp[ids + wp])
            field = field_y[wave] + zeta * around
            old = xp[ids]
            new = np.where(field > 0, 1, np.where(field < 0, -1, old)).astype(np.int8)
            changed += int(np.count_nonzero(new != old))
            xp[ids] = new
        if changed == 0:
            break
    progress(1.0, "MRF denoising")
    return (xp.reshape(h + 2, wp)[1:-1, 1:-1] > 0).astype(np.int32)
