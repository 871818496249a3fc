"""Segmentation ops (imgstudio.ops.segment): family contracts, thresholds, watersheds, superpixels.

Seeded ops are in test_segment_interactive.py, clustering ops in test_segment_cluster.py.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import SimpleITK as sitk
from scipy import ndimage as ndi
from skimage import graph as skgraph
from skimage.feature import peak_local_max
from skimage.filters import sobel, threshold_isodata, threshold_otsu
from skimage.segmentation import slic as sk_slic
from skimage.segmentation import watershed as sk_watershed
from skimage.util import img_as_float32, img_as_uint
from threadpoolctl import threadpool_limits

import imgstudio.api as api
from imgstudio.core.progress import Cancelled, Progress
from imgstudio.ops import segment

DTYPES = [np.uint8, np.uint16, np.float32]
DTYPE_IDS = ["uint8", "uint16", "float32"]
dtypes = pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
kinds = pytest.mark.parametrize("kind", ["gray", "rgb"])
TOP = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0, np.dtype(np.float32): 1.0}
CONVERT = {np.uint8: np.array, np.uint16: img_as_uint, np.float32: img_as_float32}


@pytest.fixture(autouse=True, scope="module")
def one_blas_thread():
    """Tiny BLAS/OpenMP calls (scikit-learn) crawl with threads on an oversubscribed CPU."""
    with threadpool_limits(1):
        yield


def convert(image: np.ndarray, dtype) -> np.ndarray:
    """A uint8 image in ``dtype`` (skimage's exact conversions)."""
    return np.ascontiguousarray(CONVERT[dtype](image))


def ref_luma(image: np.ndarray) -> np.ndarray:
    """BT.601 luma in the image's dtype, rounded for integers (the documented grey)."""
    if image.ndim == 2:
        return image
    values = image[..., :3].astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    if image.dtype == np.float32:
        return np.clip(values, 0, 1).astype(np.float32)
    return np.clip(np.rint(values), 0, TOP[image.dtype]).astype(image.dtype)


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """True when ``a`` and ``b`` split the pixels identically (labels may be renumbered)."""
    pairs = np.unique(np.stack([a.ravel(), b.ravel()], axis=1), axis=0)
    return len(pairs) == len(np.unique(a)) == len(np.unique(b))


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return (a & b).sum() / (a | b).sum()


# -- family contracts -------------------------------------------------------------------------

CATALOG = {
    "segment.otsu": set(),
    "segment.riddler_calvard": set(),
    "segment.watershed": {"min_distance", "compactness", "footprint"},
    "segment.watershed_markers": {"min_distance", "footprint"},
    "segment.sitk_watershed": {"level", "fully_connected"},
    "segment.random_walker": {"beta", "mode"},
    "segment.som": {"rows", "cols", "iterations", "sigma", "learning_rate", "seed"},
    "segment.gmm": {"n_components", "color_space", "seed"},
    "segment.kmeans": {"k", "seed"},
    "segment.slic": {"n_segments", "compactness"},
    "segment.grabcut": {"iterations"},
    "segment.mean_shift": {"spatial_radius", "color_radius", "tolerance"},
    "segment.fuzzy_cmeans": {"clusters", "m", "seed"},
    "segment.rag_merge": {"n_segments", "threshold", "compactness"},
    "segment.region_grow": {"lower", "upper", "multiplier", "iterations", "radius"},
}
INPUTS = {
    "segment.watershed": ["image", "markers"],
    "segment.sitk_watershed": ["image", "markers"],
    "segment.random_walker": ["image", "seeds"],
    "segment.gmm": ["image", "seeds"],
    "segment.grabcut": ["image", "mask"],
    "segment.region_grow": ["image", "seeds"],
}
CATALOG_DEFAULTS = {
    ("segment.watershed", "min_distance"): 20,
    ("segment.watershed", "compactness"): 0.0,
    ("segment.watershed", "footprint"): 3,
    ("segment.sitk_watershed", "level"): 1.0,
    ("segment.sitk_watershed", "fully_connected"): False,
    ("segment.random_walker", "beta"): 130.0,
    ("segment.random_walker", "mode"): "cg_j",
    ("segment.som", "rows"): 3,
    ("segment.som", "cols"): 3,
    ("segment.som", "iterations"): 1000,
    ("segment.som", "sigma"): 1.0,
    ("segment.som", "learning_rate"): 0.5,
    ("segment.gmm", "n_components"): 3,
    ("segment.gmm", "color_space"): "ycrcb",
    ("segment.kmeans", "k"): 4,
    ("segment.slic", "n_segments"): 200,
    ("segment.slic", "compactness"): 10.0,
    ("segment.grabcut", "iterations"): 5,
    ("segment.mean_shift", "spatial_radius"): 20,
    ("segment.mean_shift", "color_radius"): 30.0,
    ("segment.fuzzy_cmeans", "clusters"): 3,
    ("segment.fuzzy_cmeans", "m"): 2.0,
    ("segment.rag_merge", "n_segments"): 400,
    ("segment.rag_merge", "threshold"): 30.0,
    ("segment.region_grow", "multiplier"): 2.5,
}
LONG_RUNNING = set(CATALOG)  # all of them can take seconds on a 12 MP image


def case(op_id: str, image: np.ndarray) -> dict:
    """Layer inputs and parameters for a valid, quick call of ``op_id`` on ``image``."""
    h, w = image.shape[:2]
    seeds = np.zeros((h, w), np.int32)
    seeds[20:30, 40:50] = 1
    seeds[2:6, 2:30] = 2
    seeds[55:60, 70:90] = 2
    rect = np.zeros((h, w), np.int32)
    rect[8:56, 12:84] = 1
    return {
        "segment.otsu": {},
        "segment.riddler_calvard": {},
        "segment.watershed": {"min_distance": 5},
        "segment.watershed_markers": {"min_distance": 5},
        "segment.sitk_watershed": {"level": 4.0},
        "segment.random_walker": {"seeds": seeds},
        "segment.som": {"iterations": 300},
        "segment.gmm": {"seeds": seeds, "n_components": 2},
        "segment.kmeans": {},
        "segment.slic": {"n_segments": 50},
        "segment.grabcut": {"mask": rect, "iterations": 2},
        "segment.mean_shift": {"spatial_radius": 5},
        "segment.fuzzy_cmeans": {},
        "segment.rag_merge": {"n_segments": 100},
        "segment.region_grow": {"seeds": np.array([[45.0, 25.0]])},
    }[op_id]


def labels_of(out):
    return out if isinstance(out, np.ndarray) else out.labels


def test_catalog_ids_parameters_and_inputs_are_registered():
    specs = {s.id: s for s in api.list_operations() if s.family == "segment"}
    dl = {"segment.unet", "segment.semantic", "segment.mask_rcnn"}
    assert set(specs) - dl == set(CATALOG)
    for op_id, names in CATALOG.items():
        assert {p.name for p in specs[op_id].params} == names, op_id
        assert [i.name for i in specs[op_id].inputs] == INPUTS.get(op_id, ["image"]), op_id
    for (op_id, name), default in CATALOG_DEFAULTS.items():
        assert specs[op_id].param(name).default == default, (op_id, name)
    assert set(specs["segment.random_walker"].param("mode").choices) == {"cg", "cg_j", "bf"}
    assert set(specs["segment.gmm"].param("color_space").choices) == {"rgb", "ycrcb", "lab", "hsv"}
    assert specs["segment.som"].param("iterations").hi <= 100_000
    assert not specs["segment.region_grow"].input("seeds").optional
    assert specs["segment.gmm"].input("seeds").optional
    assert specs["segment.watershed"].input("markers").optional


def test_long_running_ops_take_progress_and_the_summary_is_one_line():
    for spec in api.list_operations():
        if spec.id in CATALOG:
            assert spec.takes_progress == (spec.id in LONG_RUNNING), spec.id
            assert spec.summary and spec.summary.endswith("."), spec.id
            assert spec.menu.startswith("Segment/"), spec.id


def test_importing_segment_loads_no_heavy_library():
    code = (
        "import sys, imgstudio.ops.segment; "
        "print(sorted(m for m in ('cv2', 'skimage', 'scipy', 'sklearn', 'SimpleITK') "
        "if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


@pytest.mark.parametrize("op_id", sorted(CATALOG))
def test_op_returns_int32_labels_and_does_not_mutate_inputs(op_id, make):
    image = make(np.uint8, "rgb")
    kwargs = case(op_id, image)
    before = image.copy(), {k: v.copy() for k, v in kwargs.items() if isinstance(v, np.ndarray)}
    out = api.run(op_id, image, **kwargs)
    labels = labels_of(out)
    assert labels.dtype == np.int32 and labels.shape == image.shape[:2]
    assert labels.flags.c_contiguous and labels.min() >= 0
    assert np.array_equal(image, before[0])
    for name, value in before[1].items():
        assert np.array_equal(kwargs[name], value), name


@pytest.mark.parametrize("op_id", sorted(CATALOG))
def test_direct_call_equals_api_run(op_id, make):
    image = make(np.uint8, "rgb")
    kwargs = case(op_id, image)
    direct = labels_of(api.get_operation(op_id).func(image, **kwargs))
    assert np.array_equal(direct, labels_of(api.run(op_id, image, **kwargs)))


@pytest.mark.parametrize("op_id", sorted(CATALOG))
def test_rgba_alpha_is_ignored(op_id, make):
    rgb, rgba = make(np.uint8, "rgb"), make(np.uint8, "rgba")
    out_rgb = labels_of(api.run(op_id, rgb, **case(op_id, rgb)))
    out_rgba = labels_of(api.run(op_id, rgba, **case(op_id, rgba)))
    assert np.array_equal(out_rgb, out_rgba)


@pytest.mark.parametrize("op_id", sorted(LONG_RUNNING))
def test_long_running_op_reports_progress_and_honours_cancel(op_id, make):
    image = make(np.uint8, "rgb")
    seen = []
    api.run(op_id, image, progress=Progress(lambda f, m: seen.append(f)), **case(op_id, image))
    assert seen and all(0.0 <= f <= 1.0 for f in seen)
    assert seen == sorted(seen)
    cancelled = Progress()
    cancelled.cancel()
    with pytest.raises(Cancelled):
        api.run(op_id, image, progress=cancelled, **case(op_id, image))


@pytest.mark.parametrize(
    ("op_id", "kwargs"),
    [("segment.sitk_watershed", {}), ("segment.region_grow", {"seeds": np.array([[5.0, 5.0]])})],
)
def test_simpleitk_filters_abort_when_cancelled_midway(op_id, kwargs):
    image = np.random.default_rng(0).integers(0, 255, (300, 300), endpoint=True).astype(np.uint8)
    tokens = []

    def cancel_inside_the_filter(fraction, message):
        if fraction > 0.3:
            tokens[0].cancel()

    progress = Progress(cancel_inside_the_filter)
    tokens.append(progress)
    with pytest.raises(Cancelled):
        api.run(op_id, image, progress=progress, **kwargs)


# -- otsu, riddler_calvard --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op_id", "method"),
    [("segment.otsu", threshold_otsu), ("segment.riddler_calvard", threshold_isodata)],
)
@dtypes
@kinds
def test_threshold_equals_skimage_on_the_luma(op_id, method, dtype, kind, make):
    image = make(dtype, kind)
    grey = ref_luma(image)
    expected = (grey > method(grey)).astype(np.int32)
    out = api.run(op_id, image)
    assert out.dtype == np.int32 and np.array_equal(out, expected)
    assert 0 < out.mean() < 1


@pytest.mark.parametrize("op_id", ["segment.otsu", "segment.riddler_calvard"])
def test_threshold_of_constant_image_is_empty(op_id):
    assert not api.run(op_id, np.full((8, 9), 77, np.uint8)).any()


@pytest.mark.parametrize("op_id", ["segment.otsu", "segment.riddler_calvard"])
def test_threshold_bad_params_name_the_image(op_id):
    with pytest.raises(ValueError, match="image"):
        api.run(op_id, np.zeros((8, 8), np.float64))


# -- watershed --------------------------------------------------------------------------------

DISC_A, DISC_B, RADIUS = (40, 38), (40, 70), 20  # (row, col) centres 32 px apart


def two_discs(dtype=np.uint8, kind="gray"):
    yy, xx = np.mgrid[:80, :110]
    a = (yy - DISC_A[0]) ** 2 + (xx - DISC_A[1]) ** 2 <= RADIUS**2
    b = (yy - DISC_B[0]) ** 2 + (xx - DISC_B[1]) ** 2 <= RADIUS**2
    image = ((a | b) * 255).astype(np.uint8)
    if kind == "rgb":
        image = np.dstack([image] * 3)
    return convert(image, dtype), a, b


@dtypes
@kinds
def test_watershed_separates_two_overlapping_discs(dtype, kind):
    image, a, b = two_discs(dtype, kind)
    out = api.run("segment.watershed", image)
    values = [v for v in np.unique(out) if v]
    assert len(values) == 2
    for disc in (a, b):
        best = max(iou(out == v, disc) for v in values)
        assert best >= 0.9
    assert np.array_equal(out > 0, a | b)


def test_watershed_without_markers_equals_the_skimage_recipe():
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[:90, :120]
    mask = np.zeros((90, 120), bool)
    for cy, cx, r in zip(rng.integers(15, 75, 7), rng.integers(15, 105, 7), rng.integers(8, 15, 7),
                         strict=True):
        mask |= (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    image = (mask * 200).astype(np.uint8)
    distance = ndi.distance_transform_edt(mask)
    peaks = peak_local_max(distance, min_distance=7, footprint=np.ones((3, 3)),
                           labels=ndi.label(mask)[0], exclude_border=False)
    markers = np.zeros(mask.shape, np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    expected = sk_watershed(-distance, markers, mask=mask)
    out = api.run("segment.watershed", image, min_distance=7)
    assert same_partition(out, expected)
    proposed = api.run("segment.watershed_markers", image, min_distance=7)
    assert np.array_equal(proposed > 0, markers > 0)
    assert sorted(proposed[proposed > 0]) == list(range(1, len(peaks) + 1))


def test_watershed_labels_every_foreground_component(make):
    # Otsu foreground of a real photo has thin components without a strict distance peak
    image = make(np.uint8, "gray")
    out = api.run("segment.watershed", image, min_distance=10)
    assert np.array_equal(out > 0, image > threshold_otsu(image))


def test_watershed_compactness_is_passed_to_skimage():
    image, a, b = two_discs()
    mask = a | b
    distance = ndi.distance_transform_edt(mask)
    markers = segment.propose_markers(image, min_distance=20, footprint=3)
    expected = sk_watershed(-distance, markers, mask=mask, compactness=0.5)
    assert np.array_equal(api.run("segment.watershed", image, compactness=0.5), expected)


@dtypes
@kinds
def test_watershed_with_markers_floods_the_sobel_gradient(dtype, kind, make):
    image = make(dtype, kind)
    markers = segment.markers_from_points(
        np.array([[10.0, 10.0], [48.0, 30.0], [85.0, 55.0], [30.0, 50.0]]), image.shape[:2]
    )
    markers[markers == 4] = 9  # marker values are kept as they are
    expected = sk_watershed(sobel(ref_luma(image).astype(np.float64) / TOP[image.dtype]), markers)
    out = api.run("segment.watershed", image, markers=markers)
    assert np.array_equal(out, expected)
    assert set(np.unique(out)) == {1, 2, 3, 9}


def test_markers_from_points_draws_one_disc_per_point_in_x_y_order():
    markers = segment.markers_from_points(np.array([[3.0, 5.0], [20.4, 2.6]]), (10, 30), radius=2)
    yy, xx = np.mgrid[:10, :30]
    assert np.array_equal(markers == 1, (xx - 3) ** 2 + (yy - 5) ** 2 <= 4)
    assert np.array_equal(markers == 2, (xx - 20) ** 2 + (yy - 3) ** 2 <= 4)
    assert markers.dtype == np.int32 and set(np.unique(markers)) == {0, 1, 2}
    assert segment.markers_from_points(np.array([[0.0, 0.0]]), (4, 4), radius=0).sum() == 1


def test_markers_from_points_bad_params_name_points():
    with pytest.raises(ValueError, match="points"):
        segment.markers_from_points(np.array([[30.0, 5.0]]), (10, 30))


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"markers": np.ones((5, 5), np.int32)}, "markers"),
        ({"markers": np.zeros((80, 110), np.int32)}, "markers"),
        ({"markers": -np.ones((80, 110), np.int32)}, "markers"),
        ({"min_distance": 0}, "min_distance"),
        ({"footprint": 0}, "footprint"),
        ({"compactness": -1.0}, "compactness"),
    ],
)
def test_watershed_bad_params_name_the_parameter(kwargs, name):
    with pytest.raises(ValueError, match=name):
        api.run("segment.watershed", two_discs()[0], **kwargs)


