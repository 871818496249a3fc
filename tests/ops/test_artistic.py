"""Artistic operations (imgstudio.ops.artistic), each checked against an independent reference:
the OpenCV / scikit-image call it wraps, the classic pipeline written out step by step, a numpy
transcription of the formula, or a measured property."""

from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np
import pytest
import scipy.ndimage as ndi
from skimage.filters import threshold_otsu
from skimage.segmentation import find_boundaries, slic

import imgstudio.api as api
from imgstudio.core.progress import Cancelled, Progress
from imgstudio.core.types import IMAGE_DTYPES
from imgstudio.ops import artistic
from imgstudio.ops.artistic._common import perona_malik

DTYPES = [np.uint8, np.uint16, np.float32]
DTYPE_IDS = ["uint8", "uint16", "float32"]
TOP = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0, np.dtype(np.float32): 1.0}

dtypes = pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
kinds = pytest.mark.parametrize("kind", ["gray", "rgb"])


def scaled_from_uint8(out8: np.ndarray, dtype) -> np.ndarray:
    """Reference for the ops that compute at 8 bits: the 8-bit result in ``dtype``."""
    if np.dtype(dtype) == np.uint16:
        return out8.astype(np.uint16) * 257
    if np.dtype(dtype) == np.float32:
        return (out8 / 255.0).astype(np.float32)
    return out8


def as_uint8(image: np.ndarray) -> np.ndarray:
    """Reference 8-bit rounding of an image in any dtype."""
    return np.rint(image.astype(np.float64) * (255.0 / TOP[image.dtype])).astype(np.uint8)


def luma(image: np.ndarray) -> np.ndarray:
    """BT.601 grey in [0, 1], float64 (the editor's basic.grayscale weights)."""
    x = image.astype(np.float64) / TOP[image.dtype]
    if x.ndim == 3:
        x = x[..., :3] @ np.array([0.299, 0.587, 0.114])
    return x


def to_dtype(unit: np.ndarray, dtype) -> np.ndarray:
    top = TOP[np.dtype(dtype)]
    if np.dtype(dtype).kind == "f":
        return np.clip(unit, 0, 1).astype(dtype)
    return np.rint(np.clip(unit, 0, 1) * top).astype(dtype)


def mismatch(a: np.ndarray, b: np.ndarray, tol: float) -> float:
    """Fraction of pixels where ``a`` and ``b`` differ by more than ``tol``."""
    assert a.shape == b.shape
    return float(np.mean(np.abs(a.astype(np.float64) - b.astype(np.float64)) > tol))


# -- catalog and module contracts -------------------------------------------------------------

CATALOG = {
    "artistic.cartoon": {"num_down", "num_bilateral", "median_ksize", "block_size", "c"},
    "artistic.long_exposure": {"video", "max_frames", "step"},
    "artistic.sketch_dodge": {"ksize"},
    "artistic.sketch_dog": {"sigma", "k", "threshold"},
    "artistic.sketch_xdog": {"sigma", "k", "gamma", "epsilon", "phi", "binarize"},
    "artistic.sketch_anisotropic": {"kappa", "niter", "gamma"},
    "artistic.pencil": {"sigma_s", "sigma_r", "shade", "color"},
    "artistic.stylize": {"sigma_s", "sigma_r"},
    "artistic.stained_glass": {"cells", "border"},
    "artistic.cartoon_anisotropic": {"kappa", "niter", "levels"},
}
# Ops that take more than ~1 s on a 12 MP image on two cores: they report progress and cancel.
LONG_RUNNING = {
    "artistic.cartoon", "artistic.cartoon_anisotropic", "artistic.long_exposure",
    "artistic.pencil", "artistic.sketch_anisotropic", "artistic.stained_glass", "artistic.stylize",
}
IMAGE_OPS = sorted(set(CATALOG) - {"artistic.long_exposure"})
GREY_OUTPUT = {"artistic.sketch_dodge", "artistic.sketch_dog", "artistic.sketch_xdog",
               "artistic.sketch_anisotropic", "artistic.pencil"}
FAST = {"artistic.cartoon_anisotropic": {"niter": 5}, "artistic.sketch_anisotropic": {"niter": 5},
        "artistic.stained_glass": {"cells": 40}}


