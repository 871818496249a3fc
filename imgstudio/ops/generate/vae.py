"""generate.vae_sample and generate.vae_interpolate: images decoded by a trained VAE."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np

from imgstudio.core.editor import Editor
from imgstudio.core.progress import Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import Image, Range
from imgstudio.ops._params import Seed
from imgstudio.ops._pixels import token


def load_vae(model: str, progress: Progress | None = None) -> tuple[Any, Any, dict[str, Any]]:
    """The encoder and decoder of model ``model`` (a store name or a weights file with its
    card), built from the card's config, in eval mode, cached per process; and the config."""
    from imgstudio.models import store
    from imgstudio.models.nets import vae as nets
    from imgstudio.ops import _training as tr

    if not isinstance(model, str) or not model.strip():
        raise ValueError(f"model must be a model store name or a weights file; got {model!r}")
    loaded = tr.find_trained(model, nets.ARCHITECTURE)

    def build() -> tuple[Any, Any, dict[str, Any]]:
        config = nets.check_config(loaded.config)
        encoder, decoder = nets.build(config)
        try:
            encoder.load_state_dict(tr.sub_state(loaded.tensors, "encoder"))
            decoder.load_state_dict(tr.sub_state(loaded.tensors, "decoder"))
        except (RuntimeError, ValueError) as exc:
            raise ValueError(f"model: {loaded.name!r} ({loaded.path}) does not hold the "
                             f"encoder and decoder its config describes "
                             f"({str(exc).splitlines()[0]})") from None
        return encoder.eval(), decoder.eval(), config

    (encoder, decoder, config), _, built = store.cached(
        ("generate.vae", str(loaded.path), loaded.sha256), build)
    if built and progress is not None:
        progress(0.0, f"loaded model {loaded.name}")
    return encoder, decoder, config


def _decoder_fn(decoder: Any) -> Any:
    from imgstudio.models import loading
    from imgstudio.ops.generate._latent import to_uint8_images

    torch = loading.torch("the VAE")

    def make(z: Any) -> np.ndarray:
        with torch.inference_mode():
            return to_uint8_images(torch.sigmoid(decoder(z)))

    return make


@operation("generate.vae_sample", title="VAE samples", menu="Filters/Generate",
           editor=Editor(preview="apply"))
def vae_sample(
    *,
    model: str = "vae-default",
    count: Annotated[int, Range(1, 1024)] = 16,
    seed: Seed = 0,
    progress: Progress | None = None,
) -> Image:
    """Draw new images with a trained VAE: latents from its prior through its decoder.

    ``count`` latents are drawn from the standard normal prior (NumPy's PCG64 seeded by
    ``seed``: the same seed gives the same images, and fewer samples are the first ones of
    more) and decoded sixteen at a time; each image is the decoder's pixel probabilities (the
    mean of its Bernoulli likelihood). The samples are laid out in a grid about as wide as
    tall (⌈√count⌉ columns, 1-pixel black gaps), filled in as they are made. The shipped
    ``vae-default`` was trained by ``scripts/train/vae_default.py`` on 1,500 of
    scikit-learn's digits at 16×16.

    Parameters
    ----------
    model : str
        A model store name of a ``train.vae`` model, or its weights file (``.pt``, with its
        ``.json`` card beside it).
    count : int
        Images to draw.
    seed : int
        Seed of the latents.
    progress : Progress, optional
        Progress, cancellation between batches and a ``"sample"`` report per image (the grid
        so far).

    Returns
    -------
    Image
        uint8 grey grid of the samples.
    """
    from imgstudio.models import loading
    from imgstudio.ops._training import check_seed
    from imgstudio.ops.generate._latent import GridFiller, check_count, latents

    progress = token(progress)
    count, seed = check_count(count), check_seed(seed)
    _, decoder, config = load_vae(model, progress)
    torch = loading.torch("generate.vae_sample")
    z = torch.from_numpy(latents(count, config["z_dim"], seed))
    return GridFiller(count, config["size"]).fill(_decoder_fn(decoder), z, progress)


@operation("generate.vae_interpolate", title="VAE interpolation", menu="Filters/Generate")
def vae_interpolate(
    image: Image,
    other: Image,
    *,
    model: str = "vae-default",
    steps: Annotated[int, Range(2, 64)] = 8,
    progress: Progress | None = None,
) -> Image:
    """Morph one image into another through a trained VAE's latent space.

    Both images are made to look like the model's training data (grey; inverted when their
    border's brightness is on the other side of the data's background, so a dark digit on
    white paper becomes a bright one on black; padded to a square; resized to the model's
    size), encoded to their posterior means, and ``steps`` latents evenly spaced on the
    straight line between the two (both ends included) are decoded. The first and last
    images are the model's reconstructions of the two inputs.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Where the strip starts (for the digits model: one digit filling the image).
    other : (H, W[, 3|4]) ndarray
        Where the strip ends.
    model : str
        A model store name of a ``train.vae`` model, or its weights file (``.pt``, with its
        ``.json`` card beside it).
    steps : int
        Images in the strip, the two ends included.
    progress : Progress, optional
        Progress and a ``"sample"`` report per image (the strip so far).

    Returns
    -------
    Image
        uint8 grey strip: ``steps`` images in one row, 1-pixel black gaps.
    """
    from imgstudio.core.types import check_image
    from imgstudio.models import loading
    from imgstudio.ops.generate._latent import GridFiller, check_count, like_training

    progress = token(progress)
    image, other = check_image(image), check_image(other)
    steps = check_count(steps, "steps", 2, 64)
    encoder, decoder, config = load_vae(model, progress)
    torch = loading.torch("generate.vae_interpolate")
    size, background = config["size"], config.get("background", "dark")
    pair = np.stack([like_training(image, size, background), like_training(other, size, background)])
    with torch.inference_mode():
        mu, _ = encoder(torch.from_numpy(pair)[:, None])
    t = torch.linspace(0.0, 1.0, steps)[:, None]
    z = (1.0 - t) * mu[0] + t * mu[1]
    return GridFiller(steps, size, columns=steps).fill(_decoder_fn(decoder), z, progress,
                                                       what="image")
