"""Measurements: per-region properties of a labels layer, and change between two images."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

import numpy as np

from imgstudio.core.editor import Aligned, Editor, Needs
from imgstudio.core.progress import Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import (
    Image,
    Labels,
    Result,
    Table,
    check_image,
    check_labels,
)
from imgstudio.ops._params import Level8
from imgstudio.ops._pixels import as_labels, grey_float, to_8bit_units, token


def region_property_names() -> dict[str, str]:
    """Every property ``measure.regions`` accepts → its current scikit-image name.

    The scalar and fixed-size properties of ``skimage.measure.regionprops`` (those that fit
    in table columns), plus their older snake_case aliases such as ``mean_intensity``.
    """
    from skimage.measure import _regionprops as rp  # the tables regionprops_table itself uses

    names = {name: name for name in rp.COL_DTYPES}
    names.update({old: new for old, new in rp.PROPS.items() if old.islower() and new in names})
    return {old: new for old, new in names.items() if new not in rp.OBJECT_COLUMNS}


def _needs_intensity(name: str) -> bool:
    return "intensity" in name or "weighted" in name


def _parse_properties(properties: str) -> list[str]:
    known = region_property_names()
    names = [p for p in re.split(r"[,\s]+", properties.strip()) if p]
    if not names:
        raise ValueError("properties must name at least one property, e.g. 'area,centroid'")
    unknown = [p for p in names if p not in known]
    if unknown:
        raise ValueError(
            f"properties: unknown or non-tabular {', '.join(map(repr, unknown))}; choose from "
            f"{', '.join(sorted(known))}"
        )
    out = ["label"]
    for p in names:
        if p not in out:
            out.append(p)
    return out


DEFAULT_PROPERTIES = "area,centroid,bbox,mean_intensity"


def intensity_properties(properties: str) -> list[str]:
    """The properties of a ``measure.regions`` list that need an intensity image
    (``ValueError`` for an invalid list)."""
    known = region_property_names()
    return [p for p in _parse_properties(properties) if _needs_intensity(known[p])]


# The image starts on the one the labels were made from (or the only image layer); left at
# "(none)", the form says which properties need it.
@operation("measure.regions", title="Measure regions", menu="Analyze/Measure",
           editor=Editor(prefill=("image",),
                         needs={"image": Needs("properties", intensity_properties)}))
def regions(
    labels: Labels,
    *,
    image: Annotated[Image | None, Aligned()] = None,
    properties: str = "area,centroid,bbox,mean_intensity",  # = DEFAULT_PROPERTIES
    progress: Progress | None = None,
) -> Table:
    """Measure each labelled region: area, centroid, bounding box, mean intensity...

    ``skimage.measure.regionprops_table(labels, image, properties)``, one row per label in
    increasing order; multi-valued properties are split into columns the scikit-image way
    (``centroid-0`` = row, ``centroid-1`` = column, ``bbox-0..3`` = min row, min col, max
    row, max col, exclusive). Many labels are measured in groups so that progress shows.

    Parameters
    ----------
    labels : (H, W) Labels
        Non-negative integer labels, 0 = background (a 0/1 mask is one region).
    image : (H, W[, 3|4]) ndarray, optional
        Intensity image of the same size, needed by intensity properties (``mean_intensity``,
        ``intensity_max``, ``centroid_weighted``...); colour gives one column per channel
        (``mean_intensity-0..2``), alpha is ignored. Values are in the image's units.
    properties : str
        Comma-separated scikit-image property names (scalar or fixed-size ones such as area,
        perimeter, eccentricity, orientation, solidity, euler_number, moments_hu). ``label``
        is always the first column. With the default and no image, mean_intensity is left out
        (the editor's form and status say so); other intensity properties need the image.

    Returns
    -------
    Table
        Columns ``label`` and the requested properties.
    """
    import skimage.measure

    labels = check_labels(labels, "labels")
    progress = token(progress)
    names = _parse_properties(properties)
    intensity = [p for p in names if _needs_intensity(region_property_names()[p])]
    if image is None and properties == DEFAULT_PROPERTIES:
        # the default asks for mean intensity only when there is an image to measure
        names = [p for p in names if p not in intensity]
        intensity = []
    if image is not None:
        image = check_image(image, "image")
        if image.shape[:2] != labels.shape:
            raise ValueError(f"image must have the labels' size {labels.shape}; got {image.shape[:2]}")
        if image.ndim == 3:
            image = image[..., :3]
    elif intensity:
        raise ValueError(
            f"image (an intensity image) is required for {', '.join(intensity)}; pick one or "
            "remove those from properties"
        )
    if labels.dtype == bool:
        labels = labels.astype(np.int32)
    if labels.size and labels.min() < 0:
        raise ValueError(f"labels must be >= 0; got {labels.min()}")
    ids = np.unique(labels)
    original = None
    if ids[-1] > labels.size:
        # scikit-image allocates per label value up to the largest one (a single label of
        # 2**40 would take terabytes): measure sequential labels, report the original ids
        original = ids if ids[0] == 0 else np.concatenate([[0], ids])
        labels = np.searchsorted(original, labels).astype(np.int32 if len(original) < 2**31
                                                          else np.int64)
        ids = np.arange(len(original))
    ids = ids[ids > 0]
    groups = np.array_split(ids, 16) if len(ids) > 512 else [ids]
    lut = None
    if len(groups) > 1 and ids[-1] < 50_000_000:
        lut = np.zeros(int(ids[-1]) + 1, dtype=labels.dtype)
    columns: dict[str, list] = {}
    for i, group in enumerate(groups):
        if len(groups) == 1:
            part = labels
        elif lut is not None:
            lut[:] = 0
            lut[group] = group
            part = lut[labels]
        else:
            part = np.where(np.isin(labels, group), labels, 0)
        # empty or flat regions give NaN for weighted properties, as scikit-image does
        with np.errstate(invalid="ignore", divide="ignore"):
            table = skimage.measure.regionprops_table(part, image, properties=names)
        for key, values in table.items():
            columns.setdefault(key, []).extend(np.asarray(values).tolist())
        progress((i + 1) / len(groups), "Measuring regions")
    if original is not None:
        columns["label"] = [int(original[v]) for v in columns["label"]]
    return Table(columns)


@dataclass(frozen=True, eq=False)
class Change(Result):
    """Changed pixels between two images and a one-row summary table."""

    mask: Labels
    table: Table


@operation("measure.change", title="Change detection", menu="Analyze/Measure")
def change(
    image: Image,
    *,
    other: Annotated[Image, Aligned()],
    threshold: Level8 = 30.0,
) -> Change:
    """Mark where two images of the same scene differ (absolute grey-level difference).

    Both images are reduced to grey (BT.601 luma, unrounded; grey images as they are) in
    8-bit units (0..255, whatever their dtype), and a pixel changed where
    ``|grey(image) − grey(other)| > threshold``.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        uint8, uint16 or float32 image; alpha is ignored.
    other : (H, W[, 3|4]) ndarray
        The image to compare with: same height and width (any dtype and channel count).
    threshold : float
        Smallest difference that counts as a change, in 8-bit units.

    Returns
    -------
    Change
        ``mask`` (H, W) int32, 1 where changed, and ``table`` with one row:
        ``changed_pixels``, ``total_pixels`` and ``changed_fraction`` (in [0, 1]).
    """
    image = check_image(image)
    other = check_image(other, "other")
    if other.shape[:2] != image.shape[:2]:
        raise ValueError(f"other must have the image's size {image.shape[:2]}; got {other.shape[:2]}")
    diff = np.abs(to_8bit_units(grey_float(image), image.dtype)
                  - to_8bit_units(grey_float(other), other.dtype))
    mask = diff > threshold
    changed, total = int(np.count_nonzero(mask)), int(mask.size)
    table = Table({
        "changed_pixels": [changed],
        "total_pixels": [total],
        "changed_fraction": [changed / total],
    })
    return Change(as_labels(mask), table)
