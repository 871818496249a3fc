"""Value types shared by operations, the document, the API and the GUI.

Layer-valued inputs and outputs are numpy arrays tagged with ``typing.Annotated`` so that an
operation's signature says which kind of layer it wants:

- :data:`Image`: ``(H, W)`` gray, ``(H, W, 3)`` RGB or ``(H, W, 4)`` RGBA, RGB order, dtype
  ``uint8``, ``uint16`` or ``float32`` (float in [0, 1]).
- :data:`Labels`: integer ``(H, W)``; 0 is background. Masks are Labels with values 0/1.
- :data:`Points`: float ``(N, 2)`` in ``(x, y)`` pixel coordinates.

Non-image results are small frozen dataclasses with ``to_json()``, whose output is valid JSON
(NaN and ±inf are written as ``null``).

Non-finite pixels: an image layer may hold NaN or ±inf (a float TIFF's no-data pixels; they
are shown black), but an operation never receives them. Every image input is checked where
operations are invoked (:mod:`imgstudio.core.invoke`) with ``check_image(..., finite=True)``,
and NaN or ±inf is a ``ValueError`` naming the input, counting the pixels and saying how to
replace them. Other dtypes (bool, int16, int64, float64...) are refused by the same check with
the conversion to use; signed 16-bit medical files are converted when they are loaded.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from dataclasses import dataclass, field
from typing import Annotated, Any, NamedTuple

import numpy as np


class LayerKind(str, enum.Enum):
    """The kinds of layer an operation input or output can be."""

    IMAGE = "image"
    LABELS = "labels"
    POINTS = "points"
    SHAPES = "shapes"


@dataclass(frozen=True)
class LayerType:
    """Marker carried in ``Annotated`` to say that an array is a layer of ``kind``."""

    kind: LayerKind


Image = Annotated[np.ndarray, LayerType(LayerKind.IMAGE)]
Labels = Annotated[np.ndarray, LayerType(LayerKind.LABELS)]
Points = Annotated[np.ndarray, LayerType(LayerKind.POINTS)]

IMAGE_DTYPES = (np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.float32))


class Region(NamedTuple):
    """A rectangle of pixels: rows ``y0 .. y1 - 1`` and columns ``x0 .. x1 - 1``.

    The one order used everywhere (numpy's: rows first, ends exclusive), so
    ``image[region.slices]`` is its content. The canvas's visible part, a selection's bounding
    box, a preview's area and the changed box of an undo record are all Regions.
    """

    y0: int
    y1: int
    x0: int
    x1: int

    @classmethod
    def from_xywh(cls, x: float, y: float, width: float, height: float) -> Region:
        """The region of ``width`` × ``height`` pixels whose top-left pixel is ``(x, y)``."""
        x0, y0 = int(x), int(y)
        return cls(y0, y0 + int(height), x0, x0 + int(width))

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.y0, self.y1), slice(self.x0, self.x1)

    def clip(self, shape: tuple[int, ...]) -> Region | None:
        """This region cut to an image of ``shape`` ``(H, W, ...)``; None when nothing is left."""
        h, w = shape[:2]
        y0, y1 = max(0, int(self.y0)), min(h, int(self.y1))
        x0, x1 = max(0, int(self.x0)), min(w, int(self.x1))
        return Region(y0, y1, x0, x1) if y1 > y0 and x1 > x0 else None

    def grow(self, margin: int, shape: tuple[int, ...]) -> Region:
        """This region with ``margin`` pixels more on every side, within ``shape``."""
        h, w = shape[:2]
        return Region(max(0, self.y0 - margin), min(h, self.y1 + margin),
                      max(0, self.x0 - margin), min(w, self.x1 + margin))

    def within(self, outer: Region) -> Region:
        """This region in the coordinates of the crop ``outer`` (which contains it)."""
        return Region(self.y0 - outer.y0, self.y1 - outer.y0,
                      self.x0 - outer.x0, self.x1 - outer.x0)


@dataclass(frozen=True)
class Range:
    """Bounds of a numeric parameter, carried in ``Annotated[float, Range(0, 1)]``."""

    lo: float | None = None
    hi: float | None = None
    step: float | None = None


@dataclass(frozen=True)
class Color:
    """An RGB colour with 8-bit components."""

    r: int
    g: int
    b: int

    def __post_init__(self) -> None:
        for name in ("r", "g", "b"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or not 0 <= value <= 255:
                raise ValueError(f"colour component {name} must be an int in [0, 255]; got {value!r}")

    @classmethod
    def parse(cls, text: str) -> Color:
        """Parse ``#rrggbb`` or ``r,g,b``."""
        text = text.strip()
        try:
            if text.startswith("#") and len(text) == 7:
                return cls(int(text[1:3], 16), int(text[3:5], 16), int(text[5:7], 16))
            r, g, b = (int(part) for part in text.split(","))
        except ValueError:
            raise ValueError(f"not a colour (expected #rrggbb or r,g,b): {text!r}") from None
        return cls(r, g, b)

    def hex(self) -> str:
        return f"#{self.r:02x}{self.g:02x}{self.b:02x}"

    def __str__(self) -> str:
        return self.hex()


def _jsonable(value: Any) -> Any:
    """Convert numpy values and nested containers to plain JSON-compatible Python.

    The result is valid JSON: a NaN or infinite number (an undefined measurement, such as the
    weighted centroid of a region whose intensity is all 0) becomes ``None`` (``null``).
    """
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f" and not np.all(np.isfinite(value)):
            return _jsonable(value.tolist())
        return value.tolist()
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if hasattr(value, "to_json"):
            return value.to_json()
        return _jsonable(dataclasses.asdict(value))
    if isinstance(value, enum.Enum):
        return value.value
    return value


class Result:
    """Base of result dataclasses. Fields annotated ``Image``/``Labels``/``Points`` (or
    ``Boxes``) become layers in the editor and files in the CLI; the other fields are shown as
    data. ``to_json()`` leaves raster fields out (they are written as images instead)."""

    def to_json(self) -> dict[str, Any]:
        raster = {name for name, kind in layer_fields(type(self))
                  if kind in (LayerKind.IMAGE, LayerKind.LABELS)}
        return {f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)
                if f.name not in raster}