def test_catalog_ids_inputs_and_parameter_names_are_registered():
    specs = {s.id: s for s in api.list_operations() if s.family == "artistic"}
    assert set(specs) == set(CATALOG)
    for op_id, names in CATALOG.items():
        assert {p.name for p in specs[op_id].params} == names, op_id
        expected_inputs = ["frames"] if op_id == "artistic.long_exposure" else ["image"]
        assert [i.name for i in specs[op_id].inputs] == expected_inputs, op_id
        assert specs[op_id].summary and specs[op_id].menu == "Filters/Artistic", op_id
        assert specs[op_id].output.kind == "image", op_id
    assert specs["artistic.long_exposure"].inputs[0].many
    assert specs["artistic.long_exposure"].param("video").kind == "path"


def test_slow_ops_take_progress_and_fast_ones_do_not():
    specs = {s.id: s for s in api.list_operations() if s.family == "artistic"}
    assert {i for i, s in specs.items() if s.takes_progress and s.long_running} == LONG_RUNNING


def test_importing_artistic_loads_no_heavy_library():
    code = (
        "import sys, imgstudio.ops.artistic; "
        "print(sorted(m for m in ('cv2', 'skimage', 'scipy', 'sklearn') if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


@pytest.mark.parametrize("op_id", IMAGE_OPS)
def test_op_does_not_mutate_its_input(op_id, make):
    image = make(np.uint8, "rgba")
    before = image.copy()
    api.run(op_id, image, **FAST.get(op_id, {}))
    assert np.array_equal(image, before)


@pytest.mark.parametrize("op_id", IMAGE_OPS)
@dtypes
def test_op_preserves_dtype_and_shape(op_id, dtype, make):
    image = make(dtype, "rgb")
    out = api.run(op_id, image, **FAST.get(op_id, {}))
    assert out.dtype == dtype
    assert out.shape == (image.shape[:2] if op_id in GREY_OUTPUT else image.shape)
    assert out.min() >= 0 and out.max() <= TOP[np.dtype(dtype)]


@pytest.mark.parametrize("op_id", sorted(LONG_RUNNING - {"artistic.long_exposure"}))
def test_slow_op_reports_progress_and_can_be_cancelled(op_id, make):
    seen = []
    api.run(op_id, make(), progress=Progress(lambda f, m: seen.append(f)), **FAST.get(op_id, {}))
    assert seen and seen[-1] == 1.0 and seen == sorted(seen)
    token = Progress()
    token.cancel()
    with pytest.raises(Cancelled):
        api.run(op_id, make(), progress=token, **FAST.get(op_id, {}))


# -- cartoon ----------------------------------------------------------------------------------


def classic_cartoon(rgb, num_down=2, num_bilateral=7, median_ksize=7, block_size=9, c=2):
    """The OpenCV cartoon recipe, step by step, on uint8 RGB or grey."""
    colour = rgb
    for _ in range(num_down):
        colour = cv2.pyrDown(colour)
    for _ in range(num_bilateral):
        colour = cv2.bilateralFilter(colour, d=9, sigmaColor=9, sigmaSpace=7)
    for _ in range(num_down):
        colour = cv2.pyrUp(colour)
    # pyrUp of an odd size overshoots by one pixel: the recipe resizes back to the original
    colour = cv2.resize(colour, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_NEAREST)
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if rgb.ndim == 3 else rgb
    grey = cv2.medianBlur(grey, median_ksize)
    edges = cv2.adaptiveThreshold(grey, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY,
                                  block_size, c)
    if rgb.ndim == 3:
        edges = cv2.cvtColor(edges, cv2.COLOR_GRAY2RGB)
    return cv2.bitwise_and(colour, edges)


@pytest.mark.parametrize(
    "params",
    [{}, {"num_down": 1, "num_bilateral": 3, "median_ksize": 5, "block_size": 15, "c": 4},
     {"num_down": 0, "num_bilateral": 1, "median_ksize": 1, "block_size": 3, "c": -1}],
)
@kinds
def test_cartoon_equals_classic_pipeline_bit_exact(params, kind, make):
    image = make(np.uint8, kind)  # 64 x 96: every pyramid level has even size
    assert np.array_equal(api.run("artistic.cartoon", image, **params),
                          classic_cartoon(image, **params))


def test_cartoon_odd_size_goes_back_through_the_same_pyramid_sizes(make):
    image = np.ascontiguousarray(make()[:61, :93])
    out = api.run("artistic.cartoon", image)
    assert out.shape == image.shape
    colour = image
    sizes = []
    for _ in range(2):
        sizes.append((colour.shape[1], colour.shape[0]))
        colour = cv2.pyrDown(colour)
    for _ in range(7):
        colour = cv2.bilateralFilter(colour, 9, 9, 7)
    for size in reversed(sizes):
        colour = cv2.pyrUp(colour, dstsize=size)
    edges = cv2.adaptiveThreshold(cv2.medianBlur(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), 7),
                                  255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, 9, 2)
    assert np.array_equal(out, colour * (edges[..., None] > 0))