def test_watershed_markers_bad_params_name_min_distance():
    with pytest.raises(ValueError, match="min_distance"):
        api.run("segment.watershed_markers", two_discs()[0], min_distance=0)


# -- sitk_watershed ---------------------------------------------------------------------------


def sitk_gradient(image: np.ndarray) -> sitk.Image:
    grey = (ref_luma(image).astype(np.float64) * (255.0 / TOP[image.dtype])).astype(np.float32)
    return sitk.GradientMagnitude(sitk.GetImageFromArray(grey))


@dtypes
@kinds
@pytest.mark.parametrize("fully_connected", [False, True])
def test_sitk_watershed_equals_simpleitk(dtype, kind, fully_connected, make):
    image = make(dtype, kind)
    expected = sitk.GetArrayFromImage(sitk.MorphologicalWatershed(
        sitk_gradient(image), level=6.0, markWatershedLine=False, fullyConnected=fully_connected
    ))
    out = api.run("segment.sitk_watershed", image, level=6.0, fully_connected=fully_connected)
    assert out.dtype == np.int32 and np.array_equal(out, expected)
    assert 1 < len(np.unique(out)) < out.size / 20


def test_sitk_watershed_higher_level_gives_fewer_regions(make):
    image = make(np.uint8, "gray")
    counts = [out.max() for out in
              (api.run("segment.sitk_watershed", image, level=v) for v in (1.0, 5.0, 20.0))]
    assert counts[0] > counts[1] > counts[2] >= 1


