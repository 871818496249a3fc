"""Render every operation of some families on a sample image into docs/gallery/.

    python scripts/make_gallery.py [--families artistic,enhance,edges,restore] [--out docs/gallery]

For each op: one PNG with the input and the output side by side, and a row in index.md with
the parameters used (the defaults) and how long the op took. Extra layer inputs are made from
the bundled samples (a second image, a centred disc mask, blurred halves for focus stacking).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import imgstudio.api as api  # noqa: E402
from imgstudio.core.apply import plain_params  # noqa: E402
from imgstudio.core.types import LayerKind, Result, layer_fields  # noqa: E402

SIZE = 256


def _square(image: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.resize(image, (SIZE, SIZE), interpolation=cv2.INTER_AREA)


def samples() -> dict[str, np.ndarray]:
    import cv2
    import skimage.data

    main = _square(api.load_image(ROOT / "resources" / "samples" / "astronaut.png"))
    other = _square(skimage.data.coffee())
    disc = np.zeros((SIZE, SIZE), np.int32)
    yy, xx = np.mgrid[:SIZE, :SIZE]
    disc[(yy - SIZE // 2) ** 2 + (xx - SIZE // 2) ** 2 < (SIZE // 5) ** 2] = 1
    left = main.copy()
    left[:, : SIZE // 2] = cv2.GaussianBlur(main, (0, 0), 4)[:, : SIZE // 2]
    right = main.copy()
    right[:, SIZE // 2 :] = cv2.GaussianBlur(main, (0, 0), 4)[:, SIZE // 2 :]
    return {"main": main, "other": other, "disc": disc, "left": left, "right": right}


DENOISE = {"enhance.nl_means", "enhance.bilateral", "enhance.median", "enhance.gaussian",
           "enhance.tv_denoise", "enhance.wavelet_denoise", "enhance.anisotropic_diffusion",
           "restore.dictionary_denoise"}
DECONVOLVE = {"restore.wiener", "restore.unsupervised_wiener", "restore.pseudo_inverse",
              "restore.cls"}


def prepared_input(op_id: str, s: dict[str, np.ndarray]) -> tuple[np.ndarray, dict]:
    """The 'before' image an op is shown on (damaged for restorations) and extra params."""
    main = s["main"]
    if op_id in DENOISE:
        return api.run("restore.add_noise", main, mode="gaussian", amount=0.08), {}
    if op_id in DECONVOLVE:
        spec = api.get_operation(op_id)
        size = spec.param("size").default
        return api.run("restore.blur", main, psf="box", size=size), {}
    if op_id == "restore.mrf_denoise":
        binary = (api.run("basic.grayscale", main) > 128).astype(np.uint8) * 255
        return api.run("restore.add_noise", binary, mode="s&p", amount=0.1), {}
    if op_id == "restore.inpaint":
        damaged = main.copy()
        damaged[s["disc"] > 0] = 0
        return damaged, {}
    if op_id == "restore.stego_hide":
        return main, {"message": "hidden by imgstudio"}
    if op_id == "restore.stego_reveal":
        return api.run("restore.stego_hide", main, message="hidden by imgstudio"), {}
    return main, {}


def inputs_for(spec, s: dict[str, np.ndarray]) -> dict:
    """Extra layer inputs for ``spec`` made from the samples (None when one cannot be made)."""
    out = {}
    for ispec in spec.inputs[1:]:
        if ispec.kind == LayerKind.IMAGE and ispec.many:
            out[ispec.name] = [s["left"], s["right"]]
        elif ispec.kind == LayerKind.IMAGE:
            out[ispec.name] = s["other"]
        elif ispec.kind == LayerKind.LABELS:
            out[ispec.name] = s["disc"]
        elif not ispec.optional:
            return None
    return out


def to_display(value) -> np.ndarray | None:
    """A uint8 RGB picture of an op's output (labels coloured, floats rescaled)."""
    from skimage.color import label2rgb

    if isinstance(value, Result) or hasattr(value, "__dataclass_fields__"):
        for name, kind in layer_fields(type(value)):
            if kind in (LayerKind.IMAGE, LayerKind.LABELS):
                return to_display(getattr(value, name))
        return None
    if not isinstance(value, np.ndarray) or value.ndim < 2:
        return None
    if np.issubdtype(value.dtype, np.integer) and value.ndim == 2 and value.max(initial=0) < 4096 \
            and value.dtype not in (np.uint8, np.uint16):
        return (label2rgb(value, bg_label=0) * 255).astype(np.uint8)
    arr = value.astype(np.float64)
    if value.dtype == np.uint8:
        arr /= 255
    elif value.dtype == np.uint16:
        arr /= 65535
    else:
        lo, hi = np.nanpercentile(arr, 0.5), np.nanpercentile(arr, 99.5)
        arr = (arr - lo) / (hi - lo) if hi > lo else arr * 0
    arr = (np.clip(arr, 0, 1) * 255).astype(np.uint8)
    if arr.ndim == 2:
        arr = np.stack([arr] * 3, axis=-1)
    return arr[..., :3]