def layer_fields(result_type: type) -> list[tuple[str, LayerKind]]:
    """The fields of a result dataclass that hold layers, in declaration order.

    ``Image``/``Labels``/``Points`` annotations give their kind; a ``Boxes`` field gives
    ``LayerKind.SHAPES``.
    """
    import typing

    if not dataclasses.is_dataclass(result_type):
        return []
    hints = typing.get_type_hints(result_type, include_extras=True)
    out: list[tuple[str, LayerKind]] = []
    for f in dataclasses.fields(result_type):
        tp = hints.get(f.name)
        if typing.get_origin(tp) is Annotated:
            kinds = [m.kind for m in tp.__metadata__ if isinstance(m, LayerType)]
            if kinds:
                out.append((f.name, kinds[0]))
                continue
        if tp is Boxes or tp is Lines:
            out.append((f.name, LayerKind.SHAPES))
    return out


@dataclass(frozen=True, eq=False)
class Boxes(Result):
    """Axis-aligned boxes ``xyxy`` (N, 4) with a score and a label each."""

    xyxy: np.ndarray
    scores: np.ndarray = None  # type: ignore[assignment]
    labels: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        xyxy = np.asarray(self.xyxy, dtype=float).reshape(-1, 4)
        n = len(xyxy)
        scores = np.ones(n) if self.scores is None else np.asarray(self.scores, dtype=float)
        labels = list(self.labels) if self.labels else [""] * n
        if scores.shape != (n,) or len(labels) != n:
            raise ValueError(
                f"Boxes: {n} boxes but {scores.shape[0]} scores and {len(labels)} labels"
            )
        object.__setattr__(self, "xyxy", xyxy)
        object.__setattr__(self, "scores", scores)
        object.__setattr__(self, "labels", labels)

    def __len__(self) -> int:
        return len(self.xyxy)


@dataclass(frozen=True)
class Classes(Result):
    """Ranked class predictions, best first: ``[(name, probability), ...]``."""

    items: list[tuple[str, float]]


