"""generate.colorize: colour for a grey image — a network predicts the a*b* chroma of CIE
L*a*b* from the lightness L*, and the lightness is kept as it was.

Two kinds of model, told apart by the model file's format:

- ``colorize-default`` (ours, shipped; format ``torch-state-dict``, architecture
  ``colorize-cnn``): the small encoder–decoder of :mod:`imgstudio.models.nets.colorize`,
  regressing a*b* (L1 loss) from L*. Trained by ``scripts/train/colorize_default.py`` on six
  colour photos that ship with scikit-image — about as little data as a colorizer can be
  trained on — so it has learnt little more than a prior: a warm orange-brown cast over
  everything, stronger on mid-tones, with a few reds and blues where textures resemble the
  training photos'. Not true colours. On the held-out photo (scikit-image's ``chelsea``, a
  tabby cat) its mean a*b* error is 16.8 against 22.9 for leaving it grey, but the cast is
  too strong (mean chroma 37 against the photo's 23), and the photo's mean colour painted
  everywhere would do better still (12.4).
- ``zhang-eccv16`` (bring your own; format ``caffe``): the network of Zhang, Isola & Efros,
  "Colorful Image Colorization" (ECCV 2016), released by the authors as
  ``colorization_release_v2.caffemodel`` + ``colorization_deploy_v2.prototxt`` and run here by
  OpenCV's ``cv2.dnn``. Import it with::

      imgstudio models import colorization_release_v2.caffemodel --name zhang-eccv16 \\
          --companion colorization_deploy_v2.prototxt

  It classifies each pixel's chroma into 313 bins of a 10-unit a*b* grid (:func:`zhang_bins`)
  and reads the colour out as the *annealed mean* of the class distribution: the logits are
  multiplied by 2.606 (the released network's ``conv8_313_rh`` scale, 1/T with the paper's
  temperature T ≈ 0.38, sharpening the distribution so the colours are less washed out than
  the plain mean), soft-maxed, and averaged over the bin centres by the 1×1 convolution
  ``class8_ab`` whose weights are those centres. The released caffemodel leaves those two
  layers to the user (the authors' Caffe code filled them from Python), so they are set here
  before the first run. Input: L* of the image resized to 224×224, minus 50; output: a*b* at
  56×56, resized back.

What is kept (for both): the input's lightness is L* (CIE 1976, D65 white, sRGB primaries and
transfer curve) of its grey value — a grey image's value, or the BT.601 luma of an RGB(A)
image (an RGB input is re-coloured from its grey version, its own colours are not used). The
predicted chroma is resized to the image and, where (L*, a*, b*) falls outside the sRGB gamut,
scaled towards grey (hue and L* unchanged) by bisection until it fits: L* is never changed to
make a colour fit. So the output's L* equals the input's up to the rounding of the output to
its dtype: within 0.3 (less than one level of 8-bit L*, 100/255 ≈ 0.39) for uint8, below
1e-3 for float32 (measured 0.24 and 3e-4).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from imgstudio.core.editor import Editor
from imgstudio.core.progress import Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import Image, check_image
from imgstudio.ops._pixels import from_unit_like, grey_unit, token

ZHANG = "zhang-eccv16"
#: Input side of the Zhang et al. network and its centring of L*.
ZHANG_SIZE, ZHANG_L_MEAN = 224, 50.0
#: The released network's logit scale before the softmax (1/T of the annealed mean).
ZHANG_ANNEAL = 2.606

#: The 313 a*b* bins of Zhang et al., a 10-unit grid, row by row: for a* = -90, -80, ..., 100
#: the b* from the first to the last value (every 10) of that row — the quantised gamut
#: drawn in Fig. 3(a) of the paper, in the order of the released network's 313 output
#: channels (a* ascending, then b* ascending).
#: Computed check (:func:`srgb_bins`, tested): every grid point whose own colour lies inside
#: the sRGB gamut at some L* (229 of the 529 points of the grid, with 1,001 L* levels) is one
#: of these bins — but the paper's set is larger (313): a bin is kept when colours of the
#: gamut fall *near* it (306 of the 313 are within 10 units, in a* and in b*, of an sRGB
#: colour), and a few edge bins beyond that, e.g. (100, 0), come from the authors' own gamut
#: estimate, which no rule computed from sRGB alone reproduced here (D65 or other white
#: points, nearest-bin or cell rounding, tolerances). So the bins are given by their rows
#: rather than recomputed: the channel order must match the released weights exactly.
_ZHANG_ROWS = {
    -90: (50, 90), -80: (20, 90), -70: (0, 90), -60: (-20, 90), -50: (-30, 100),
    -40: (-40, 100), -30: (-50, 100), -20: (-50, 100), -10: (-60, 100), 0: (-70, 100),
    10: (-80, 90), 20: (-80, 90), 30: (-90, 90), 40: (-100, 90), 50: (-100, 80),
    60: (-110, 80), 70: (-110, 80), 80: (-110, 70), 90: (-110, 70), 100: (-90, 0),
}


def zhang_bins() -> np.ndarray:
    """The 313 bin centres ``(313, 2)`` float32 (a*, b*) of Zhang et al. (see above)."""
    pts = [(a, b) for a, (lo, hi) in sorted(_ZHANG_ROWS.items()) for b in range(lo, hi + 1, 10)]
    out = np.asarray(pts, dtype=np.float32)
    assert out.shape == (313, 2)
    return out


def srgb_bins(step: int = 10, reach: float = 0.0, levels: int = 201) -> np.ndarray:
    """The a*b* grid points (``step`` apart, in [-110, 110]) with an sRGB colour within
    ``reach`` of them (in a* and in b*) at some L* of ``levels`` evenly spaced in [0, 100]:
    Lab → linear RGB, unclipped, and inside [0, 1]³. ``reach = 0``: the grid point itself is
    in gamut."""
    grid = np.arange(-110, 111, step, dtype=np.float64)
    fine = grid if reach == 0 else np.arange(-110 - reach, 110 + reach + 1e-9, 1.0)
    a, b = np.meshgrid(fine, fine, indexing="ij")
    inside = np.zeros(a.shape, dtype=bool)
    for lightness in np.linspace(0.0, 100.0, levels):
        inside |= _in_gamut(np.full(a.shape, lightness), a, b)
    keep = []
    for ga in grid:
        for gb in grid:
            near = (np.abs(a - ga) <= reach) & (np.abs(b - gb) <= reach) if reach else \
                (a == ga) & (b == gb)
            if inside[near].any():
                keep.append((ga, gb))
    return np.asarray(keep, dtype=np.float32).reshape(-1, 2)


# -- CIE L*a*b* ---------------------------------------------------------------------------------

def _linear_rgb(lightness: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Linear sRGB (..., 3) of L*a*b* (D65), unclipped (the CIE 1976 inverse, then the XYZ →
    linear-sRGB matrix scikit-image uses)."""
    from skimage.color import xyz_tristimulus_values
    from skimage.color.colorconv import rgb_from_xyz

    white = xyz_tristimulus_values(illuminant="D65", observer="2")
    fy = (lightness + 16.0) / 116.0
    f = np.stack([fy + a / 500.0, fy, fy - b / 200.0], axis=-1)
    delta = 6.0 / 29.0
    xyz = np.where(f > delta, f ** 3, 3.0 * delta * delta * (f - 4.0 / 29.0)) * white
    return xyz @ rgb_from_xyz.T


