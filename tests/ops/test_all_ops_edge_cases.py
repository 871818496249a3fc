"""Every registered operation × edge-case inputs × out-of-range and absurd parameters.

The contract: an operation gives its declared output (finite pixels, points and JSON) or
raises ``ValueError``/``TypeError`` whose message names the input or parameter at fault —
never a third-party message that names nothing, never an allocation past a stated limit.

- Edge-case images for the main input: 1×1, 2×3, RGBA, a flat image, a strided view, a
  read-only array (all valid: they run the op) and NaN, ±inf, bool, int64, int16, float64,
  4-D, 0×16, 16×0, 2-channel and a nested list (invalid: refused where every op is invoked,
  :meth:`Invocation.bind`, before the op runs). Ops with optional inputs are also run without
  them. Other inputs get their own bad values (NaN images, wrong-sized or float labels, far,
  huge, NaN or too few points).
- Parameters: each one alone at its bounds, one past them, 2**63, ±1e308, NaN, ±inf, empty
  and NUL strings, missing or garbage files; and all of an op's numbers at their upper
  (then lower) bounds together.

Cases that bind (the op runs) run in one child process under a memory cap: the size guard
at ``IMGSTUDIO_MAX_PIXELS`` = :data:`MAX_PIXELS`, and ``RLIMIT_AS`` set to the address space
the op needed for a normal call plus :data:`HEADROOM` (torch, dlib and onnxruntime map a few
GB of virtual memory when imported, so the cap is taken after that first call, op by op,
not as one absolute number). Cases that do not bind are checked here, in-process.

Ops given fewer cases: detect.faster_rcnn, segment.mask_rcnn and segment.semantic need
torchvision weights that are not installed (their input and parameter checks, which run
before any model is loaded, are tested; nothing runs them); the other model ops (classify,
detect.pose/text, enhance.super_resolution, faces.*) run only :data:`FEW_IMAGES`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import imgstudio.api as api
import tests.core.test_recipe_every_op as every
from imgstudio.core.invoke import Invocation, result_json
from imgstudio.core.spec import INT_MAX, OperationSpec, ParamSpec
from imgstudio.core.types import IMAGE_DTYPES, LayerKind

SPECS = api.list_operations()
ROOT = Path(__file__).resolve().parents[2]

#: The size guard's limit in the child: an op asked for a bigger output must refuse it.
MAX_PIXELS = 1_000_000
#: How much address space a case may add to what its op needed for a normal call.
HEADROOM = 1 << 30

#: Ops whose models are not installed here (nothing runs them; see the module docstring).
NOT_RUN = {"detect.faster_rcnn", "segment.mask_rcnn", "segment.semantic"}
#: Training ops: their parameters' refusals are judged here like every op's, but running them at
#: their bounds would train for hours (epochs up to 10,000); their own tests (tests/ops/train)
#: run short trainings at small settings, the bounds that matter, resume and cancel.
TRAINING = {s.id for s in api.list_operations() if s.editor.training is not None}
NOT_RUN |= TRAINING
#: Model ops (slow per call): only these valid images, besides their parameter cases.
FEW = {"classify.imagenet", "classify.custom", "detect.pose", "detect.text",
       "enhance.super_resolution", "enhance.denoise_autoencoder", "generate.colorize",
       "segment.unet",
       "faces.align", "faces.detect", "faces.embed", "faces.landmarks", "faces.morph",
       "faces.overlay", "faces.recognize"}
FEW_IMAGES = ("1x1", "rgba")
#: In-range values too slow to run here (seconds each), by (op, parameter).
SLOW = {("restore.dictionary_denoise", "n_components"), ("restore.dictionary_denoise",
                                                        "max_patches"),
        ("generate.rbm_sample", "gibbs_steps")}  # 100,000 steps: minutes at count=1024

#: Text of third-party messages that must not reach the user as they are.
THIRD_PARTY = re.compile(
    r"OpenCV\(|\.cpp:|\.hxx|\.hpp|Input X |Input contains|Found array with|n_samples|"
    r"zero-size array|C long|autodetected range|out of bounds for axis|could not broadcast|"
    r"embedded null|Python int too large|dtype\('float64'\)"
)


def _rng_image(shape, dtype) -> np.ndarray:
    rng = np.random.default_rng(0)
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return rng.random(shape).astype(dtype)
    if dtype.kind == "b":
        return rng.random(shape) > 0.5
    info = np.iinfo(dtype)
    return rng.integers(max(info.min, -1000), min(info.max, 1000), shape).astype(dtype)


def _with(value: float, shape=(16, 16, 3)) -> np.ndarray:
    image = _rng_image(shape, np.float32)
    image[3, 4] = value
    return image


def _readonly() -> np.ndarray:
    image = _rng_image((12, 16, 3), np.uint8)
    image.flags.writeable = False
    return image


#: Valid images for the main input: the op runs.
VALID_IMAGES = {
    "1x1": lambda: _rng_image((1, 1, 3), np.uint8),
    "1x1-float": lambda: _rng_image((1, 1), np.float32),
    "2x3": lambda: _rng_image((2, 3), np.uint8),
    "2x3-rgb16": lambda: _rng_image((2, 3, 3), np.uint16),
    "rgba": lambda: _rng_image((12, 16, 4), np.uint8),
    "flat": lambda: np.zeros((16, 16), np.uint8),
    "strided": lambda: _rng_image((16, 32, 3), np.uint8)[:, ::-2],
    "readonly": _readonly,
}
#: Invalid images: refused before the op runs.
BAD_IMAGES = {
    "nan": lambda: _with(np.nan),
    "inf": lambda: _with(np.inf, (16, 16)),
    "-inf": lambda: _with(-np.inf, (16, 16, 4)),
    "bool": lambda: _rng_image((16, 16), bool),
    "int64": lambda: _rng_image((16, 16), np.int64),
    "int16": lambda: _rng_image((16, 16), np.int16),
    "float64": lambda: _rng_image((16, 16), np.float64),
    "4-D": lambda: _rng_image((1, 16, 16, 3), np.uint8),
    "0x16": lambda: np.zeros((0, 16, 3), np.uint8),
    "16x0": lambda: np.zeros((16, 0), np.uint8),
    "2-channel": lambda: _rng_image((16, 16, 2), np.uint8),
    "list": lambda: [[0, 1], [2, 3]],
}
#: Labels for an op whose main input is labels (measure.regions).
MAIN_LABELS = {
    "1x1": lambda: np.ones((1, 1), np.int32),
    "2x3": lambda: np.arange(6).reshape(2, 3),
    "bool": lambda: np.eye(4, dtype=bool),
    "negative": lambda: -np.ones((4, 4), np.int64),
    "2**40": lambda: np.full((4, 4), 2**40, np.int64),
    "float": lambda: np.ones((4, 4), np.float32),
    "3-D": lambda: np.ones((4, 4, 3), np.int32),
    "0x4": lambda: np.zeros((0, 4), np.int32),
}


@dataclass
class Case:
    """One call: ``op`` on ``inputs`` with ``params``; a failure must name one of ``names``."""

    op: str
    name: str
    inputs: dict[str, Any]
    params: dict[str, Any]
    names: set[str] = field(default_factory=set)

    @property
    def id(self) -> str:
        return f"{self.op}[{self.name}]"


# -- building the cases ------------------------------------------------------------------------
def _shape(image: Any) -> tuple[int, int]:
    ok = isinstance(image, np.ndarray) and image.ndim in (2, 3) and image.size
    return image.shape[:2] if ok else (16, 16)


def _other_inputs(spec: OperationSpec, main: Any) -> dict[str, Any]:
    """Valid values for the inputs besides the main one, made to fit ``main`` (as
    tests/core/test_recipe_every_op.py gives them)."""
    shape = _shape(main)
    like = main if isinstance(main, np.ndarray) and main.ndim in (2, 3) and main.size else \
        _rng_image((16, 16, 3), np.uint8)
    out: dict[str, Any] = {}
    for name, code in every.CASES.get(spec.id, {}).get("inputs", {}).items():
        if name == spec.inputs[0].name:
            continue
        if code == "seeds":
            out[name] = every.seeds(shape)
        elif code == "mask":
            out[name] = every.mask(shape)
        elif code in ("shifted", "flipped"):
            out[name] = np.ascontiguousarray(np.roll(like, 2, axis=1)[:, ::-1])
        elif code.startswith("points"):
            out[name] = every._points(code, shape)
    return out


def _main_inputs(spec: OperationSpec, main: Any) -> dict[str, Any]:
    """``main`` as the main input (twice for a list input) and the other inputs."""
    first = spec.inputs[0]
    value: Any
    if first.many:
        value = [main, main if not isinstance(main, np.ndarray) else
                 np.ascontiguousarray(np.roll(main, 1, axis=0))]
    else:
        value = main
    return {first.name: value, **_other_inputs(spec, main)}


def _default_inputs(spec: OperationSpec) -> dict[str, Any]:
    """The inputs of a normal call (the parameter cases' inputs): the default image, or
    overlapping crops for register.stitch."""
    if not spec.inputs:
        return {}
    given = _main_inputs(spec, _default_image(spec))
    first = spec.inputs[0]
    if every.CASES.get(spec.id, {}).get("inputs", {}).get(first.name) == "crops":
        given[first.name] = [layer.data for layer in every._list("crops", None)]
    return given


def _base_params(spec: OperationSpec, tmp: Path) -> dict[str, Any]:
    params = every.CASES.get(spec.id, {}).get("params", {})
    return dict(params(tmp) if callable(params) else params)


def _default_image(spec: OperationSpec) -> np.ndarray:
    case = every.CASES.get(spec.id, {})
    if case.get("labels"):
        return every.seeds((16, 16))
    return (case.get("image") or every.rgb)()


def _numbers(p: ParamSpec, which: str) -> Any:
    bound = p.hi if which == "hi" else p.lo
    if bound is None:
        bound = INT_MAX if which == "hi" else None
    if bound is None:
        return None
    if p.kind == "int":
        return int(bound)
    if p.kind == "float":
        return float(bound)
    if p.kind == "floats":
        return (float(bound),) * 4
    return None


def _param_values(p: ParamSpec, tmp: Path) -> list[Any]:
    if p.kind == "int":
        values = [2**63, -(2**63) - 1, 2**31]
        values += [int(p.lo), int(p.lo) - 1] if p.lo is not None else [-1]
        values += [int(p.hi), int(p.hi) + 1] if p.hi is not None else [INT_MAX]
        return values
    if p.kind == "float":
        values = [float("nan"), float("inf"), -float("inf"), 1e308, -1e308]
        values += [float(p.lo), float(p.lo) - 1.0] if p.lo is not None else []
        values += [float(p.hi), float(p.hi) + 1.0] if p.hi is not None else []
        return values
    if p.kind == "floats":
        values = [(), (float("nan"),), (1e308,), (-1e308,), "1,x"]
        if p.hi is not None:
            values.append((float(p.hi),) * 4)
        return values
    if p.kind == "str":
        return ["", "\x00", "x" * 10_000, "é∂∑ ;,"]
    if p.kind == "path":
        garbage = tmp / "garbage.bin"
        garbage.write_bytes(b"\x00\xff not a model, image, video or index" * 8)
        return ["", "\x00", "/nonexistent/imgstudio-edge", str(tmp), str(garbage)]
    if p.kind == "choice":
        return ["no-such-choice", 2**63]
    if p.kind == "bool":
        return ["maybe", 2]
    if p.kind == "color":
        return ["#zzzzzz", (300, 0, 0)]
    raise AssertionError(p.kind)


def _points_cases(n: int) -> dict[str, Any]:
    n = max(n, 1)
    steps = np.arange(1, n + 1, dtype=float)[:, None]
    return {"far": np.hstack([steps, steps[::-1]]) * 1e9, "huge": np.full((n, 2), 1e308),
            "nan": np.full((n, 2), np.nan), "3-column": np.ones((n, 3)), "none": np.zeros((0, 2)),
            "one": np.ones((1, 2)), "all-equal": np.ones((n, 2)), "text": [["x", "y"]] * n}


def op_cases(spec: OperationSpec, tmp: Path) -> list[Case]:
    """Every case of ``spec`` (deterministic: the child process rebuilds the same list)."""
    cases: list[Case] = []
    base = _base_params(spec, tmp)
    params = {p.name for p in spec.params}
    inputs = {i.name for i in spec.inputs}
    default, normal = _default_image(spec), _default_inputs(spec)
    if spec.inputs:
        first = spec.inputs[0]
        images = MAIN_LABELS if first.kind == LayerKind.LABELS else {**VALID_IMAGES, **BAD_IMAGES}
        if spec.id in FEW:
            images = {k: v for k, v in images.items() if k in FEW_IMAGES or k in BAD_IMAGES}
        for label, make in images.items():
            given = _main_inputs(spec, make())
            names = {first.name} | params | inputs
            cases.append(Case(spec.id, f"{first.name}={label}", given, dict(base), names))
            optional = {i.name for i in spec.inputs if i.optional} & set(given)
            if optional and label in VALID_IMAGES:
                bare = {k: v for k, v in given.items() if k not in optional}
                cases.append(Case(spec.id, f"{first.name}={label},bare", bare, dict(base), names))
        for ispec in spec.inputs[1:]:
            for label, value in _edge_values(ispec, default, normal).items():
                given = {**normal, ispec.name: value}
                cases.append(Case(spec.id, f"{ispec.name}={label}", given, dict(base),
                                  {ispec.name, first.name}))
                if ispec.kind == LayerKind.POINTS:  # sizes from the points (0 = automatic)
                    cases.append(Case(spec.id, f"{ispec.name}={label},defaults", dict(given), {},
                                      {ispec.name} | params))
    for p in spec.params:
        for value in _param_values(p, tmp):
            if (spec.id, p.name) in SLOW and value in (p.hi, (p.hi,) * 4):
                continue
            cases.append(Case(spec.id, f"{p.name}={value!r:.30}", dict(normal),
                              {**base, p.name: value}, {p.name} | inputs))
    for which in ("hi", "lo"):
        together = {p.name: _numbers(p, which) for p in spec.params
                    if _numbers(p, which) is not None and (spec.id, p.name) not in SLOW}
        if len(together) > 1:
            cases.append(Case(spec.id, f"all-{which}", dict(normal), {**base, **together},
                              params | inputs))
    return cases


def _edge_values(ispec, main: np.ndarray, given: dict[str, Any]) -> dict[str, Any]:
    """Edge-case values for an input other than the main one (some valid, some not)."""
    shape = _shape(main)
    if ispec.kind == LayerKind.POINTS:
        current = given.get(ispec.name)
        return _points_cases(len(current) if current is not None else 4)
    if ispec.kind == LayerKind.LABELS:
        return {"3x3": np.ones((3, 3), np.int32), "negative": -np.ones(shape, np.int64),
                "float": np.ones(shape, np.float32), "zero": np.zeros(shape, np.int32),
                "2**40": np.full(shape, 2**40, np.int64), "0x0": np.zeros((0, 0), np.int32)}
    if ispec.many:
        return {"nan": [_with(np.nan)], "empty-list": []}
    return {"nan": _with(np.nan), "2x2": _rng_image((2, 2, 3), np.uint8),
            "grey": _rng_image(shape, np.uint8), "rgba": _rng_image((*shape, 4), np.uint8),
            "int16": _rng_image(shape, np.int16)}


# -- judging an outcome ------------------------------------------------------------------------
def _named(message: str, names: set[str]) -> bool:
    return any(re.search(rf"(?<![A-Za-z0-9_]){re.escape(n)}(?![A-Za-z0-9_])", message)
               for n in names)


def error_verdict(exc: BaseException, names: set[str]) -> str | None:
    """None when ``exc`` is an allowed failure: a ValueError/TypeError naming one of
    ``names`` with no third-party text; otherwise what is wrong."""
    message = str(exc)
    if not isinstance(exc, (ValueError, TypeError)):
        return f"{type(exc).__module__}.{type(exc).__name__}: {message[:400]}"
    if not _named(message, names):
        return f"{type(exc).__name__} naming none of {sorted(names)}: {message[:400]}"
    if THIRD_PARTY.search(message):
        return f"{type(exc).__name__} with a third-party message: {message[:400]}"
    return None


def output_verdict(spec: OperationSpec, out: Any) -> str | None:
    """None when ``out`` is the op's declared output, finite and JSON-clean."""
    kind = spec.output.kind
    if kind in ("image", "labels", "points"):
        if not isinstance(out, np.ndarray):
            return f"{kind} output is a {type(out).__name__}"
    if kind == "image":
        if out.dtype not in IMAGE_DTYPES or not (
                out.ndim == 2 or (out.ndim == 3 and out.shape[2] in (3, 4))) or not out.size:
            return f"image output of shape {out.shape} and dtype {out.dtype}"
        if out.dtype.kind == "f" and not np.isfinite(out).all():
            return "image output holds NaN or infinite values"
    elif kind == "labels":
        if out.ndim != 2 or not np.issubdtype(out.dtype, np.integer):
            return f"labels output of shape {out.shape} and dtype {out.dtype}"
    elif kind == "points":
        if out.ndim != 2 or out.shape[1] != 2 or not np.isfinite(out).all():
            return f"points output of shape {out.shape} (or not finite)"
    elif kind == "result":
        if not isinstance(out, spec.output.result_type):
            return f"result is a {type(out).__name__}, not {spec.output.result_type.__name__}"
        try:
            json.dumps(result_json(out), allow_nan=False)
        except (TypeError, ValueError) as exc:
            return f"result is not valid JSON: {exc}"
    return None


def bind_or_verdict(case: Case) -> tuple[Invocation | None, str | None]:
    """Bind ``case`` (the inputs and parameters checks every op shares). (invocation, None)
    when it binds, else (None, verdict on the refusal)."""
    spec = _SPEC[case.op]
    try:
        return Invocation.bind(spec, **case.inputs, **case.params), None
    except Exception as exc:  # noqa: BLE001 - judged, not hidden
        return None, error_verdict(exc, case.names)


_SPEC = {s.id: s for s in SPECS}


# -- in-process: everything refused before an op runs -------------------------------------------
@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return tmp_path_factory.mktemp("edge-files")


@pytest.mark.parametrize("spec", SPECS, ids=[s.id for s in SPECS])
def test_refused_inputs_and_parameters_name_what_is_wrong(spec, files):
    bad, refused = [], 0
    for case in op_cases(spec, files):
        invocation, verdict = bind_or_verdict(case)
        refused += invocation is None
        if verdict:
            bad.append(f"{case.id}: {verdict}")
    assert not bad, "\n".join(bad)
    assert refused  # every op has parameters or inputs that cannot bind


@pytest.mark.parametrize("label", list(BAD_IMAGES))
def test_every_bad_image_is_refused_for_every_image_input(label):
    """The main-image cases above, stated directly: refused at bind, naming the input."""
    for spec in SPECS:
        if not spec.inputs or spec.inputs[0].kind != LayerKind.IMAGE:
            continue
        case = Case(spec.id, label, _main_inputs(spec, BAD_IMAGES[label]()), {},
                    {spec.inputs[0].name})
        invocation, verdict = bind_or_verdict(case)
        assert invocation is None and verdict is None, f"{case.id}: {verdict}"


def test_non_finite_message_says_where_and_how_to_fix():
    image = _with(np.nan)
    image[7, 9, 0] = np.inf
    with pytest.raises(ValueError, match=r"^image contains NaN or infinite values \(2 of 256 "
                                         r"pixels, the first at x=4, y=3\).*nan_to_num"):
        api.run("basic.invert", image)
    with pytest.raises(ValueError, match="^reference contains NaN"):
        api.run("enhance.histogram_match", _rng_image((16, 16, 3), np.float32),
                reference=_with(np.nan))


def test_signed_16_bit_message_says_how_to_convert():
    with pytest.raises(ValueError, match=r"^image must be uint8, uint16 or float32; got int16; "
                                         r"shift signed data as load_image does for int16 files: "
                                         r"\(image.astype\(numpy.int32\) \+ 32768\)"):
        api.run("basic.invert", _rng_image((8, 8), np.int16))
    with pytest.raises(ValueError, match=r"got int64; signed 64-bit data must be rescaled"):
        api.run("basic.invert", _rng_image((8, 8), np.int64))


def test_image_layers_may_hold_non_finite_pixels():
    """The rule is for op inputs: a float layer with no-data pixels opens and shows."""
    from imgstudio.core.document import ImageLayer

    assert np.isnan(ImageLayer(_with(np.nan), "dem").data).any()


def test_int_parameters_beyond_32_bits_are_refused_naming_them():
    image = _rng_image((16, 16, 3), np.uint8)
    with pytest.raises(ValueError, match=r"^center_x must be within \[-2147483648, 2147483647\]"):
        api.run("enhance.seamless_clone", image, source=image, center_x=2**63)


def test_output_size_parameters_use_the_size_guard(monkeypatch):
    monkeypatch.setenv("IMGSTUDIO_MAX_PIXELS", str(MAX_PIXELS))
    image = _rng_image((48, 64, 3), np.uint8)
    with pytest.raises(ValueError, match=r"^width and height: image of 65535 × 87380 pixels.*"
                                         r"exceeds the limit of 1 MP; set IMGSTUDIO_MAX_PIXELS"):
        api.run("basic.resize", image, height=65535)
    corners = np.array([[0.0, 0.0], [3e5, 0.0], [3e5, 2e5], [0.0, 2e5]])
    with pytest.raises(ValueError, match=r"^width and height \(0: from the corners\): image of "
                                         r"200001 × 300001 pixels"):
        api.run("basic.perspective", image, corners=corners)
    monkeypatch.setenv("IMGSTUDIO_MAX_PIXELS", "4000")
    with pytest.raises(ValueError, match=r"^expand \(the rotated canvas\): image of 80 × 80"):
        api.run("basic.rotate", image, angle=45.0)
    with pytest.raises(ValueError, match=r"^scale 4: image of 192 × 256 pixels"):
        api.run("enhance.super_resolution", image, scale=4)
    crops = [layer.data for layer in every._list("crops", None)]
    monkeypatch.setenv("IMGSTUDIO_MAX_PIXELS", "50000")
    with pytest.raises(ValueError, match=r"^images \(the mosaic they make\): image of \d+ × "
                                         r"\d+ pixels"):
        api.run("register.stitch", crops, mode="scans")


def test_regions_results_are_valid_json_where_a_property_is_undefined():
    labels = np.zeros((8, 8), np.int32)
    labels[2:5, 2:5] = 3
    table = api.run("measure.regions", labels, image=np.zeros((8, 8), np.uint8),
                    properties="centroid_weighted,moments_normalized")
    data = json.loads(json.dumps(result_json(table), allow_nan=False))
    assert data["columns"]["centroid_weighted-0"] == [None]  # 0/0: an all-zero intensity
    assert data["columns"]["moments_normalized-0-0"] == [None]  # undefined by definition


def test_regions_measures_huge_label_values_without_allocating_per_value():
    labels = np.zeros((6, 6), np.int64)
    labels[:2, :2] = 2**40
    labels[3:, 3:] = 7
    table = api.run("measure.regions", labels, properties="area")
    assert table.columns == {"label": [7, 2**40], "area": [9.0, 4.0]}


def test_gmm_on_one_pixel_is_one_component():
    assert api.run("segment.gmm", np.zeros((1, 1, 3), np.uint8)).tolist() == [[1]]


# -- in a child process under a memory cap: every case that runs an op ---------------------------
def _address_space() -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmSize in /proc/self/status")


def _child(out_path: str, folder: str) -> None:
    """Run every case that binds, op by op; one JSON line per case in ``out_path``; files
    the cases need are written under ``folder``.

    Each op first runs once on its default input (a normal call, which imports its libraries
    and loads its models) without a cap; its cases then run with ``RLIMIT_AS`` = the address
    space after that call + :data:`HEADROOM`. A line ``{"start": id}`` precedes each case, so
    a crash names the case.
    """
    import resource
    import warnings

    warnings.simplefilter("error")
    warnings.filterwarnings("ignore", category=DeprecationWarning, module="skimage")
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    tmp = Path(folder)
    with open(out_path, "w", encoding="utf-8") as out:
        def emit(**record: Any) -> None:
            out.write(json.dumps(record) + "\n")
            out.flush()

        for spec in SPECS:
            if spec.id in NOT_RUN:
                continue
            folder = tmp / spec.id.replace(".", "_")
            folder.mkdir()
            resource.setrlimit(resource.RLIMIT_AS, (hard, hard))  # the cases' files, uncapped
            cases = op_cases(spec, folder)
            warm = Case(spec.id, "warm-up", _default_inputs(spec), _base_params(spec, folder),
                        set())
            emit(start=warm.id)
            _run(spec, warm)  # its verdict is the recipe test's business
            limit = _address_space() + HEADROOM
            for case in cases:
                invocation, _ = bind_or_verdict(case)
                if invocation is None:
                    continue  # refused before running: judged in-process
                soft = limit if hard == resource.RLIM_INFINITY else min(limit, hard)
                resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
                emit(start=case.id)
                t0 = time.perf_counter()
                verdict = _run(spec, case, invocation)
                emit(case=case.id, op=spec.id, verdict=verdict,
                     seconds=round(time.perf_counter() - t0, 3))
        # the cap itself: an allocation past the headroom must fail
        soft = limit if hard == resource.RLIM_INFINITY else min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        try:
            np.ones(HEADROOM + (256 << 20), np.uint8)
            emit(canary="allocated")
        except MemoryError:
            emit(canary="MemoryError")
        resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
        emit(done=True)


def _run(spec: OperationSpec, case: Case, invocation: Invocation | None = None) -> str | None:
    import traceback

    try:
        out = (invocation or Invocation.bind(spec, **case.inputs, **case.params)).run()
    except MemoryError:
        return "MemoryError: allocated past the cap"
    except Exception as exc:  # noqa: BLE001 - judged, not hidden
        verdict = error_verdict(exc, case.names)
        if verdict and not isinstance(exc, (ValueError, TypeError)):
            verdict += "\n" + "".join(traceback.format_exception(exc)[-3:])
        return verdict
    return output_verdict(spec, out)


@pytest.fixture(scope="module")
def child_results(tmp_path_factory) -> dict[str, Any]:
    if not sys.platform.startswith("linux"):
        pytest.skip("the memory cap uses RLIMIT_AS and /proc/self/status (Linux)")
    work = tmp_path_factory.mktemp("edge-child")
    out = work / "verdicts.jsonl"
    env = {**os.environ, "IMGSTUDIO_MAX_PIXELS": str(MAX_PIXELS), "OMP_NUM_THREADS": "1",
           "IMGSTUDIO_TORCH_THREADS": "1", "MALLOC_ARENA_MAX": "2",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "tests.ops.test_all_ops_edge_cases", str(out),
                           str(work)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    text = out.read_text(encoding="utf-8") if out.exists() else ""
    records = [json.loads(line) for line in text.splitlines()]
    started = [r["start"] for r in records if "start" in r]
    done = any(r.get("done") for r in records)
    crashed = None if done else (started[-1] if started else "start-up")
    return {"verdicts": [r for r in records if "case" in r], "crashed": crashed,
            "canary": next((r["canary"] for r in records if "canary" in r), None),
            "returncode": proc.returncode, "stderr": proc.stderr[-3000:],
            "seconds": time.perf_counter() - t0}


def test_the_child_ran_every_case_to_the_end(child_results):
    assert child_results["returncode"] == 0 and child_results["crashed"] is None, (
        f"child exited {child_results['returncode']} during {child_results['crashed']}:\n"
        f"{child_results['stderr']}")


def test_the_memory_cap_stops_an_allocation_past_the_headroom(child_results):
    assert child_results["canary"] == "MemoryError"


RUN_SPECS = [s for s in SPECS if s.id not in NOT_RUN]


@pytest.mark.parametrize("spec", RUN_SPECS, ids=[s.id for s in RUN_SPECS])
def test_cases_that_run_give_the_declared_output_or_a_named_error(spec, child_results):
    mine = [r for r in child_results["verdicts"] if r["op"] == spec.id]
    assert mine or child_results["crashed"], f"no case of {spec.id} ran"
    bad = [f"{r['case']}: {r['verdict']}" for r in mine if r["verdict"]]
    assert not bad, "\n".join(bad)


if __name__ == "__main__":
    _child(sys.argv[1], sys.argv[2])
