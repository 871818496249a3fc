"""Every registered operation, fed random valid parameters on small random images, returns its
declared output type or raises ValueError — never anything else."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import imgstudio.api as api
from imgstudio.core.io import ImageIOError
from imgstudio.core.spec import InputSpec, OperationSpec, ParamSpec
from imgstudio.core.types import IMAGE_DTYPES, LayerKind

#: Training ops are left out: random valid settings (up to 64 epochs on a built-in dataset)
#: would train for minutes per example; tests/ops/train runs them at small settings.
SPECS = [s for s in api.list_operations() if s.editor.training is None]


@st.composite
def images(draw, shape=None):
    h, w = shape or (draw(st.integers(4, 24)), draw(st.integers(4, 24)))
    channels = draw(st.sampled_from([None, 3, 4]))
    dtype = draw(st.sampled_from(IMAGE_DTYPES))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    full = (h, w) if channels is None else (h, w, channels)
    if dtype == np.float32:
        return rng.random(full, dtype=np.float32)
    return rng.integers(0, np.iinfo(dtype).max, full, endpoint=True).astype(dtype)


def layer_value(draw, ispec: InputSpec, shape):
    if ispec.kind == LayerKind.IMAGE:
        if ispec.many:
            return [draw(images(shape)) for _ in range(draw(st.integers(1, 3)))]
        return draw(images(shape))
    if ispec.kind == LayerKind.LABELS:
        rng = np.random.default_rng(draw(st.integers(0, 2**16)))
        return rng.integers(0, draw(st.integers(1, 4)), shape, endpoint=True).astype(np.int32)
    if ispec.kind == LayerKind.POINTS:
        n = draw(st.integers(0, 6))
        return np.array(draw(st.lists(st.tuples(st.floats(0, shape[1] - 1), st.floats(0, shape[0] - 1)),
                                      min_size=n, max_size=n)), dtype=float).reshape(-1, 2)
    return None


def param_value(draw, p: ParamSpec):
    if p.optional and draw(st.booleans()):
        return None
    if p.kind == "int":
        lo = int(p.lo) if p.lo is not None else -16
        hi = int(p.hi) if p.hi is not None else 64
        # Keep sizes small so a random case cannot allocate gigabytes.
        return draw(st.integers(lo, max(lo, min(hi, lo + 64))))
    if p.kind == "float":
        lo = p.lo if p.lo is not None else -100.0
        hi = p.hi if p.hi is not None else 100.0
        return draw(st.floats(lo, min(hi, lo + 1000.0), allow_nan=False))
    if p.kind == "floats":
        lo = p.lo if p.lo is not None else 0.0
        hi = p.hi if p.hi is not None else 1.0
        return tuple(draw(st.lists(st.floats(lo, hi), min_size=1, max_size=3)))
    if p.kind == "bool":
        return draw(st.booleans())
    if p.kind == "choice":
        return draw(st.sampled_from(p.choices))
    if p.kind == "str":
        return draw(st.text(max_size=12))
    if p.kind == "color":
        return draw(st.sampled_from(["#000000", "#ff8000", "10,20,30"]))
    if p.kind == "path":
        return "/nonexistent/imgstudio-fuzz-input"
    raise AssertionError(p.kind)


def check_output(spec: OperationSpec, out) -> None:
    kind = spec.output.kind
    if kind == "image":
        assert isinstance(out, np.ndarray) and out.dtype in IMAGE_DTYPES
        assert out.ndim == 2 or (out.ndim == 3 and out.shape[2] in (3, 4))
    elif kind == "labels":
        assert isinstance(out, np.ndarray) and out.ndim == 2
        assert np.issubdtype(out.dtype, np.integer)
    elif kind == "points":
        assert isinstance(out, np.ndarray) and out.ndim == 2 and out.shape[1] == 2
    elif kind == "result":
        assert isinstance(out, spec.output.result_type)
    else:
        assert out is None


@pytest.mark.parametrize("spec", SPECS, ids=[s.id for s in SPECS])
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_valid_parameters_give_declared_output_or_value_error(spec, data):
    draw = data.draw
    shape = (draw(st.integers(4, 24)), draw(st.integers(4, 24)))
    inputs = {}
    for ispec in spec.inputs:
        if ispec.optional and draw(st.booleans()):
            continue
        inputs[ispec.name] = layer_value(draw, ispec, shape)
    params = {p.name: param_value(draw, p) for p in spec.params}
    try:
        out = api.run(spec.id, **inputs, **params)
    except (ValueError, ImageIOError):
        return
    check_output(spec, out)