def side_by_side(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    import cv2

    after = cv2.resize(after, (SIZE * after.shape[1] // after.shape[0], SIZE),
                       interpolation=cv2.INTER_AREA) if after.shape[0] != SIZE else after
    gap = np.full((SIZE, 8, 3), 255, np.uint8)
    return np.concatenate([before, gap, after], axis=1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", default="artistic,enhance,edges,restore")
    parser.add_argument("--out", default=str(ROOT / "docs" / "gallery"))
    args = parser.parse_args(argv)
    families = [f.strip() for f in args.families.split(",") if f.strip()]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    s = samples()
    rows = ["# Gallery", "",
            f"Every operation of the families {', '.join(families)} on a {SIZE}×{SIZE} sample, "
            "with its default parameters; denoisers get a noisy input, deconvolutions a "
            "blurred one, inpainting a damaged one. Made by `make gallery` (scripts/make_gallery.py).", "",
            "| operation | before / after | parameters | time |", "|---|---|---|---|"]
    for spec in api.list_operations():
        if spec.family not in families:
            continue
        extra = inputs_for(spec, s)
        before, shown = prepared_input(spec.id, s)
        params = {**spec.defaults(), **shown}
        if extra is None or any(p.required and p.name not in shown for p in spec.params):
            rows.append(f"| `{spec.id}` | (needs inputs the gallery cannot make) | | |")
            continue
        first = spec.inputs[0] if spec.inputs else None
        args_ = []
        if first is not None:
            args_ = [[s["left"], s["right"]]] if first.many else [before]
        started = time.perf_counter()
        try:
            result = api.run(spec.id, *args_, **extra, **shown)
        except (ValueError, OSError) as exc:
            rows.append(f"| `{spec.id}` | not shown: {exc} | | |")
            continue
        elapsed = time.perf_counter() - started
        picture = to_display(result)
        shown_params = json.dumps(plain_params(params))
        if picture is None:
            text = json.dumps(result.to_json() if hasattr(result, "to_json") else str(result))
            rows.append(f"| `{spec.id}` | result: `{text[:120]}` | `{shown_params}` | "
                        f"{elapsed * 1e3:.0f} ms |")
            continue
        name = spec.id.replace(".", "_") + ".png"
        if first is not None and first.many:
            before = s["left"]
        api.save_image(out / name, side_by_side(to_display(before), picture))
        rows.append(f"| `{spec.id}` — {spec.title} | ![{spec.id}]({name}) | `{shown_params}` | "
                    f"{elapsed * 1e3:.0f} ms |")
    (out / "index.md").write_text("\n".join(rows) + "\n", encoding="utf-8")
    print(f"wrote {out / 'index.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
