"""A tiny U-Net (Ronneberger, Fischer & Brox 2015) for two-class (foreground / background)
segmentation, trained by ``train.unet`` and run by ``segment.unet``.

The encoder has ``depth`` levels; each is two 3×3 convolutions (no bias) with batch
normalisation and ReLU, and all but the last are followed by 2×2 max pooling, so an input's
height and width must be multiples of :func:`stride` (``2 ** depth``). Channels double per
level from ``base``. The decoder mirrors it: a 2×2 transposed convolution doubles the size
and halves the channels, the result is concatenated with the encoder's features of that
size (the skip connection) and two 3×3 convolutions follow. A 1×1 convolution gives one
logit per pixel (foreground probability = sigmoid of it).

The architecture is rebuilt from its settings (``config``, stored on the model's card):
``in_channels`` (3: RGB, grey images repeated), ``base`` and ``depth``.
"""

from __future__ import annotations

from typing import Any

from imgstudio.models.loading import torch as _torch

torch = _torch("the U-Net")
nn = torch.nn

#: The architecture name model cards carry for this network.
ARCHITECTURE = "imgstudio-unet"
#: Settings of the shipped ``unet-default`` and of ``train.unet``'s defaults.
DEFAULT_CONFIG: dict[str, int] = {"in_channels": 3, "base": 8, "depth": 4}
_LIMITS = {"in_channels": (1, 4), "base": (2, 64), "depth": (1, 5)}


def check_config(config: dict[str, Any]) -> dict[str, int]:
    """``config`` with every setting present and an integer in its range (``ValueError``
    otherwise: a damaged or foreign card)."""
    out: dict[str, int] = {}
    for key, (lo, hi) in _LIMITS.items():
        value = config.get(key, DEFAULT_CONFIG[key])
        if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
            raise ValueError(f"U-Net setting {key} must be an integer in [{lo}, {hi}]; "
                             f"got {value!r}")
        out[key] = value
    return out


def stride(config: dict[str, Any]) -> int:
    """What the input's height and width must be multiples of: ``2 ** depth``."""
    return 2 ** check_config(config)["depth"]


def _double_conv(cin: int, cout: int) -> Any:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class UNet(nn.Module):
    """The network (see the module docstring): ``(N, in_channels, H, W)`` → ``(N, 1, H, W)``
    logits, H and W multiples of ``2 ** depth``."""

    def __init__(self, in_channels: int = 3, base: int = 16, depth: int = 3) -> None:
        super().__init__()
        widths = [base * 2 ** i for i in range(depth + 1)]
        self.depth = depth
        self.down = nn.ModuleList(
            [_double_conv(in_channels if i == 0 else widths[i - 1], widths[i])
             for i in range(depth + 1)])
        self.lift = nn.ModuleList(
            [nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2) for i in range(depth)])
        self.up = nn.ModuleList([_double_conv(2 * widths[i], widths[i]) for i in range(depth)])
        self.head = nn.Conv2d(widths[0], 1, 1)

    def forward(self, x: Any) -> Any:
        skips = []
        for level in range(self.depth):
            x = self.down[level](x)
            skips.append(x)
            x = nn.functional.max_pool2d(x, 2)
        x = self.down[self.depth](x)
        for level in reversed(range(self.depth)):
            x = self.up[level](torch.cat([self.lift[level](x), skips[level]], dim=1))
        return self.head(x)


def build(config: dict[str, Any]) -> UNet:
    """A fresh (randomly initialised) network with the card's settings."""
    return UNet(**check_config(config))