@kinds
def test_sitk_watershed_from_markers_equals_simpleitk(kind, make):
    image = make(np.uint8, kind)
    markers = segment.markers_from_points(
        np.array([[10.0, 10.0], [48.0, 30.0], [85.0, 55.0]]), image.shape[:2]
    )
    expected = sitk.GetArrayFromImage(sitk.MorphologicalWatershedFromMarkers(
        sitk_gradient(image), sitk.GetImageFromArray(markers), markWatershedLine=False,
        fullyConnected=False,
    ))
    out = api.run("segment.sitk_watershed", image, markers=markers)
    assert np.array_equal(out, expected) and set(np.unique(out)) == {1, 2, 3}


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"level": -1.0}, "level"), ({"markers": np.ones((3, 3), np.int32)}, "markers")],
)
def test_sitk_watershed_bad_params_name_the_parameter(kwargs, name, make):
    with pytest.raises(ValueError, match=name):
        api.run("segment.sitk_watershed", make(), **kwargs)


# -- slic -------------------------------------------------------------------------------------


@dtypes
@pytest.mark.parametrize("kind", ["gray", "rgb", "rgba"])
def test_slic_equals_skimage(dtype, kind, make):
    image = make(dtype, kind)
    data = image if image.ndim == 2 else image[..., :3]
    compactness = 0.1 if kind == "gray" else 10.0
    expected = sk_slic(data, n_segments=60, compactness=compactness, start_label=1,
                       channel_axis=None if kind == "gray" else -1)
    out = api.run("segment.slic", image, n_segments=60, compactness=compactness)
    assert out.dtype == np.int32 and np.array_equal(out, expected)
    assert out.min() == 1 and 20 < out.max() < 120