@pytest.mark.parametrize("dtype", [np.uint16, np.float32], ids=["uint16", "float32"])
def test_cartoon_other_dtypes_are_the_8bit_result_scaled_back(dtype, make):
    image = make(dtype, "rgb")
    expected = scaled_from_uint8(classic_cartoon(as_uint8(image)), dtype)
    out = api.run("artistic.cartoon", image)
    assert out.dtype == dtype
    assert np.allclose(out, expected, rtol=0, atol=1e-6 if dtype == np.float32 else 0)


def test_cartoon_keeps_alpha(make):
    image = make(np.uint8, "rgba")
    out = api.run("artistic.cartoon", image)
    assert np.array_equal(out[..., 3], image[..., 3])
    assert np.array_equal(out[..., :3], classic_cartoon(np.ascontiguousarray(image[..., :3])))


@pytest.mark.parametrize(("params", "name"), [({"median_ksize": 6}, "median_ksize"),
                                              ({"block_size": 10}, "block_size"),
                                              ({"num_down": 9}, "num_down")])
def test_cartoon_bad_params_name_the_parameter(params, name, make):
    with pytest.raises(ValueError, match=name):
        api.run("artistic.cartoon", make(), **params)


# -- long exposure ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def video_file(tmp_path_factory):
    """A 12-frame 32×48 MJPG .avi of a bright square moving over a gradient."""
    path = tmp_path_factory.mktemp("video") / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (48, 32))
    assert writer.isOpened()
    ramp = np.linspace(0, 180, 48, dtype=np.uint8)
    for i in range(12):
        frame = np.dstack([np.tile(ramp, (32, 1)), np.full((32, 48), 40 + 10 * i, np.uint8),
                           np.tile(ramp[::-1], (32, 1))])  # BGR
        frame[8:20, 3 * i:3 * i + 10] = (30, 220, 250)
        writer.write(np.ascontiguousarray(frame))
    writer.release()
    return path


def decoded_frames(path) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames


def test_long_exposure_of_video_is_the_mean_of_its_decoded_frames(video_file):
    frames = decoded_frames(video_file)
    assert len(frames) == 12
    expected = np.rint(np.mean(np.stack(frames).astype(np.float64), axis=0)).astype(np.uint8)
    out = api.run("artistic.long_exposure", video=video_file)
    assert out.dtype == np.uint8 and out.shape == (32, 48, 3)
    assert np.array_equal(out, expected[..., ::-1])  # RGB


@pytest.mark.parametrize(("step", "max_frames", "used"),
                         [(3, 0, [0, 3, 6, 9]), (1, 5, [0, 1, 2, 3, 4]), (4, 2, [0, 4]),
                          (20, 0, [0])])
def test_long_exposure_of_video_honours_step_and_max_frames(video_file, step, max_frames, used):
    frames = decoded_frames(video_file)
    expected = np.rint(np.mean(np.stack([frames[i] for i in used]).astype(np.float64), axis=0))
    out = api.run("artistic.long_exposure", video=str(video_file), step=step,
                  max_frames=max_frames)
    assert np.array_equal(out, expected.astype(np.uint8)[..., ::-1])


def test_long_exposure_of_video_reports_progress_and_cancels(video_file):
    seen = []
    api.run("artistic.long_exposure", video=video_file, progress=Progress(lambda f, m: seen.append(f)))
    assert len(seen) >= 12 and seen[-1] == 1.0

    def cancel_midway(fraction, message):
        if fraction > 0.4:
            token.cancel()

    token = Progress(cancel_midway)
    with pytest.raises(Cancelled):
        api.run("artistic.long_exposure", video=video_file, progress=token)


@dtypes
@kinds
def test_long_exposure_of_frames_is_their_exact_mean(dtype, kind, make):
    base = make(dtype, kind)
    rng = np.random.default_rng(1)
    frames = [np.roll(base, int(s), axis=1) for s in rng.integers(0, 30, 5)]
    copies = [f.copy() for f in frames]
    mean = np.mean(np.stack(frames).astype(np.float64), axis=0)
    expected = mean.astype(dtype) if dtype == np.float32 else np.rint(mean).astype(dtype)
    out = api.run("artistic.long_exposure", frames)
    assert out.dtype == dtype and np.array_equal(out, expected)
    assert all(np.array_equal(f, c) for f, c in zip(frames, copies, strict=True))


