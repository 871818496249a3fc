"""Denoising by sparse coding of patches on a dictionary learnt from the image itself."""

from __future__ import annotations

import warnings
from typing import Annotated

import numpy as np

from imgstudio.core.progress import Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import Image, Range, check_image
from imgstudio.ops._params import Seed
from imgstudio.ops._pixels import colour_part, from_unit_like, n_colour_channels, to_unit, token

#: Sparse coder used while learning the dictionary ("cd" is 10× faster than "lars" on small
#: or noisy patch sets and learns an equally good dictionary).
FIT_ALGORITHM = "cd"

#: Patches coded at once when denoising (bounds the memory of the coding step).
CHUNK_PATCHES = 16384


def omp(dictionary: np.ndarray, signals: np.ndarray, n_nonzero: int) -> np.ndarray:
    """Orthogonal matching pursuit of each row of ``signals`` on the rows of ``dictionary``.

    Returns the codes ``(n_signals, n_atoms)`` with at most ``n_nonzero`` non-zeros each; see
    :func:`omp_approximation`.
    """
    n = len(signals)
    active, used, gamma, _ = omp_approximation(dictionary, signals, n_nonzero)
    codes = np.zeros((n, len(dictionary)))
    rows = np.arange(n)
    for j in range(active.shape[1]):
        u = used[:, j]  # an active atom appears once per row, so += cannot collide
        codes[rows[u], active[u, j]] += gamma[u, j]
    return codes


