"""The Perona–Malik diffusion shared by the anisotropic artistic ops
(imgstudio.ops.artistic._common), against a numpy transcription."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi

from imgstudio.core.progress import Progress
from imgstudio.ops.artistic._common import perona_malik
from tests.ops.artistic.helpers import perona_malik_reference
from tests.ops.helpers import kinds


@pytest.mark.parametrize("kappa", [5.0, 20.0, 80.0])
@kinds
def test_perona_malik_equals_numpy_transcription(kappa, kind, make):
    x = make(np.uint8, kind)
    out = perona_malik(x, kappa=kappa, niter=6, gamma=0.1, progress=Progress())
    reference_input = x.copy()
    if x.ndim == 3:
        reference_input[..., 0] = np.minimum(x[..., 0], 254)  # the documented cap
    expected = perona_malik_reference(reference_input, kappa, 6, 0.1)
    diff = np.abs(out.astype(int) - expected)
    assert diff.max() <= 1 and np.mean(diff > 0) < 0.005


def test_perona_malik_is_deterministic():
    # OpenCV's multi-step call reads uninitialised border memory; the op steps one at a time
    x = np.ascontiguousarray(np.random.default_rng(5).integers(0, 256, (40, 50, 3), np.uint8))
    runs = {perona_malik(x, kappa=20.0, niter=6, gamma=0.1, progress=Progress()).tobytes()
            for _ in range(8)}
    assert len(runs) == 1


def test_perona_malik_smooths_noise_but_keeps_a_step_edge():
    rng = np.random.default_rng(0)
    clean = np.where(np.arange(40) < 20, 60.0, 190.0)[None, :].repeat(30, axis=0)
    noisy = np.clip(clean + rng.normal(0, 4, clean.shape), 0, 255).astype(np.uint8)
    out = perona_malik(noisy, kappa=20.0, niter=20, gamma=0.1, progress=Progress()).astype(float)
    blurred = ndi.gaussian_filter(noisy.astype(float), 2.0)
    flat_std = out[:, 3:16].std()
    assert flat_std < noisy[:, 3:16].std() / 2
    # the step stays within two columns; a Gaussian with the same noise removal smears it
    assert out[:, 18].mean() < 70 and out[:, 21].mean() > 180
    assert blurred[:, 18].mean() > 80