def test_slic_bad_params_name_n_segments(make):
    with pytest.raises(ValueError, match="n_segments"):
        api.run("segment.slic", make(), n_segments=0)


# -- rag_merge --------------------------------------------------------------------------------


def skimage_rag_merge(image, n_segments, threshold, compactness=30.0):
    data = image if image.ndim == 2 else image[..., :3]
    superpixels = sk_slic(data, n_segments=n_segments, compactness=compactness, start_label=1,
                          channel_axis=None if image.ndim == 2 else -1)
    scaled = data.astype(np.float64) * (255.0 / TOP[image.dtype])
    if scaled.ndim == 2:
        scaled = np.dstack([scaled] * 3)
    rag = skgraph.rag_mean_color(scaled, superpixels)
    return superpixels, skgraph.cut_threshold(superpixels, rag, threshold)


@dtypes
@kinds
def test_rag_merge_equals_skimage_rag_mean_color_and_cut_threshold(dtype, kind, make):
    image = make(dtype, kind)
    superpixels, expected = skimage_rag_merge(image, 150, 25.0, 30.0 if kind == "rgb" else 0.3)
    out = api.run("segment.rag_merge", image, n_segments=150, threshold=25.0,
                  compactness=30.0 if kind == "rgb" else 0.3)
    assert same_partition(out, expected) and out.min() == 1
    assert 1 < out.max() < superpixels.max()


