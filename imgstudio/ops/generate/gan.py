"""generate.gan_sample: a grid of images drawn by a trained GAN's generator."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np

from imgstudio.core.editor import Editor
from imgstudio.core.progress import Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import Image, Range
from imgstudio.ops._params import Seed
from imgstudio.ops._pixels import token


def load_generator(model: str, progress: Progress | None = None) -> tuple[Any, dict[str, Any]]:
    """The generator of model ``model`` (a store name or a weights file with its card), built
    from the card's config, in eval mode, cached per process; and the config."""
    from imgstudio.models import store
    from imgstudio.models.nets import gan as nets
    from imgstudio.ops import _training as tr

    if not isinstance(model, str) or not model.strip():
        raise ValueError(f"model must be a model store name or a weights file; got {model!r}")
    loaded = tr.find_trained(model, nets.ARCHITECTURE)

    def build() -> tuple[Any, dict[str, Any]]:
        config = nets.check_config(loaded.config)
        net = nets.Generator(config["size"], config["z_dim"], config["width"])
        try:
            net.load_state_dict(tr.sub_state(loaded.tensors, "generator"))
        except (RuntimeError, ValueError) as exc:
            raise ValueError(f"model: {loaded.name!r} ({loaded.path}) does not hold the "
                             f"generator its config describes "
                             f"({str(exc).splitlines()[0]})") from None
        return net.eval(), config

    (net, config), _, built = store.cached(("generate.gan", str(loaded.path), loaded.sha256),
                                           build)
    if built and progress is not None:
        progress(0.0, f"loaded model {loaded.name}")
    return net, config


@operation("generate.gan_sample", title="GAN samples", menu="Filters/Generate",
           editor=Editor(preview="apply"))
def gan_sample(
    *,
    model: str = "gan-default",
    count: Annotated[int, Range(1, 1024)] = 16,
    seed: Seed = 0,
    progress: Progress | None = None,
) -> Image:
    """Draw new images with a trained GAN: random latents through its generator.

    ``count`` latents are drawn from the standard normal (NumPy's PCG64 seeded by ``seed``:
    the same seed gives the same images, and fewer samples are the first ones of more) and
    run through the generator (batch normalisation with the statistics it learned), sixteen
    at a time; the samples are laid out in a grid about as wide as tall (⌈√count⌉ columns,
    1-pixel black gaps), filled in as they are made. The shipped ``gan-default`` was trained
    by ``scripts/train/gan_default.py`` on 1,500 of scikit-learn's digits at 16×16.

    Parameters
    ----------
    model : str
        A model store name of a ``train.gan`` model, or its weights file (``.pt``, with its
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
    from imgstudio.ops._training import check_seed
    from imgstudio.ops.generate._latent import GridFiller, check_count, latents, to_uint8_images

    progress = token(progress)
    count, seed = check_count(count), check_seed(seed)
    net, config = load_generator(model, progress)
    torch = _torch()
    z = torch.from_numpy(latents(count, config["z_dim"], seed))

    def make(chunk: Any) -> np.ndarray:
        with torch.inference_mode():
            return to_uint8_images(net(chunk))

    return GridFiller(count, config["size"]).fill(make, z, progress)


def _torch() -> Any:
    from imgstudio.models import loading

    return loading.torch("generate.gan_sample")