@dataclass(frozen=True)
class Text(Result):
    """Recognised strings with their boxes: ``[(string, (x0, y0, x1, y1)), ...]``."""

    items: list[tuple[str, tuple[float, float, float, float] | None]]

    @property
    def text(self) -> str:
        return "\n".join(s for s, _ in self.items)

    def to_json(self) -> dict[str, Any]:
        return {"items": _jsonable(self.items), "text": self.text}


@dataclass(frozen=True)
class Table(Result):
    """Columns of equal length, e.g. ``{"path": [...], "score": [...]}``."""

    columns: dict[str, list]

    def __post_init__(self) -> None:
        lengths = {len(v) for v in self.columns.values()}
        if len(lengths) > 1:
            raise ValueError(f"Table columns differ in length: {sorted(lengths)}")

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()), []))

    def rows(self) -> list[dict[str, Any]]:
        names = list(self.columns)
        return [dict(zip(names, values, strict=False)) for values in zip(*self.columns.values(), strict=False)]


@dataclass(frozen=True)
class Trained(Result):
    """A model a training op made: its model store ``name``, the weights file ``path``, the
    per-epoch ``losses`` (and other per-epoch measures) and the final ``metrics``."""

    name: str
    path: str
    losses: Table
    metrics: dict[str, float] = field(default_factory=dict)
    epochs: int = 0


@dataclass(frozen=True, eq=False)
class Registered(Result):
    """A moving image resampled onto the fixed grid and the 3×3 matrix mapping moving → fixed."""

    image: Image
    matrix: np.ndarray


@dataclass(frozen=True, eq=False)
class Instances(Result):
    """Instance segmentation: one label id per instance and its box."""

    labels: Labels
    boxes: Boxes


@dataclass(frozen=True, eq=False)
class Lines(Result):
    """Polylines, each an ``(N, 2)`` float array of ``(x, y)`` points, with a label each; in
    the editor a shapes layer of polylines (a pose's skeleton, a track's path)."""

    paths: list[np.ndarray]
    labels: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        paths = [check_points(p, "paths") for p in self.paths]
        labels = list(self.labels) if self.labels else [""] * len(paths)
        if len(labels) != len(paths):
            raise ValueError(f"Lines: {len(paths)} paths but {len(labels)} labels")
        object.__setattr__(self, "paths", paths)
        object.__setattr__(self, "labels", labels)

    def __len__(self) -> int:
        return len(self.paths)


@dataclass(frozen=True, eq=False)
class Pose(Result):
    """Keypoints of a body: ``points`` (K, 2) in (x, y), their ``names`` and ``scores``
    (visibility/confidence in [0, 1]) and the ``skeleton`` joining them (one polyline per
    bone); ``edges`` are the bones as index pairs into ``points``.

    ``skeleton`` comes first so that its layer lies below the keypoints' in the editor."""

    skeleton: Lines
    points: Points
    names: list[str] = field(default_factory=list)
    scores: np.ndarray = None  # type: ignore[assignment]
    edges: list[tuple[int, int]] = field(default_factory=list)


RESULT_TYPES: tuple[type, ...] = (Boxes, Classes, Text, Table, Registered, Instances, Lines, Pose)


def _dtype_hint(dtype: np.dtype) -> str:
    """How to turn an array of ``dtype`` into an image imgstudio accepts."""
    if dtype.kind == "b":
        return "; a mask? give it as labels, or convert with image.astype(numpy.uint8) * 255"
    if dtype.kind == "f":
        return "; convert with image.astype(numpy.float32) (values in [0, 1])"
    if dtype in (np.dtype(np.int16), np.dtype(np.int8)):
        shift, target = (32768, "uint16") if dtype.itemsize == 2 else (128, "uint8")
        return (f"; shift signed data as load_image does for {dtype} files: "
                f"(image.astype(numpy.int32) + {shift}).astype(numpy.{target})")
    if dtype.kind in "iu":
        signed = "signed " if dtype.kind == "i" else ""
        return (f"; {signed}{dtype.itemsize * 8}-bit data must be rescaled first, e.g. with "
                "skimage.exposure.rescale_intensity(image, out_range=(0.0, 1.0))"
                ".astype(numpy.float32)")
    return ""