def test_long_exposure_of_frames_honours_step_and_max_frames():
    frames = [np.full((4, 5), v, np.uint16) for v in (0, 100, 200, 300, 400, 500, 600)]
    out = api.run("artistic.long_exposure", frames=frames, step=2, max_frames=3)
    assert np.all(out == 200)  # frames 0, 2, 4 -> mean of 0, 200, 400


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"video": "/nonexistent/clip.avi"}, "video"),
     ({}, "video"),
     ({"video": "clip.avi", "frames": [np.zeros((4, 4), np.uint8)]}, "frames"),
     ({"frames": [np.zeros((4, 4), np.uint8), np.zeros((4, 5), np.uint8)]}, "frames"),
     ({"frames": [np.zeros((4, 4), np.uint8), np.zeros((4, 4), np.uint16)]}, "frames"),
     ({"frames": [np.zeros((4, 4), np.uint8)], "step": 0}, "step")],
)
def test_long_exposure_bad_params_name_the_input(kwargs, name):
    with pytest.raises(ValueError, match=name):
        api.run("artistic.long_exposure", **kwargs)


def test_long_exposure_rejects_a_file_that_is_not_a_video(tmp_path):
    path = tmp_path / "notes.avi"
    path.write_text("not a video")
    with pytest.raises(ValueError, match="video"):
        api.run("artistic.long_exposure", video=path)


# -- colour dodge sketch ----------------------------------------------------------------------


def test_sketch_dodge_equals_classic_cv2_divide_for_uint8(make):
    image = make(np.uint8, "rgb")
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    denominator = 255 - cv2.GaussianBlur(255 - gray, (21, 21), 0)
    expected = cv2.divide(gray, denominator, scale=256)
    assert denominator.min() > 0  # the classic recipe's x/0 = 0 never applies here
    assert np.array_equal(api.run("artistic.sketch_dodge", image), expected)


@dtypes
@kinds
def test_sketch_dodge_matches_colour_dodge_formula(dtype, kind, make):
    image = make(dtype, kind)
    top = TOP[np.dtype(dtype)]
    gray = luma(image) * top
    if dtype != np.float32:
        gray = np.rint(gray)
    # the blur is OpenCV's (sigma from ksize); the dodge itself is the closed form
    blurred = cv2.GaussianBlur((top - gray).astype(dtype), (9, 9), 0).astype(np.float64)
    valid = blurred < top
    expected = gray[valid] / (top - blurred[valid]) * top * 256 / 255
    out = api.run("artistic.sketch_dodge", image, ksize=9)
    assert out.dtype == dtype and out.shape == image.shape[:2]
    assert valid.mean() > 0.95
    # grey from cv2.cvtColor (fixed point for integers) may differ from the float luma by one
    # level, which the division amplifies where the blur is near white: allow 2 levels on all
    # but 1 % of pixels
    tol = 1e-4 if dtype == np.float32 else 2.0 * (top / 255.0)
    assert mismatch(out[valid], to_dtype(expected / top, dtype), tol) < 0.01


def test_sketch_dodge_zero_denominator_is_white_unless_black():
    image = np.zeros((20, 20), np.float32)
    image[10, 10] = 1e-9  # blur(1 - g) rounds to 1 there: g / 0
    out = api.run("artistic.sketch_dodge", image, ksize=5)
    assert out[10, 10] == 1.0 and out[0, 0] == 0.0 and out.sum() == 1.0


def test_sketch_dodge_bad_params_name_ksize(make):
    with pytest.raises(ValueError, match="ksize"):
        api.run("artistic.sketch_dodge", make(), ksize=20)


# -- DoG and XDoG -----------------------------------------------------------------------------


@dtypes
@kinds
@pytest.mark.parametrize(("sigma", "k", "threshold"), [(0.5, 1.6, 0.01), (1.5, 2.0, 0.02)])
def test_sketch_dog_matches_scipy_difference_of_gaussians(dtype, kind, sigma, k, threshold, make):
    image = make(dtype, kind)
    gray = luma(image)
    dog = ndi.gaussian_filter(gray, sigma) - ndi.gaussian_filter(gray, k * sigma)
    expected = np.where(dog < -threshold, 0, TOP[np.dtype(dtype)]).astype(dtype)
    out = api.run("artistic.sketch_dog", image, sigma=sigma, k=k, threshold=threshold)
    assert out.dtype == dtype and 0.02 < np.mean(out == 0) < 0.5
    # float32 arithmetic vs float64 reference: only pixels within ~1e-6 of the threshold flip
    assert mismatch(out, expected, 0) < 0.002


