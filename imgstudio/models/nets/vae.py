"""A small convolutional variational autoencoder for grey images of a few dozen pixels.

``train.vae`` trains it, ``generate.vae_sample`` and ``generate.vae_interpolate`` run it. Both
sides build it from the model card's ``config`` (:func:`check_config`):

- ``size``: the images' side in pixels (a multiple of 4: two stride-2 convolutions halve it
  twice);
- ``z_dim``: the latent dimension;
- ``width``: the first convolution's channels (the second has twice as many);
- ``hidden``: the fully connected layer between the convolutions and the latent code.

Encoder: ``conv 4×4/2 (1 → w) · ReLU · conv 4×4/2 (w → 2w) · ReLU · linear → hidden · ReLU ·
linear → 2·z`` (the mean and log-variance of the posterior ``q(z|x)``). Decoder: the mirror
image with transposed convolutions, ending in one channel of logits (a Bernoulli likelihood
per pixel: ``sigmoid(logits)`` is the image in [0, 1]).
"""

from __future__ import annotations

from typing import Any

from imgstudio.models.loading import torch as _torch

torch = _torch("the VAE")
nn = torch.nn

#: The architecture name model cards carry.
ARCHITECTURE = "conv-vae"
#: Settings a config must hold (``channels`` and ``background`` describe the data).
KEYS = ("size", "z_dim", "width", "hidden")


def check_config(config: dict[str, Any], param: str = "model") -> dict[str, Any]:
    """``config`` with its sizes checked; ``ValueError`` naming ``param`` when one is wrong."""
    missing = [k for k in KEYS if k not in config]
    if missing:
        raise ValueError(f"{param}: the model's config lacks {', '.join(missing)} "
                         f"(not a {ARCHITECTURE} card)")
    size, z_dim, width, hidden = (config[k] for k in KEYS)
    for key, value, lo, hi in (("size", size, 8, 128), ("z_dim", z_dim, 1, 512),
                               ("width", width, 1, 512), ("hidden", hidden, 1, 4096)):
        if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
            raise ValueError(f"{param}: config {key} must be an integer in [{lo}, {hi}]; "
                             f"got {value!r}")
    if size % 4:
        raise ValueError(f"{param}: config size must be a multiple of 4; got {size}")
    return dict(config)


class Encoder(nn.Module):
    """Image ``(N, 1, s, s)`` in [0, 1] → posterior mean and log-variance ``(N, z)`` each."""

    def __init__(self, size: int, z_dim: int, width: int, hidden: int) -> None:
        super().__init__()
        quarter = size // 4
        self.features = nn.Sequential(
            nn.Conv2d(1, width, 4, 2, 1), nn.ReLU(),
            nn.Conv2d(width, 2 * width, 4, 2, 1), nn.ReLU(), nn.Flatten(),
            nn.Linear(2 * width * quarter * quarter, hidden), nn.ReLU(),
        )
        self.head = nn.Linear(hidden, 2 * z_dim)
        self.z_dim = z_dim

    def forward(self, x: Any) -> tuple[Any, Any]:
        out = self.head(self.features(x))
        return out[:, :self.z_dim], out[:, self.z_dim:]


class Decoder(nn.Module):
    """Latent ``(N, z)`` → pixel logits ``(N, 1, s, s)``."""

    def __init__(self, size: int, z_dim: int, width: int, hidden: int) -> None:
        super().__init__()
        quarter = size // 4
        self.net = nn.Sequential(
            nn.Linear(z_dim, hidden), nn.ReLU(),
            nn.Linear(hidden, 2 * width * quarter * quarter), nn.ReLU(),
            nn.Unflatten(1, (2 * width, quarter, quarter)),
            nn.ConvTranspose2d(2 * width, width, 4, 2, 1), nn.ReLU(),
            nn.ConvTranspose2d(width, 1, 4, 2, 1),
        )

    def forward(self, z: Any) -> Any:
        return self.net(z)


def build(config: dict[str, Any]) -> tuple[Encoder, Decoder]:
    """A fresh encoder and decoder for ``config`` (see :func:`check_config`)."""
    c = check_config(config)
    sizes = (c["size"], c["z_dim"], c["width"], c["hidden"])
    return Encoder(*sizes), Decoder(*sizes)