def check_image(image: Any, name: str = "image", *, finite: bool = False) -> np.ndarray:
    """Return ``image`` as an ndarray after checking shape and dtype; raise ``ValueError``
    naming ``name`` (``TypeError`` for something that is not an array).

    With ``finite``, a float image must also hold no NaN or infinite value. That is the rule
    for operation inputs, checked once where every operation is invoked
    (:mod:`imgstudio.core.invoke`): no operation is written for NaN or ±inf pixels (they
    poison sums, histograms and fits, and give results that are not valid JSON), so they are
    refused up front with a message that says how many there are. Image layers may hold them
    (a float TIFF with no-data pixels is shown with them black), so the default is off.
    """
    if not isinstance(image, np.ndarray):
        raise TypeError(f"{name} must be a numpy array; got {type(image).__name__}")
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)):
        raise ValueError(f"{name} must have shape (H, W), (H, W, 3) or (H, W, 4); got {image.shape}")
    if image.dtype not in IMAGE_DTYPES:
        raise ValueError(f"{name} must be uint8, uint16 or float32; got {image.dtype}"
                         f"{_dtype_hint(image.dtype)}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"{name} is empty; got shape {image.shape}")
    if finite and image.dtype.kind == "f":
        check_finite(image, name)
    return image


def check_finite(image: np.ndarray, name: str = "image") -> np.ndarray:
    """Raise ``ValueError`` naming ``name`` when the float array ``image`` holds NaN or ±inf.

    Two reductions (min and max propagate NaN and show ±inf), no temporary array; the bad
    pixels are counted only when there are some.
    """
    with np.errstate(invalid="ignore"):
        lo, hi = image.min(), image.max()
    if np.isfinite(lo) and np.isfinite(hi):
        return image
    bad = ~np.isfinite(image)
    if image.ndim == 3:
        bad = bad.any(axis=2)
    count = int(np.count_nonzero(bad))
    y, x = (int(v[0]) for v in np.nonzero(bad))
    raise ValueError(
        f"{name} contains NaN or infinite values ({count} of {bad.size} pixels, the first at "
        f"x={x}, y={y}); operations need finite pixels: replace them first, e.g. with "
        "numpy.nan_to_num(image, nan=0.0, posinf=1.0, neginf=0.0)"
    )


def check_labels(labels: Any, name: str = "labels") -> np.ndarray:
    """Check an integer (H, W) labels array; raise ``ValueError`` naming ``name``."""
    if not isinstance(labels, np.ndarray):
        raise TypeError(f"{name} must be a numpy array; got {type(labels).__name__}")
    if labels.ndim != 2:
        raise ValueError(f"{name} must have shape (H, W); got {labels.shape}")
    if not (np.issubdtype(labels.dtype, np.integer) or labels.dtype == bool):
        raise ValueError(f"{name} must be an integer array; got {labels.dtype}"
                         + ("; convert with labels.astype(numpy.int32)"
                            if labels.dtype.kind == "f" else ""))
    if labels.shape[0] == 0 or labels.shape[1] == 0:
        raise ValueError(f"{name} is empty; got shape {labels.shape}")
    return labels


#: The largest coordinate a point may have (in pixels, either sign): far beyond any image, and
#: what OpenCV (float32) and integer pixel indices still hold exactly.
MAX_COORDINATE = 2**31 - 1


def check_points(points: Any, name: str = "points") -> np.ndarray:
    """Return ``points`` as a float (N, 2) array of finite coordinates within
    ±:data:`MAX_COORDINATE`; raise ``ValueError`` naming ``name``."""
    try:
        arr = np.asarray(points, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be an (N, 2) array of numbers (x, y): {exc}") from None
    if arr.size == 0:
        return arr.reshape(0, 2)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"{name} must have shape (N, 2) in (x, y); got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must contain only finite coordinates")
    if np.abs(arr).max() > MAX_COORDINATE:
        raise ValueError(f"{name} must lie within ±{MAX_COORDINATE} pixels; got a coordinate "
                         f"of {np.abs(arr).max():g}")
    return arr


def dtype_max(dtype: np.dtype) -> float:
    """The value of full intensity for an image dtype: 255, 65535 or 1.0."""
    dtype = np.dtype(dtype)
    if dtype == np.uint8:
        return 255.0
    if dtype == np.uint16:
        return 65535.0
    return 1.0