def test_sketch_dog_inks_the_dark_side_of_an_edge():
    image = np.zeros((16, 32), np.uint8)
    image[:, 16:] = 200
    out = api.run("artistic.sketch_dog", image, sigma=1.0, threshold=0.02)
    ink = np.argwhere(out == 0)
    assert len(ink) and set(ink[:, 1]) <= {13, 14, 15}


@pytest.mark.parametrize(("params", "name"), [({"sigma": 0.0}, "sigma"), ({"k": 0.5}, "k"),
                                              ({"threshold": -0.1}, "threshold")])
def test_sketch_dog_bad_params_name_the_parameter(params, name, make):
    with pytest.raises(ValueError, match=name):
        api.run("artistic.sketch_dog", make(), **params)


def xdog_reference(gray, sigma=0.8, k=1.6, gamma=0.98, epsilon=-0.1, phi=200.0, binarize=False):
    """Winnemöller's XDoG as in the catalog, float64 with scipy."""
    diff = ndi.gaussian_filter(gray, sigma) - gamma * ndi.gaussian_filter(gray, k * sigma)
    tone = np.where(diff < epsilon, 1.0, 1.0 + np.tanh(phi * diff))
    tone = (tone - tone.min()) / (tone.max() - tone.min())
    if binarize:
        tone = (tone >= threshold_otsu(tone)).astype(float)
    return tone


@dtypes
@kinds
@pytest.mark.parametrize("params", [{}, {"sigma": 1.2, "k": 2.0, "gamma": 0.9, "epsilon": 0.0,
                                         "phi": 20.0}])
def test_sketch_xdog_matches_reference(dtype, kind, params, make):
    image = make(dtype, kind)
    expected = to_dtype(xdog_reference(luma(image), **params), dtype)
    out = api.run("artistic.sketch_xdog", image, **params)
    assert out.dtype == dtype and out.shape == image.shape[:2]
    tol = 2e-4 if dtype == np.float32 else 1.0 * TOP[np.dtype(dtype)] / 255.0
    assert mismatch(out, expected, tol) < 0.002


@dtypes
def test_sketch_xdog_binarized_matches_reference(dtype, make):
    image = make(dtype, "rgb")
    expected = to_dtype(xdog_reference(luma(image), binarize=True), dtype)
    out = api.run("artistic.sketch_xdog", image, binarize=True)
    assert set(np.unique(out)) <= {0, TOP[np.dtype(dtype)]}
    assert mismatch(out, expected, 0) < 0.002


def test_sketch_xdog_of_a_flat_image_is_white():
    out = api.run("artistic.sketch_xdog", np.full((12, 12), 0.3, np.float32))
    assert np.all(out == 1.0)


@pytest.mark.parametrize(("params", "name"), [({"phi": -1.0}, "phi"), ({"gamma": 2.0}, "gamma"),
                                              ({"epsilon": 3.0}, "epsilon")])
def test_sketch_xdog_bad_params_name_the_parameter(params, name, make):
    with pytest.raises(ValueError, match=name):
        api.run("artistic.sketch_xdog", make(), **params)


# -- Perona–Malik diffusion and the anisotropic sketch / cartoon -------------------------------

OFFSETS = [(0, -1), (0, 1), (-1, -1), (-1, 0), (-1, 1), (1, -1), (1, 0), (1, 1)]


def perona_malik_reference(x: np.ndarray, kappa: float, niter: int, gamma: float) -> np.ndarray:
    """Explicit 8-neighbour Perona–Malik in numpy: I += gamma · Σ exp(−(δ/kappa)²)·(I_n − I),
    δ = mean absolute channel difference, replicated border, rounded to 8 bits every step."""
    out = x.astype(np.float32)
    out = out if x.ndim == 3 else out[..., None]
    h, w = x.shape[:2]
    for _ in range(niter):
        padded = np.pad(out, ((1, 1), (1, 1), (0, 0)), mode="edge")
        total = np.zeros_like(out)
        for dy, dx in OFFSETS:
            d = padded[1 + dy:1 + dy + h, 1 + dx:1 + dx + w] - out
            delta = np.abs(d).mean(axis=-1, keepdims=True).astype(np.float64)
            total += d * np.exp(-((delta / kappa) ** 2)).astype(np.float32)
        out = np.clip(np.rint(out + np.float32(gamma) * total), 0, 255)
    out = out.astype(np.uint8)
    return out if x.ndim == 3 else out[..., 0]


