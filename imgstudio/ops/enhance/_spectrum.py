"""The spectrum view the frequency filter declares for the editor (beside the histogram).

:func:`spectrum_view` is ``log(1 + |FFT|)`` of the image's BT.601 grey, downscaled to at most
:data:`SPECTRUM_SIDE` pixels a side, zero frequency at the centre; :func:`spectrum_rings` the
filter's cut-off circles for the form's parameters. Frequencies stay in cycles per image at
any size, so a radius in the filter's units is the same radius in the view.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from imgstudio.ops._pixels import as_unit, luma

#: The spectrum is computed on the grey image downscaled to at most this many pixels a side.
SPECTRUM_SIDE = 512


def spectrum_grey(image: np.ndarray, max_side: int = SPECTRUM_SIDE) -> np.ndarray:
    """BT.601 grey of ``image`` as float32 in [0, 1], fitted into ``max_side`` × ``max_side``.

    Large images are first strided to at most ``2 * max_side`` a side (cheap), then averaged
    down with ``cv2.INTER_AREA``; alpha is ignored.
    """
    import cv2

    h, w = image.shape[:2]
    step = max(1, math.ceil(max(h, w) / (2 * max_side)))
    unit = as_unit(image[::step, ::step])
    if unit.ndim == 3:
        unit = luma(unit)
    gh, gw = unit.shape
    if max(gh, gw) > max_side:
        scale = max_side / max(gh, gw)
        size = (max(1, min(max_side, round(gw * scale))), max(1, min(max_side, round(gh * scale))))
        unit = cv2.resize(unit, size, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(unit, dtype=np.float32)


def log_spectrum(grey: np.ndarray) -> np.ndarray:
    """``log(1 + |FFT|)`` of a 2-D array, zero frequency moved to ``(h // 2, w // 2)``."""
    return np.log1p(np.abs(np.fft.fftshift(np.fft.fft2(grey)))).astype(np.float32)


def spectrum_view(image: np.ndarray) -> np.ndarray:
    """What the view shows for ``image``: :func:`log_spectrum` of :func:`spectrum_grey`."""
    return log_spectrum(spectrum_grey(image))


def filter_rings(kind: str, cutoff: float, width: float) -> tuple[list[float], list[float]]:
    """(solid, dashed) circle radii that show a frequency filter's cut-off in the spectrum."""
    if kind == "notch":
        half = width / 2.0
        return [cutoff], [r for r in (cutoff - half, cutoff + half) if r > 0]
    return [cutoff], []


def spectrum_rings(params: Mapping[str, Any], shape: tuple[int, int]
                   ) -> tuple[list[float], list[float]]:
    """:func:`filter_rings` for the form's raw ``params`` (the view's ``shape`` does not
    matter: radii are in cycles per image)."""
    return filter_rings(str(params["kind"]), float(params["cutoff"]), float(params["width"]))