def _in_gamut(lightness: np.ndarray, a: np.ndarray, b: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    rgb = _linear_rgb(lightness, a, b)
    return ((rgb >= -tol) & (rgb <= 1.0 + tol)).all(axis=-1)


def lightness_of_grey(grey: np.ndarray) -> np.ndarray:
    """CIE L* of sRGB grey values in [0, 1] (``skimage.color.rgb2lab`` of the grey colour)."""
    from skimage.color import rgb2lab

    g = np.clip(np.asarray(grey, dtype=np.float64), 0.0, 1.0)
    return rgb2lab(np.repeat(g[..., None], 3, axis=-1))[..., 0]


def fit_chroma(lightness: np.ndarray, ab: np.ndarray, iterations: int = 24) -> np.ndarray:
    """``ab`` (..., 2) scaled towards 0 per pixel, as little as needed for (L*, a*, b*) to lie
    in the sRGB gamut (bisection on the factor: hue and L* are kept; grey is always in
    gamut)."""
    ab = np.asarray(ab, dtype=np.float64)
    out = ab.copy()
    bad = ~_in_gamut(lightness, ab[..., 0], ab[..., 1])
    if not bad.any():
        return out
    lum, a, b = lightness[bad], ab[bad, 0], ab[bad, 1]
    lo, hi = np.zeros(len(lum)), np.ones(len(lum))
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        ok = _in_gamut(lum, a * mid, b * mid)
        lo = np.where(ok, mid, lo)
        hi = np.where(ok, hi, mid)
    out[bad, 0], out[bad, 1] = a * lo, b * lo
    return out


def lab_to_rgb(lightness: np.ndarray, ab: np.ndarray) -> np.ndarray:
    """sRGB in [0, 1] (..., 3) float64 of L* and in-gamut a*b* (``skimage.color.lab2rgb``)."""
    from skimage.color import lab2rgb

    lab = np.concatenate([lightness[..., None], ab], axis=-1)
    return np.clip(lab2rgb(lab), 0.0, 1.0)


# -- the networks -----------------------------------------------------------------------------

def _resize(plane: np.ndarray, width: int, height: int) -> np.ndarray:
    import cv2

    shrink = width < plane.shape[1] or height < plane.shape[0]
    return cv2.resize(np.ascontiguousarray(plane, dtype=np.float32), (width, height),
                      interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def _ours(lightness: np.ndarray, model: str, progress: Progress) -> np.ndarray:
    from imgstudio.models import loading, store
    from imgstudio.models.nets.colorize import AB_SCALE, ARCHITECTURE, DEFAULT_CONFIG, build
    from imgstudio.ops._training import find_trained

    loaded = find_trained(model, ARCHITECTURE)
    config = {**DEFAULT_CONFIG, **loaded.config}

    def make() -> Any:
        net = build(config)
        try:
            net.load_state_dict(loaded.tensors)
        except RuntimeError as exc:
            raise ValueError(f"model {model!r}: the weights do not fit its config {config} "
                             f"({str(exc).splitlines()[0]})") from None
        return net.eval()

    net, lock, built = store.cached(("colorize", str(loaded.path), loaded.sha256), make)
    if built:
        progress(0.1, f"loaded model {model}")
    torch = loading.torch("generate.colorize")
    h, w = lightness.shape
    work = int(config.get("work_size") or max(h, w))
    scale = min(1.0, work / max(h, w))
    sw, sh = max(1, round(w * scale)), max(1, round(h * scale))
    small = _resize(lightness, sw, sh) if (sw, sh) != (w, h) else lightness.astype(np.float32)
    x = torch.from_numpy(((small - 50.0) / 50.0).astype(np.float32))[None, None]
    progress(0.2, "predicting colours")
    with lock, torch.no_grad():
        ab = net(x)[0].numpy().transpose(1, 2, 0) * AB_SCALE
    return ab


def _zhang(lightness: np.ndarray, located: Any, progress: Progress) -> np.ndarray:
    import cv2

    from imgstudio.models import store

    prototxt = next((p for p in located.companions if p.suffix.lower() == ".prototxt"), None)
    if prototxt is None:
        raise ValueError(f"model {located.info.name!r}: the caffe model needs its .prototxt; "
                         f"import both: imgstudio models import FILE.caffemodel --name "
                         f"{located.info.name} --companion FILE.prototxt")

    def make() -> Any:
        try:
            net = cv2.dnn.readNetFromCaffe(str(prototxt), str(located.path))
        except cv2.error as exc:
            raise ValueError(f"model {located.info.name!r}: OpenCV cannot read the caffe model "
                             f"({str(exc).strip().splitlines()[-1]})") from None
        names = set(net.getLayerNames())
        missing = [n for n in ("class8_ab", "conv8_313_rh") if n not in names]
        if missing:
            raise ValueError(f"model {located.info.name!r} has no layer {', '.join(missing)}: it "
                             "is not the Zhang et al. colorization network")
        centres = zhang_bins().T.reshape(2, 313, 1, 1)
        net.getLayer(net.getLayerId("class8_ab")).blobs = [np.ascontiguousarray(centres)]
        net.getLayer(net.getLayerId("conv8_313_rh")).blobs = [np.full((1, 313), ZHANG_ANNEAL, np.float32)]
        return net

    net, lock, built = store.cached(("colorize-caffe", str(located.path), located.info.sha256), make)
    if built:
        progress(0.1, f"loaded model {located.info.name}")
    small = _resize(lightness, ZHANG_SIZE, ZHANG_SIZE) - np.float32(ZHANG_L_MEAN)
    progress(0.2, "predicting colours")
    with lock:
        net.setInput(np.ascontiguousarray(small, dtype=np.float32)[None, None])
        out = net.forward("class8_ab")
    if out.ndim != 4 or out.shape[:2] != (1, 2):
        raise ValueError(f"model {located.info.name!r}: class8_ab gives shape {out.shape}, "
                         "not (1, 2, h, w)")
    return out[0].transpose(1, 2, 0)


@operation("generate.colorize", title="Colourize (predict colour from grey)",
           menu="Filters/Generate", editor=Editor(preview="whole"))
def colorize(
    image: Image,
    *,
    model: str = "colorize-default",
    progress: Progress | None = None,
) -> Image:
    """Colour a grey image: a network predicts the CIE a*b* chroma from the lightness L*.

    The output's lightness is the input's (CIE L* of its grey value; an RGB input is first
    made grey by its BT.601 luma), exactly up to the rounding to the output's dtype; the
    predicted chroma is resized to the image and, where a colour would leave the sRGB gamut,
    desaturated until it fits. The shipped ``colorize-default`` is a small network trained on
    six photos only: expect a warm orange-brown cast, not true colours. For real colorization
    import the Zhang et al. (ECCV 2016) network as ``zhang-eccv16`` (see the module
    documentation for the command).

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        The image to colour: grey, or RGB(A) used as its grey (alpha is kept).
    model : str
        Model store name: ``colorize-default`` (ours, shipped), ``zhang-eccv16`` (the Zhang
        et al. caffe model with its prototxt, imported by you), or a model of either kind
        imported under another name.
    progress : Progress, optional
        Progress messages.

    Returns
    -------
    Image
        RGB (RGBA with the input's alpha) in the input's dtype.
    """
    from imgstudio.models import store

    image = check_image(image)
    if not isinstance(model, str) or not model.strip():
        raise ValueError(f"model must be a model store name; got {model!r}")
    progress = token(progress)
    grey = grey_unit(image, np.float64)
    lightness = lightness_of_grey(grey)
    located = store.find(model.strip())
    fmt = located.info.format
    if fmt == "caffe":
        ab = _zhang(lightness, located, progress)
    elif fmt in ("torch-state-dict", "safetensors"):
        ab = _ours(lightness, model.strip(), progress)
    else:
        raise ValueError(f"model {model!r} is a {fmt} model; generate.colorize takes a "
                         "colorize-cnn torch model or the Zhang et al. caffe model")
    h, w = lightness.shape
    if ab.shape[:2] != (h, w):
        ab = np.dstack([_resize(ab[..., k], w, h) for k in range(2)])
    progress(0.7, "fitting the colours into the sRGB gamut")
    ab = fit_chroma(lightness, ab.astype(np.float64))
    rgb = lab_to_rgb(lightness, ab)
    progress(1.0, "colorized")
    return from_unit_like(rgb, image)