@pytest.mark.parametrize("kappa", [5.0, 20.0, 80.0])
@kinds
def test_perona_malik_equals_numpy_transcription(kappa, kind, make):
    x = make(np.uint8, kind)
    out = perona_malik(x, kappa=kappa, niter=6, gamma=0.1, progress=Progress())
    reference_input = x.copy()
    if x.ndim == 3:
        reference_input[..., 0] = np.minimum(x[..., 0], 254)  # the documented cap
    expected = perona_malik_reference(reference_input, kappa, 6, 0.1)
    diff = np.abs(out.astype(int) - expected)
    assert diff.max() <= 1 and np.mean(diff > 0) < 0.005


def test_perona_malik_is_deterministic():
    # OpenCV's multi-step call reads uninitialised border memory; the op steps one at a time
    x = np.ascontiguousarray(np.random.default_rng(5).integers(0, 256, (40, 50, 3), np.uint8))
    runs = {perona_malik(x, kappa=20.0, niter=6, gamma=0.1, progress=Progress()).tobytes()
            for _ in range(8)}
    assert len(runs) == 1


def test_perona_malik_smooths_noise_but_keeps_a_step_edge():
    rng = np.random.default_rng(0)
    clean = np.where(np.arange(40) < 20, 60.0, 190.0)[None, :].repeat(30, axis=0)
    noisy = np.clip(clean + rng.normal(0, 4, clean.shape), 0, 255).astype(np.uint8)
    out = perona_malik(noisy, kappa=20.0, niter=20, gamma=0.1, progress=Progress()).astype(float)
    blurred = ndi.gaussian_filter(noisy.astype(float), 2.0)
    flat_std = out[:, 3:16].std()
    assert flat_std < noisy[:, 3:16].std() / 2
    # the step stays within two columns; a Gaussian with the same noise removal smears it
    assert out[:, 18].mean() < 70 and out[:, 21].mean() > 180
    assert blurred[:, 18].mean() > 80


def anisotropic_sketch_reference(image, kappa=20.0, niter=5, gamma=0.1):
    gray8 = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
    smooth = perona_malik_reference(gray8, kappa, niter, gamma).astype(np.float64)
    gx = ndi.sobel(smooth, axis=1, mode="reflect")
    gy = ndi.sobel(smooth, axis=0, mode="reflect")
    return 1.0 - np.minimum(np.hypot(gx, gy) / 4.0 / kappa, 1.0)


@pytest.mark.parametrize("params", [{"niter": 5}, {"kappa": 40.0, "niter": 8, "gamma": 0.05}])
@kinds
def test_sketch_anisotropic_is_edge_emphasis_of_diffused_grey(params, kind, make):
    image = make(np.uint8, kind)
    expected = to_dtype(anisotropic_sketch_reference(image, **params), np.uint8)
    out = api.run("artistic.sketch_anisotropic", image, **params)
    assert out.dtype == np.uint8 and out.shape == image.shape[:2]
    assert mismatch(out, expected, 1) < 0.01


@pytest.mark.parametrize("dtype", [np.uint16, np.float32], ids=["uint16", "float32"])
def test_sketch_anisotropic_other_dtypes_follow_the_8bit_grey(dtype, make):
    image = make(dtype, "gray")
    expected = to_dtype(anisotropic_sketch_reference(as_uint8(image)), dtype)
    out = api.run("artistic.sketch_anisotropic", image, niter=5)
    assert out.dtype == dtype
    assert mismatch(out, expected, 1.0 * TOP[np.dtype(dtype)] / 255) < 0.01


def test_sketch_anisotropic_draws_strong_edges_and_drops_weak_texture():
    rng = np.random.default_rng(3)
    clean = np.where(np.arange(48) < 24, 40.0, 200.0)[None, :].repeat(32, axis=0)
    noisy = np.clip(clean + rng.normal(0, 3, clean.shape), 0, 255).astype(np.uint8)
    out = api.run("artistic.sketch_anisotropic", noisy)
    assert np.all(out[:, 22:26].min(axis=1) == 0)  # the edge is a black line on every row
    assert np.mean(out[:, 3:18] > 200) > 0.95 and np.mean(out[:, 30:45] > 200) > 0.95


@pytest.mark.parametrize(("params", "name"), [({"gamma": 0.2}, "gamma"), ({"kappa": 0.0}, "kappa"),
                                              ({"niter": -1}, "niter")])
def test_sketch_anisotropic_bad_params_name_the_parameter(params, name, make):
    with pytest.raises(ValueError, match=name):
        api.run("artistic.sketch_anisotropic", make(), **params)


