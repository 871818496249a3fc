"""The fixed colour table of labels (seeds, markers, segmentations). Qt-free.

Label ``v`` shows with palette entry ``palette_index(v)``: 0 is transparent, 1..255 are
themselves, larger or negative labels cycle through 1..255. The first entries are distinct
saturated colours (seed 1 red, 2 green, 3 blue, ...), the rest are spread over hue by the
golden ratio so neighbouring labels differ.
"""

from __future__ import annotations

import colorsys

import numpy as np

#: Opacity of a label colour at layer opacity 1, so the image stays visible under labels.
LABEL_ALPHA = 0.6

_FIRST = (
    (230, 25, 75), (60, 180, 75), (0, 130, 200), (255, 225, 25), (240, 50, 230),
    (70, 240, 240), (245, 130, 48), (145, 30, 180), (210, 245, 60), (250, 190, 212),
    (0, 128, 128), (220, 190, 255), (170, 110, 40), (255, 250, 200), (128, 0, 0),
    (170, 255, 195), (128, 128, 0), (255, 215, 180), (0, 0, 128), (128, 128, 128),
)


def _make_table() -> np.ndarray:
    table = np.zeros((256, 3), np.uint8)
    table[1 : len(_FIRST) + 1] = _FIRST
    golden = 0.618033988749895
    for i in range(len(_FIRST) + 1, 256):
        hue = (i * golden) % 1.0
        sat = 0.55 + 0.45 * ((i * 7) % 3) / 2
        val = 0.75 + 0.25 * ((i * 5) % 2)
        table[i] = [round(c * 255) for c in colorsys.hsv_to_rgb(hue, sat, val)]
    table.flags.writeable = False
    return table


#: (256, 3) uint8 RGB; row 0 (background) is black and never drawn.
LABEL_COLORS = _make_table()


def palette_index(label: int) -> int:
    """The palette entry of ``label``: 0 for 0, else in 1..255."""
    label = int(label)
    return 0 if label == 0 else (label - 1) % 255 + 1


def label_color(label: int) -> tuple[int, int, int]:
    """The RGB colour of ``label`` (black for 0, which is drawn transparent)."""
    r, g, b = LABEL_COLORS[palette_index(label)]
    return int(r), int(g), int(b)


def palette_indices(labels: np.ndarray) -> np.ndarray:
    """Vectorised :func:`palette_index`: a uint8 array of the same shape."""
    labels = np.asarray(labels)
    if labels.dtype == np.uint8:
        return labels
    if labels.dtype == bool:
        return labels.view(np.uint8)
    if labels.size == 0:
        return np.zeros(labels.shape, np.uint8)
    lo, hi = int(labels.min()), int(labels.max())
    if lo >= 0 and hi <= 255:
        return labels.astype(np.uint8)
    if hi - lo <= 1 << 20:  # a table over the value range beats a modulo per pixel
        values = np.arange(lo, hi + 1, dtype=np.int64)
        table = ((values - 1) % 255 + 1).astype(np.uint8)
        table[values == 0] = 0
        return table[labels - lo] if lo else table[labels]
    wide = labels.astype(np.int64)
    out = (wide - 1) % 255 + 1
    out[wide == 0] = 0
    return out.astype(np.uint8)