def omp_approximation(
    dictionary: np.ndarray, signals: np.ndarray, n_nonzero: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Orthogonal matching pursuit: the active atoms and coefficients, and the approximation.

    Returns ``(active, used, gamma, approximation)``: ``active[i, j]`` is the ``j``-th atom
    chosen for signal ``i`` (meaningful where ``used[i, j]``), ``gamma`` its coefficient and
    ``approximation = Σ_j gamma[:, j] · dictionary[active[:, j]]``. The
    same algorithm and stopping rules as ``sklearn.linear_model.orthogonal_mp_gram`` (the
    atom most correlated with the residual is added; a signal stops early when that atom is
    already active, its correlation is ~0, or it depends linearly on the active ones), but
    vectorised over the signals (scikit-learn loops over them in Python, about 15× slower:
    half an hour for the ~12 million patches of a 12-megapixel photograph on two cores).
    """
    n = len(signals)
    gram = dictionary @ dictionary.T
    rows = np.arange(n)
    tiny = np.finfo(np.float64).tiny
    active = np.zeros((n, 0), dtype=np.intp)
    used = np.zeros((n, 0), dtype=bool)
    alive = np.ones(n, dtype=bool)
    gamma = np.zeros((n, 0))
    residual = signals
    for k in range(n_nonzero):
        # correlations with the residual (= Xy - Gram·gamma of scikit-learn's Gram form)
        alpha = residual @ dictionary.T
        lam = np.argmax(np.abs(alpha), axis=1)
        best = alpha[rows, lam]
        alive &= best**2 >= tiny
        alive &= ~(used & (active == lam[:, None])).any(axis=1)
        if k:
            g = gram[lam[:, None], active] * used  # (n, k)
            sub = gram[active[:, :, None], active[:, None, :]] * (used[:, :, None] & used[:, None, :])
            sub[:, np.arange(k), np.arange(k)] += ~used
            v = np.linalg.solve(sub, g[..., None])[..., 0]
            alive &= gram[lam, lam] - (g * v).sum(axis=1) > tiny
        if not alive.any():
            break
        active = np.concatenate([active, lam[:, None]], axis=1)
        used = np.concatenate([used, alive[:, None]], axis=1)
        # least squares on the active atoms (unused slots get an identity row and a 0 right side)
        atoms = dictionary[active]  # (n, k + 1, features)
        sub = gram[active[:, :, None], active[:, None, :]] * (used[:, :, None] & used[:, None, :])
        sub[:, np.arange(k + 1), np.arange(k + 1)] += ~used
        rhs = np.einsum("nf,nkf->nk", signals, atoms) * used
        gamma = np.linalg.solve(sub, rhs[..., None])[..., 0]
        residual = signals - np.einsum("nk,nkf->nf", gamma, atoms)
    return active, used, gamma, signals - residual


class PatchAverager:
    """Average overlapping ``p × p`` patches into an image, fed strip by strip.

    The sum of :meth:`add` calls over all patch positions equals
    ``sklearn.feature_extraction.image.reconstruct_from_patches_2d`` (every pixel is the mean of
    the patches covering it), without holding all patches in memory and without its per-patch
    Python loop.
    """

    def __init__(self, shape: tuple[int, ...], patch: int) -> None:
        self.total = np.zeros(shape)
        self.patch = patch

    def add(self, patches: np.ndarray, top: int) -> None:
        """Add the patches whose top-left corners are rows ``top..`` × every column.

        ``patches``: ``(rows, cols, p, p[, C])`` with ``cols = W - p + 1``.
        """
        rows, cols = patches.shape[:2]
        for di in range(self.patch):
            for dj in range(self.patch):
                self.total[top + di:top + di + rows, dj:dj + cols] += patches[:, :, di, dj]

    def result(self) -> np.ndarray:
        h, w = self.total.shape[:2]
        p = self.patch

        def coverage(n: int) -> np.ndarray:
            i = np.arange(n)
            return np.minimum.reduce([i + 1, np.full(n, p), n - i, np.full(n, n - p + 1)])

        count = np.outer(coverage(h), coverage(w)).astype(np.float64)
        return self.total / (count if self.total.ndim == 2 else count[..., None])


@operation("restore.dictionary_denoise", title="Dictionary-learning denoise",
           menu="Filters/Restore")
def dictionary_denoise(
    image: Image,
    *,
    n_components: Annotated[int, Range(2, 1024)] = 256,
    patch_size: Annotated[int, Range(2, 32)] = 7,
    alpha: Annotated[float, Range(0.01, 100.0)] = 1.0,
    nonzero_coefs: Annotated[int, Range(1, 64)] = 2,
    max_patches: Annotated[int, Range(100, 1_000_000)] = 20000,
    seed: Seed = 0,
    progress: Progress | None = None,
) -> Image:
    """Denoise by sparse coding every patch on a dictionary learnt from the image's own patches.

    1. ``max_patches`` random ``patch_size²`` patches (colour patches keep their 3 channels
       together) minus their own mean train ``sklearn.decomposition.MiniBatchDictionaryLearning
       (n_components, alpha=alpha, batch_size=256, max_iter=10, fit_algorithm="cd",
       random_state=seed)``.
    2. Every patch of the image, minus its mean, is coded by orthogonal matching pursuit with
       at most ``nonzero_coefs`` atoms (:func:`omp_approximation`: scikit-learn's algorithm,
       vectorised) and rebuilt as ``code · dictionary + mean``.
    3. Overlapping rebuilt patches are averaged, as
       ``sklearn.feature_extraction.image.reconstruct_from_patches_2d`` does.

    Slow: learning takes seconds to a minute, and coding every patch of a 12-megapixel
    photograph takes minutes (progress is reported and the job can be cancelled). Alpha is
    carried through.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Noisy image.
    n_components : int
        Number of dictionary atoms.
    patch_size : int
        Side of the square patches; at most the image's smaller side.
    alpha : float
        Sparsity penalty of the dictionary learning.
    nonzero_coefs : int
        Atoms per patch in the reconstruction; at most ``n_components`` and the number of
        values in a patch.
    max_patches : int
        Patches sampled for learning.
    seed : int
        Seed of the patch sampling and of the dictionary learning.

    Returns
    -------
    ndarray
        The denoised image, same shape and dtype as ``image``.
    """
    from sklearn.decomposition import MiniBatchDictionaryLearning
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.feature_extraction.image import extract_patches_2d

    image = check_image(image)
    h, w = image.shape[:2]
    if patch_size > min(h, w):
        raise ValueError(f"patch_size must not exceed the image's smaller side ({min(h, w)}); "
                         f"got {patch_size}")
    channels = n_colour_channels(image)
    features = patch_size * patch_size * channels
    if nonzero_coefs > min(n_components, features):
        raise ValueError(f"nonzero_coefs must be at most n_components ({n_components}) and the "
                         f"patch length ({features}); got {nonzero_coefs}")
    progress = token(progress)
    x = to_unit(colour_part(image))
    psize = (patch_size, patch_size)

    # 1. learn the dictionary
    progress(0.0, "Dictionary learning: sampling patches")
    data = extract_patches_2d(x, psize, max_patches=max_patches, random_state=seed)
    data = data.reshape(len(data), -1)
    data -= data.mean(axis=1, keepdims=True)
    batch = 256
    total_steps = 10 * -(-len(data) // batch)
    step = [0]

    def on_step(_locals: dict) -> None:
        step[0] += 1
        progress(0.4 * step[0] / total_steps, "Dictionary learning")

    learner = MiniBatchDictionaryLearning(n_components=n_components, alpha=alpha,
                                          batch_size=batch, max_iter=10, random_state=seed,
                                          fit_algorithm=FIT_ALGORITHM, callback=on_step)
    with warnings.catch_warnings():
        # Coordinate descent may stop short of its duality-gap tolerance on a mini-batch; the
        # next steps refine the dictionary anyway, so the warning is noise here.
        warnings.simplefilter("ignore", ConvergenceWarning)
        dictionary = learner.fit(data).components_

    # 2-3. code every patch, strip by strip, and average the rebuilt patches
    averager = PatchAverager(x.shape, patch_size)
    cols = w - patch_size + 1
    n_rows = h - patch_size + 1
    strip = max(1, CHUNK_PATCHES // cols)
    for top in range(0, n_rows, strip):
        progress(0.4 + 0.6 * top / n_rows, "Dictionary learning: coding patches")
        rows = min(strip, n_rows - top)
        patches = extract_patches_2d(x[top:top + rows + patch_size - 1], psize)
        flat = patches.reshape(len(patches), -1)
        mean = flat.mean(axis=1, keepdims=True)
        rebuilt = omp_approximation(dictionary, flat - mean, nonzero_coefs)[3] + mean
        averager.add(rebuilt.reshape(rows, cols, *patches.shape[1:]), top)
    out = from_unit_like(averager.result(), image)
    progress(1.0, "Dictionary learning")
    return out