def cartoon_anisotropic_reference(image8, kappa=20.0, niter=5, levels=8):
    work = image8.copy()
    if work.ndim == 3:
        work[..., 0] = np.minimum(work[..., 0], 254)
    smooth = perona_malik_reference(work, kappa, niter, 0.1)
    quantised = np.rint(np.rint(smooth * ((levels - 1) / 255.0)) * (255.0 / (levels - 1)))
    gray = cv2.cvtColor(smooth, cv2.COLOR_RGB2GRAY) if smooth.ndim == 3 else smooth
    gray = gray.astype(np.float64)
    strength = np.hypot(ndi.sobel(gray, axis=1, mode="reflect"),
                        ndi.sobel(gray, axis=0, mode="reflect")) / 4.0
    quantised[strength >= kappa] = 0
    return quantised.astype(np.uint8)


@pytest.mark.parametrize("params", [{"niter": 5}, {"kappa": 35.0, "niter": 4, "levels": 3}])
@kinds
def test_cartoon_anisotropic_is_quantised_diffusion_with_black_edges(params, kind, make):
    image = make(np.uint8, kind)
    out = api.run("artistic.cartoon_anisotropic", image, **params)
    assert mismatch(out, cartoon_anisotropic_reference(image, **params), 0) < 0.01
    levels = params.get("levels", 8)
    allowed = set(np.rint(np.arange(levels) * 255.0 / (levels - 1)))
    assert set(np.unique(out)) <= allowed


@pytest.mark.parametrize("dtype", [np.uint16, np.float32], ids=["uint16", "float32"])
def test_cartoon_anisotropic_writes_levels_in_the_input_dtype(dtype, make):
    image = make(dtype, "rgba")
    out = api.run("artistic.cartoon_anisotropic", image, niter=4, levels=5)
    top = TOP[np.dtype(dtype)]
    assert out.dtype == dtype and np.array_equal(out[..., 3], image[..., 3])
    values = np.unique(out[..., :3]).astype(np.float64)
    assert np.isclose(values[:, None], np.arange(5) * top / 4, atol=0.5).any(axis=1).all()
    expected = cartoon_anisotropic_reference(as_uint8(image[..., :3]), niter=4, levels=5)
    # same level index as the 8-bit pipeline, written exactly as index * max / 4
    assert mismatch(out[..., :3] / top * 4, np.rint(expected / 255.0 * 4), 1e-4) < 0.01


@pytest.mark.parametrize(("params", "name"), [({"levels": 1}, "levels"), ({"kappa": 300.0}, "kappa")])
def test_cartoon_anisotropic_bad_params_name_the_parameter(params, name, make):
    with pytest.raises(ValueError, match=name):
        api.run("artistic.cartoon_anisotropic", make(), **params)


# -- pencil and stylize (OpenCV NPR) ----------------------------------------------------------


@pytest.mark.parametrize("params", [{}, {"sigma_s": 20.0, "sigma_r": 0.2, "shade": 0.02}])
def test_pencil_equals_cv2_pencil_sketch(params, make):
    image = make(np.uint8, "rgb")
    grey, colour = cv2.pencilSketch(cv2.cvtColor(image, cv2.COLOR_RGB2BGR),
                                    sigma_s=params.get("sigma_s", 60.0),
                                    sigma_r=params.get("sigma_r", 0.07),
                                    shade_factor=params.get("shade", 0.05))
    assert np.array_equal(api.run("artistic.pencil", image, **params), grey)
    out = api.run("artistic.pencil", image, color=True, **params)
    assert np.array_equal(out, cv2.cvtColor(colour, cv2.COLOR_BGR2RGB))


@dtypes
@pytest.mark.parametrize("kind", ["gray", "rgba"])
def test_pencil_other_layouts_and_dtypes(dtype, kind, make):
    image = make(dtype, kind)
    image8 = as_uint8(image)
    bgr = (cv2.cvtColor(image8, cv2.COLOR_GRAY2BGR) if kind == "gray"
           else cv2.cvtColor(image8, cv2.COLOR_RGBA2BGR))
    grey, colour = cv2.pencilSketch(bgr, sigma_s=60.0, sigma_r=0.07, shade_factor=0.05)
    out = api.run("artistic.pencil", image)
    assert np.allclose(out, scaled_from_uint8(grey, dtype), rtol=0, atol=1e-6)
    out = api.run("artistic.pencil", image, color=True)
    assert out.shape == image.shape and out.dtype == dtype
    if kind == "rgba":
        assert np.array_equal(out[..., 3], image[..., 3])
        colour = cv2.cvtColor(colour, cv2.COLOR_BGR2RGB)
    else:
        colour = cv2.cvtColor(colour, cv2.COLOR_BGR2GRAY)
    assert np.allclose(out[..., :3] if kind == "rgba" else out,
                       scaled_from_uint8(colour, dtype), rtol=0, atol=1e-6)


