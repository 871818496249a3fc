"""The small colorization CNN of ``colorize-default``: CIE L* in, the a*b* chroma out.

A three-level encoder–decoder (a small U-Net): two 3×3 convolutions at full resolution, two
at ½ and two at ¼ (``4·width`` channels), then two dilated 3×3 convolutions at ¼ (dilation 2
and 4) for context, and back up by bilinear upsampling, each level joined with the encoder's
features of its size (skip connections). ReLU throughout; the last 1×1 convolution gives the
two chroma planes, linear.

- input: ``(N, 1, H, W)`` lightness scaled as ``(L* − 50) / 50`` (so in [−1, 1]);
- output: ``(N, 2, H, W)`` a* and b* divided by :data:`AB_SCALE` (110).

H and W need not be multiples of 4 (the decoder resizes to the skip's size). With
``width = 24`` the network has about 0.35 M parameters (1.4 MB as float32).
"""

from __future__ import annotations

from typing import Any

from imgstudio.models.loading import torch as _torch

torch = _torch("the colorization network")
nn = torch.nn
F = torch.nn.functional

#: a*, b* are predicted divided by this (the chroma of sRGB colours stays within about ±110).
AB_SCALE = 110.0
ARCHITECTURE = "colorize-cnn"
DEFAULT_CONFIG: dict[str, Any] = {"width": 24, "work_size": 256}


def _block(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> Any:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=stride, padding=dilation, dilation=dilation),
                         nn.ReLU(inplace=True))


class ColorizeNet(nn.Module):
    """See the module docstring; ``width`` is the channel count at full resolution."""

    def __init__(self, width: int = 24) -> None:
        super().__init__()
        w = int(width)
        self.enc1 = nn.Sequential(_block(1, w), _block(w, w))
        self.enc2 = nn.Sequential(_block(w, 2 * w, stride=2), _block(2 * w, 2 * w))
        self.enc3 = nn.Sequential(_block(2 * w, 4 * w, stride=2), _block(4 * w, 4 * w))
        self.context = nn.Sequential(_block(4 * w, 4 * w, dilation=2), _block(4 * w, 4 * w, dilation=4))
        self.dec2 = _block(4 * w + 2 * w, 2 * w)
        self.dec1 = _block(2 * w + w, w)
        self.out = nn.Conv2d(w, 2, 1)

    def forward(self, lightness: Any) -> Any:
        e1 = self.enc1(lightness)
        e2 = self.enc2(e1)
        e3 = self.context(self.enc3(e2))
        d2 = self.dec2(torch.cat([F.interpolate(e3, size=e2.shape[-2:], mode="bilinear",
                                                align_corners=False), e2], 1))
        d1 = self.dec1(torch.cat([F.interpolate(d2, size=e1.shape[-2:], mode="bilinear",
                                                align_corners=False), e1], 1))
        return self.out(d1)


def build(config: dict[str, Any]) -> ColorizeNet:
    """The network of a model card's ``config`` (``width``)."""
    width = config.get("width", DEFAULT_CONFIG["width"])
    if isinstance(width, bool) or not isinstance(width, int) or not 1 <= width <= 256:
        raise ValueError(f"model config: width must be an integer in [1, 256]; got {width!r}")
    return ColorizeNet(width)