def test_rag_mean_color_builds_the_same_graph_as_skimage(make):
    image = make(np.uint8, "rgb").astype(np.float64)
    labels = sk_slic(image / 255, n_segments=80, start_label=1)
    ours = segment.superpixels.rag_mean_color(image, labels)
    theirs = skgraph.rag_mean_color(image, labels)
    assert set(ours.nodes) == set(theirs.nodes)
    assert {frozenset(e) for e in ours.edges} == {frozenset(e) for e in theirs.edges}
    for u, v, d in theirs.edges(data=True):
        assert ours.edges[u, v]["weight"] == pytest.approx(d["weight"], rel=1e-12, abs=1e-9)
    for n, d in theirs.nodes(data=True):
        assert ours.nodes[n]["pixel count"] == d["pixel count"]
        assert np.allclose(ours.nodes[n]["mean color"], d["mean color"])


def test_rag_merge_joins_superpixels_of_one_flat_region():
    rng = np.random.default_rng(0)
    image = np.zeros((60, 90, 3), np.uint8)
    image[:, 45:] = (200, 40, 40)
    image = np.clip(image + rng.normal(0, 3, image.shape), 0, 255).astype(np.uint8)
    out = api.run("segment.rag_merge", image, n_segments=60, threshold=30.0)
    assert out.max() == 2
    assert same_partition(out, np.where(np.arange(90) < 45, 1, 2)[None].repeat(60, 0))


def test_rag_merge_bad_params_name_threshold(make):
    with pytest.raises(ValueError, match="threshold"):
        api.run("segment.rag_merge", make(), threshold=-1.0)