def test_pencil_bad_params_name_shade(make):
    with pytest.raises(ValueError, match="shade"):
        api.run("artistic.pencil", make(), shade=0.5)


@dtypes
@pytest.mark.parametrize("kind", ["gray", "rgb", "rgba"])
def test_stylize_equals_cv2_stylization(dtype, kind, make):
    image = make(dtype, kind)
    image8 = as_uint8(image)
    code = {"gray": cv2.COLOR_GRAY2BGR, "rgb": cv2.COLOR_RGB2BGR, "rgba": cv2.COLOR_RGBA2BGR}[kind]
    expected = cv2.stylization(cv2.cvtColor(image8, code), sigma_s=30.0, sigma_r=0.3)
    expected = cv2.cvtColor(expected, cv2.COLOR_BGR2GRAY if kind == "gray" else cv2.COLOR_BGR2RGB)
    out = api.run("artistic.stylize", image, sigma_s=30.0, sigma_r=0.3)
    assert out.shape == image.shape and out.dtype == dtype
    colour = out if kind == "gray" else out[..., :3]
    assert np.allclose(colour, scaled_from_uint8(expected, dtype), rtol=0, atol=1e-6)
    if kind == "rgba":
        assert np.array_equal(out[..., 3], image[..., 3])


@pytest.mark.parametrize(("params", "name"), [({"sigma_r": 2.0}, "sigma_r"),
                                              ({"sigma_s": 0.0}, "sigma_s")])
def test_stylize_bad_params_name_the_parameter(params, name, make):
    with pytest.raises(ValueError, match=name):
        api.run("artistic.stylize", make(), **params)


# -- stained glass ----------------------------------------------------------------------------


def reference_labels(image, cells):
    colour = image[..., :3] if image.ndim == 3 else image
    if colour.ndim == 2:
        scaled = colour.astype(np.float32) * np.float32(100.0 / TOP[colour.dtype])
        return slic(scaled, n_segments=cells, compactness=10.0, start_label=1, channel_axis=None)
    return slic(np.ascontiguousarray(colour), n_segments=cells, compactness=10.0, start_label=1)


@dtypes
@pytest.mark.parametrize("kind", ["gray", "rgb"])
def test_stained_glass_cells_are_their_mean_colour_with_black_borders(dtype, kind, make):
    image = make(dtype, kind)
    labels = reference_labels(image, 60)
    assert 30 <= len(np.unique(labels)) <= 90  # about `cells` cells
    borders = find_boundaries(labels, mode="thick")
    out = api.run("artistic.stained_glass", image, cells=60)
    plain = api.run("artistic.stained_glass", image, cells=60, border=False)
    assert out.dtype == dtype and out.shape == image.shape
    assert np.all(out[borders] == 0)
    assert np.array_equal(out[~borders], plain[~borders])
    for label in np.unique(labels):
        region = labels == label
        mean = image[region].astype(np.float64).mean(axis=0)
        expected = mean if dtype == np.float32 else np.rint(mean)
        assert np.allclose(plain[region], expected, rtol=0, atol=1e-6), label


def test_stained_glass_keeps_alpha_and_is_flat_inside_cells(make):
    image = make(np.uint8, "rgba")
    out = api.run("artistic.stained_glass", image, cells=30, border=False)
    assert np.array_equal(out[..., 3], image[..., 3])
    assert len(np.unique(out[..., :3].reshape(-1, 3), axis=0)) <= len(
        np.unique(reference_labels(image, 30)))


def test_stained_glass_bad_params_name_cells(make):
    with pytest.raises(ValueError, match="cells"):
        api.run("artistic.stained_glass", make(), cells=1)


# -- direct calls ----------------------------------------------------------------------------


def test_direct_calls_equal_api_run(make):
    image = make(np.uint16, "rgb")
    assert np.array_equal(artistic.sketch_dodge(image), api.run("artistic.sketch_dodge", image))
    assert np.array_equal(artistic.cartoon(image, num_bilateral=2),
                          api.run("artistic.cartoon", image, num_bilateral=2))
    assert np.array_equal(artistic.long_exposure([image, image]), image)
    with pytest.raises(ValueError, match="ksize"):
        artistic.sketch_dodge(image, ksize=4)
    assert set(IMAGE_DTYPES) == {np.dtype(d) for d in DTYPES}
