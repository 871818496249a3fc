"""The denoising autoencoder of ``train.dae`` and ``enhance.denoise_autoencoder``: a small
DnCNN-style residual network (Zhang et al. 2017, "Beyond a Gaussian denoiser").

``depth`` 3×3 convolutions, ``features`` wide, zero-padded so the output has the input's size:
the first followed by a ReLU, the middle ones by ReLUs, the last giving one channel. The
network predicts the *noise* of a noisy grey image in [0, 1], and :class:`Denoiser` returns the
image minus that prediction (residual learning: the identity is free, the layers only learn
what to take away). There is no batch normalisation, so a tile gives exactly what the same
pixels give in the whole image once it has :func:`receptive_radius` pixels of context, and the
network does not depend on the batch it runs in. With the defaults (depth 8, 32 features) it
has 56,193 weights (220 KiB in float32).

The architecture is rebuilt from the model card's ``config``: ``{"depth", "features",
"channels"}`` (see :func:`build`).
"""

from __future__ import annotations

from typing import Any

from imgstudio.models.loading import torch as _torch

torch = _torch("the denoising autoencoder")
nn = torch.nn

#: The architecture name model cards record (checked when a model is loaded).
ARCHITECTURE = "dncnn-residual"
DEFAULT_CONFIG = {"depth": 8, "features": 32, "channels": 1}


class Denoiser(nn.Module):
    """``x − body(x)``: the image minus the noise ``body`` predicts (see the module docstring).

    Parameters
    ----------
    depth : int
        Number of 3×3 convolutions (at least 2).
    features : int
        Channels of the hidden layers.
    channels : int
        Image channels in and out (1: grey; colour images are denoised per channel).
    """

    def __init__(self, depth: int = 8, features: int = 32, channels: int = 1) -> None:
        super().__init__()
        if depth < 2:
            raise ValueError(f"depth must be at least 2; got {depth}")
        layers: list[Any] = [nn.Conv2d(channels, features, 3, padding=1), nn.ReLU(inplace=True)]
        for _ in range(depth - 2):
            layers += [nn.Conv2d(features, features, 3, padding=1), nn.ReLU(inplace=True)]
        layers.append(nn.Conv2d(features, channels, 3, padding=1))
        self.body = nn.Sequential(*layers)
        self.depth = depth
        # He initialisation for the ReLU layers; the last layer starts near zero, so an
        # untrained network is close to the identity (it removes almost nothing)
        for m in self.body:
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)
        last = self.body[-1]
        nn.init.normal_(last.weight, std=1e-3)

    def noise(self, x: Any) -> Any:
        """The noise the network sees in ``x`` ``(N, C, H, W)``."""
        return self.body(x)

    def forward(self, x: Any) -> Any:
        return x - self.body(x)


def receptive_radius(config: dict[str, Any]) -> int:
    """Pixels of context each side that decide one output pixel (one per 3×3 convolution)."""
    return int(config["depth"])


def check_config(config: dict[str, Any], what: str = "model") -> dict[str, int]:
    """``config`` as the three integers :class:`Denoiser` takes, or a ValueError naming ``what``."""
    try:
        out = {k: int(config[k]) for k in ("depth", "features", "channels")}
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"{what}: its card's config {config!r} lacks depth, features and "
                         "channels") from None
    if not (2 <= out["depth"] <= 64 and 1 <= out["features"] <= 512 and out["channels"] == 1):
        raise ValueError(f"{what}: unsupported denoiser config {out}")
    return out


def build(config: dict[str, Any], what: str = "model") -> Denoiser:
    """A fresh :class:`Denoiser` of ``config`` (see :func:`check_config`)."""
    return Denoiser(**check_config(config, what))
