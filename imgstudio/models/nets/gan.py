"""A tiny DCGAN (deep convolutional GAN) for grey images of a few dozen pixels.

``train.gan`` trains both networks; ``generate.gan_sample`` runs the generator. Both sides
build the networks from the model card's ``config`` (:func:`check_config`):

- ``size``: the images' side in pixels (a multiple of 4: two stride-2 layers);
- ``z_dim``: the latent dimension;
- ``width``: the generator's channels next to the image (its inner layer has twice as many);
- ``d_width``: the same for the discriminator (training only; a weaker discriminator than
  generator keeps the game balanced on small data).

Generator, after Radford et al.'s DCGAN guidelines (batch normalisation in the generator
and discriminator, ReLU in the generator, leaky ReLU in the discriminator, strided
convolutions rather than pooling): ``linear z → 2w·(s/4)² · batch norm · ReLU ·
transposed conv 4×4/2 (2w → w) · batch norm · ReLU · transposed conv 4×4/2 (w → 1) ·
sigmoid`` (images in [0, 1]). Discriminator: ``conv 4×4/2 (1 → w) · leaky ReLU 0.2 ·
conv 4×4/2 (w → 2w) · batch norm · leaky ReLU 0.2 · linear → 1`` (a logit: real vs made).
"""

from __future__ import annotations

from typing import Any

from imgstudio.models.loading import torch as _torch

torch = _torch("the GAN")
nn = torch.nn

#: The architecture name model cards carry.
ARCHITECTURE = "dcgan"
KEYS = ("size", "z_dim", "width")


def check_config(config: dict[str, Any], param: str = "model") -> dict[str, Any]:
    """``config`` with its sizes checked; ``ValueError`` naming ``param`` when one is wrong."""
    missing = [k for k in KEYS if k not in config]
    if missing:
        raise ValueError(f"{param}: the model's config lacks {', '.join(missing)} "
                         f"(not a {ARCHITECTURE} card)")
    for key, lo, hi in (("size", 8, 128), ("z_dim", 1, 512), ("width", 1, 512),
                        ("d_width", 1, 512)):
        value = config.get(key, 1)
        if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
            raise ValueError(f"{param}: config {key} must be an integer in [{lo}, {hi}]; "
                             f"got {value!r}")
    if config["size"] % 4:
        raise ValueError(f"{param}: config size must be a multiple of 4; got {config['size']}")
    return dict(config)


class Generator(nn.Module):
    """Latent ``(N, z)`` → images ``(N, 1, s, s)`` in [0, 1]."""

    def __init__(self, size: int, z_dim: int, width: int) -> None:
        super().__init__()
        quarter = size // 4
        self.net = nn.Sequential(
            nn.Linear(z_dim, 2 * width * quarter * quarter, bias=False),
            nn.BatchNorm1d(2 * width * quarter * quarter), nn.ReLU(),
            nn.Unflatten(1, (2 * width, quarter, quarter)),
            nn.ConvTranspose2d(2 * width, width, 4, 2, 1, bias=False),
            nn.BatchNorm2d(width), nn.ReLU(),
            nn.ConvTranspose2d(width, 1, 4, 2, 1), nn.Sigmoid(),
        )

    def forward(self, z: Any) -> Any:
        return self.net(z)


class Discriminator(nn.Module):
    """Images ``(N, 1, s, s)`` in [0, 1] → one logit each ``(N,)`` (positive: looks real)."""

    def __init__(self, size: int, width: int) -> None:
        super().__init__()
        quarter = size // 4
        self.net = nn.Sequential(
            nn.Conv2d(1, width, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, 2 * width, 4, 2, 1, bias=False),
            nn.BatchNorm2d(2 * width), nn.LeakyReLU(0.2), nn.Flatten(),
            nn.Linear(2 * width * quarter * quarter, 1),
        )

    def forward(self, x: Any) -> Any:
        return self.net(x * 2.0 - 1.0)[:, 0]


def build(config: dict[str, Any]) -> tuple[Generator, Discriminator]:
    """A fresh generator and discriminator for ``config`` (see :func:`check_config`)."""
    c = check_config(config)
    return (Generator(c["size"], c["z_dim"], c["width"]),
            Discriminator(c["size"], c.get("d_width", c["width"])))
