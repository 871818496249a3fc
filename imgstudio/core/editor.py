"""What an operation declares about its behaviour in the editor.

The GUI knows no operation by id: everything op-specific it does — how the preview is made,
which inputs follow the view, where a parameter is placed on the canvas, the hint shown for
seeds, the views beside the histogram, the wizard an op opens — it reads from the op's spec,
and the op declares it here:

- on a layer input, as ``Annotated`` metadata: :class:`Aligned` (pixel-aligned with the main
  input, so cropped and downscaled with it; the default for labels inputs), :class:`Whole`
  (never cropped: a reference image; the default for other image inputs) or :class:`Seeds`
  (strokes the user paints: every pixel's result depends on seeds anywhere, so a preview with
  seeds uses the whole layer; a hint says what to paint);
- on the op, as ``@operation(..., editor=Editor(...))``: the preview policy and pixel budget,
  whether it is a geometry op, the ``(x, y)`` parameters placed with the canvas's Place tool,
  its views (:class:`HistogramMarker`, :class:`HistogramOverlay`, :class:`Spectrum`), its
  :class:`Wizard` and, for an op that trains a model, its :class:`Training`;
- on the op too, how its optional layer inputs relate to its parameters:
  ``applies={"min_distance": Without("markers")}`` (:class:`With`, :class:`Without`): the
  parameter only matters while that input is given (absent), so the form hides it otherwise;
  ``prefill=("image",)``: the optional input starts on a suitable layer rather than on
  "(none)" (the layer the main input was made from, else the document's only layer of that
  kind; see :class:`Editor`); ``needs={"image": Needs("properties", parts)}``
  (:class:`Needs`): which parts of a parameter's value need the input, so that while it is
  "(none)" the form, and the status after Apply, say what is left out.

Functions declared here (markers, rings, spectra, wizard steps) belong to the op's module and
are plain numpy code: the GUI calls them through the spec, never by importing ``imgstudio.ops``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

PreviewMode = Literal["auto", "region", "whole", "apply"]
PREVIEW_MODES = ("auto", "region", "whole", "apply")


@dataclass(frozen=True)
class Aligned:
    """``Annotated`` metadata: this layer input is pixel-aligned with the main input (a mask, a
    second frame of the same scene); it is cropped with the view or the selection."""


@dataclass(frozen=True)
class Whole:
    """``Annotated`` metadata: this layer input is always used whole (a reference image, a
    template): never cropped with the view or the selection."""


@dataclass(frozen=True)
class Seeds:
    """``Annotated`` metadata: seeds, markers or a mask the user paints with the brush.

    A result depends on seeds anywhere in the image, so while such an input is set the preview
    runs on the whole layer, downscaled to the op's ``preview_pixels`` (seeds by block maximum,
    so thin strokes survive). ``hint`` is shown when the op is chosen (for an optional input,
    once a layer is picked for it).
    """

    hint: str = ""


@dataclass(frozen=True)
class HistogramMarker:
    """A vertical marker on the histogram: ``value(image, params)`` returns the position in
    the grey image's intensity units, or None for no marker. ``params`` are the form's raw
    values (not yet validated)."""

    value: Callable[[Any, Mapping[str, Any]], float | None]


@dataclass(frozen=True)
class HistogramOverlay:
    """Histograms of the layers picked for ``inputs`` drawn over the main layer's; after a
    preview or Apply also the result's and (after Apply) the source's as it was."""

    inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Spectrum:
    """A view of the main layer's spectrum beside the histogram.

    ``compute(image)`` returns the 2-D array to show (zero frequency at the centre);
    ``rings(params, shape)`` returns ``(solid, dashed)`` circle radii drawn over it, in the
    shown array's pixels, for the form's current parameters.
    """

    compute: Callable[[Any], Any]
    rings: Callable[[Mapping[str, Any], tuple[int, int]], tuple[list[float], list[float]]]


View = HistogramMarker | HistogramOverlay | Spectrum


@dataclass(frozen=True)
class Wizard:
    """A multi-step dialog the op opens from the Tools menu (``title``).

    ``name`` picks the dialog class in the GUI; ``ops`` maps the roles the dialog knows
    ("detect", "index") to the op ids it runs through :func:`imgstudio.api.run`, so op ids stay
    in the ops' own modules; ``functions`` are plain helpers it runs in workers; ``data`` holds
    constants it needs (file names).
    """

    name: str
    title: str
    ops: Mapping[str, str] = field(default_factory=dict)
    functions: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    data: Mapping[str, Any] = field(default_factory=dict)
    tip: str = ""


@dataclass(frozen=True)
class Training:
    """Declared by a training op: it belongs in the editor's Training dock, which runs it with
    a live loss plot and a preview grid (what the op reports each epoch), Stop and Resume.

    ``uses`` names the ops that run what it trains, each with the parameter that takes the
    model's name: ``{"generate.vae_sample": "model", ...}`` ("Use this model" opens the first
    with the new model filled in). ``plot`` lists the per-epoch measures drawn (default: every
    number the op reports but ``epoch``/``epochs``). ``resume`` and ``output``/``name`` are the
    op's parameters that resume from the checkpoint and name the model.
    """

    uses: Mapping[str, str] = field(default_factory=dict)
    plot: tuple[str, ...] = ()
    resume: str = "resume"
    name: str = "name"


@dataclass(frozen=True)
class With:
    """``Editor.applies`` condition: the parameter applies only while the layer input
    ``input`` is given."""

    input: str

    def holds(self, given: Collection[str]) -> bool:
        """Whether the parameter applies when the inputs named ``given`` have a layer."""
        return self.input in given


@dataclass(frozen=True)
class Without:
    """``Editor.applies`` condition: the parameter applies only while the layer input
    ``input`` is absent (e.g. the automatic markers' settings of a watershed)."""

    input: str

    def holds(self, given: Collection[str]) -> bool:
        """Whether the parameter applies when the inputs named ``given`` have a layer."""
        return self.input not in given


Condition = With | Without


@dataclass(frozen=True)
class Needs:
    """``Editor.needs`` entry of an optional layer input: ``parts(value)`` lists the parts of
    the parameter ``param``'s value that need the input (the intensity properties of a
    property list); while the input is "(none)" the form notes them."""

    param: str
    parts: Callable[[Any], Sequence[str]]

    def missing(self, value: Any) -> list[str]:
        """The parts of ``value`` that need the input; [] for a value the op will reject
        anyway (the op names the problem then)."""
        try:
            return list(self.parts(value))
        except (TypeError, ValueError):
            return []


@dataclass(frozen=True)
class Editor:
    """An op's editor behaviour (all optional; the defaults suit a per-pixel filter).

    Parameters
    ----------
    preview : {"auto", "region", "whole", "apply"}
        ``region``: the op runs on the visible part of the layer (plus a margin) while the
        user tunes it; ``whole``: on the whole layer, downscaled to ``preview_pixels`` (for
        results that depend on the whole image: global statistics, detections); ``apply``:
        no preview, Apply only. ``auto`` picks ``region`` for ops mapping a layer to an
        image/labels of its size, ``whole`` otherwise, ``apply`` for ops without a layer input
        or on a list of layers.
    preview_pixels : int, optional
        Pixel budget of a whole-layer preview (default: the editor's, about 2 MP).
    geometry : bool
        Pixels move (crop, rotate, warp): a crop of the input is not a crop of the output, and
        the preview is never downscaled (size parameters are full-resolution pixels).
    position : (str, str), optional
        The ``(x, y)`` parameters set by dragging with the canvas's Place tool.
    region : (str, str, str, str), optional
        The ``(x, y, width, height)`` parameters the rectangle selection fills when the form
        opens (a crop takes the selected rectangle); such an op then runs on the whole layer.
    views : tuple
        :class:`HistogramMarker`, :class:`HistogramOverlay`, :class:`Spectrum` instances.
    wizard : Wizard, optional
    training : Training, optional
        The op trains a model and is run from the Training dock (see :class:`Training`).
    applies : mapping of str to With or Without
        Parameter → the layer input it depends on: shown only while :meth:`applies_to` says
        so (hidden, yet still passed with its value: the op ignores it).
    prefill : tuple of str
        Optional layer inputs that start on a layer instead of "(none)": the layer the main
        input was made from when its name says so (a result named "Watershed of Blobs" was made
        from "Blobs"), else the only layer of the input's kind; "(none)" when neither is known.
    needs : mapping of str to Needs
        Optional layer input → what of a parameter's value needs it (see :class:`Needs`).
    """

    preview: PreviewMode = "auto"
    preview_pixels: int | None = None
    geometry: bool = False
    position: tuple[str, str] | None = None
    region: tuple[str, str, str, str] | None = None
    views: tuple[View, ...] = ()
    wizard: Wizard | None = None
    training: Training | None = None
    applies: Mapping[str, Condition] = field(default_factory=dict)
    prefill: tuple[str, ...] = ()
    needs: Mapping[str, Needs] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.preview not in PREVIEW_MODES:
            raise ValueError(f"preview must be one of {', '.join(PREVIEW_MODES)}; "
                             f"got {self.preview!r}")
        if self.preview_pixels is not None and self.preview_pixels < 1:
            raise ValueError(f"preview_pixels must be >= 1; got {self.preview_pixels!r}")
        if self.position is not None and len(self.position) != 2:
            raise ValueError(f"position must name two parameters (x, y); got {self.position!r}")
        if self.region is not None and len(self.region) != 4:
            raise ValueError("region must name four parameters (x, y, width, height); "
                             f"got {self.region!r}")
        for name, condition in self.applies.items():
            if not isinstance(condition, (With, Without)):
                raise ValueError(f"applies[{name!r}] must be With(input) or Without(input); "
                                 f"got {condition!r}")

    def applies_to(self, param: str, given: Collection[str]) -> bool:
        """Whether ``param`` matters when the layer inputs named ``given`` have a layer."""
        condition = self.applies.get(param)
        return condition is None or condition.holds(given)

    def left_out(self, values: Mapping[str, Any], given: Collection[str]) -> list[str]:
        """One line per optional input that is absent although ``values`` ask for it, e.g.
        "mean_intensity needs an image: none chosen"."""
        lines = []
        for name, needs in self.needs.items():
            parts = [] if name in given else needs.missing(values.get(needs.param))
            if parts:
                verb = "needs" if len(parts) == 1 else "need"
                article = "an" if name[:1].lower() in "aeiou" else "a"
                lines.append(f"{', '.join(parts)} {verb} {article} {name.replace('_', ' ')}: "
                             "none chosen")
        return lines

    def view(self, kind: type) -> Any:
        """The declared view of type ``kind``, or None."""
        return next((v for v in self.views if isinstance(v, kind)), None)


DEFAULT_EDITOR = Editor()
