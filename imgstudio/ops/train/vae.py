"""train.vae: a convolutional variational autoencoder trained on a dataset of small images."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from imgstudio.core.editor import Editor, Training
from imgstudio.core.progress import Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import Range, Trained
from imgstudio.ops._params import Seed
from imgstudio.ops._pixels import token

#: Latent samples shown in the per-epoch preview (a 4×4 grid).
PREVIEW = 16


@operation("train.vae", title="Train a VAE", menu="Tools/Train",
           editor=Editor(preview="apply", training=Training(
               uses={"generate.vae_sample": "model", "generate.vae_interpolate": "model"},
               plot=("loss", "reconstruction", "kl"))))
def train_vae(
    *,
    dataset: str = "digits",
    epochs: Annotated[int, Range(1, 10_000)] = 50,
    batch_size: Annotated[int, Range(1, 4096)] = 64,
    seed: Seed = 0,
    output: Path | None = None,
    name: str = "my-vae",
    resume: bool = False,
    learning_rate: Annotated[float, Range(1e-6, 1.0)] = 1e-3,
    z_dim: Annotated[int, Range(1, 512)] = 8,
    size: Annotated[int, Range(8, 128)] | None = None,
    limit: Annotated[int, Range(2, 1_000_000)] | None = None,
    progress: Progress | None = None,
) -> Trained:
    """Train a variational autoencoder (Kingma & Welling) that learns to encode an image as a
    few numbers and to draw new images from them.

    The encoder (two stride-2 convolutions and a 128-unit layer, see
    :mod:`imgstudio.models.nets.vae`) gives each image a Gaussian posterior ``q(z|x)`` over
    ``z_dim`` latent numbers; the decoder turns a latent back into pixel probabilities. Each
    batch minimises the negative evidence lower bound per image: the binary cross-entropy of
    the decoded image against the pixels (summed over pixels; grey values are soft targets)
    plus the KL divergence of the posterior from the standard normal prior, with one
    reparameterised sample ``z = μ + σ·ε`` per image; Adam optimiser. Runs on the CPU.

    After every epoch a checkpoint is written beside ``output`` (``.ckpt``): Cancel keeps the
    last finished epoch and ``resume`` continues from it exactly (same weights as an
    uninterrupted run). The preview shows 16 images decoded from fixed latents. The model
    is registered in the model store under ``name`` for ``generate.vae_sample`` and
    ``generate.vae_interpolate``; it keeps the encoder (for interpolation) and the decoder.
    On scikit-learn's digits at 16×16 it draws clear digits after about 50 epochs (about
    20 seconds on one CPU core).

    Parameters
    ----------
    dataset : str
        ``digits`` (scikit-learn's 1,797 handwritten digits), ``fashion_mnist`` (60,000
        clothing pictures, from Debian's ``dataset-fashion-mnist``) or a folder: every image
        under it, made grey.
    epochs : int
        Passes over the data in all (with ``resume``: the total to reach, counting the
        epochs already done).
    batch_size : int
        Images per optimiser step.
    seed : int
        Seed of the weight initialisation, the shuffles and the latent noise: the same seed
        and settings give the same weights.
    output : pathlib.Path, optional
        The weights file to write (``.pt``); by default ``NAME.pt`` in the user's model
        folder. Its card (``.json``) is written beside it.
    name : str
        The name the model is registered under in the model store.
    resume : bool
        Continue the training saved in ``output``'s checkpoint (the same settings) up to
        ``epochs``.
    learning_rate : float
        Adam's step size.
    z_dim : int
        Latent numbers per image: few give blurrier but smoother images.
    size : int, optional
        Side of the square images the model works at, a multiple of 4; automatic: 16 for
        digits (enlarged from 8×8), 28 for fashion_mnist, 32 for a folder.
    limit : int, optional
        Train on the first ``limit`` images only (all when unset).
    progress : Progress, optional
        Progress per batch, cancellation between batches, and per-epoch reports (the
        measures and a preview grid).

    Returns
    -------
    Trained
        The registered model's name and file, the per-epoch ``loss`` (negative ELBO per
        image), ``reconstruction`` and ``kl`` (its two terms) and seconds, and the last
        epoch's measures as ``metrics``.
    """
    from imgstudio.ops import _training as tr
    from imgstudio.ops.train import _generative as gen

    progress = token(progress)
    target = gen.check_common(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                              z_dim=z_dim, size=size, limit=limit, name=name, output=output)
    seed = tr.check_seed(seed)
    data = gen.load(dataset, size, limit)
    progress(0.0, f"training a VAE on {data.description}")

    from imgstudio.models.nets import vae as nets
    from imgstudio.ops.generate._latent import latents, to_uint8_images

    torch = nets.torch
    functional = torch.nn.functional
    generator = tr.seeded(seed, "train.vae")
    config = {"size": data.size, "z_dim": int(z_dim), "width": 32, "hidden": 128,
              "background": data.background}
    encoder, decoder = nets.build(config)
    optimizer = torch.optim.Adam([*encoder.parameters(), *decoder.parameters()],
                                 lr=float(learning_rate))
    session = tr.Session("vae", {"encoder": encoder, "decoder": decoder},
                         {"adam": optimizer}, config, generator, keep=("encoder", "decoder"))
    x = data.x
    fixed = torch.from_numpy(latents(PREVIEW, z_dim, seed))

    def run_epoch(epoch: int, sub: Progress) -> dict[str, float]:
        parts = gen.batches(len(x), batch_size, generator)
        totals = [0.0, 0.0]
        for i, index in enumerate(parts):
            xb = x[index]
            mu, logvar = encoder(xb)
            z = mu + torch.randn(mu.shape, generator=generator) * torch.exp(0.5 * logvar)
            rec = functional.binary_cross_entropy_with_logits(decoder(z), xb,
                                                             reduction="sum") / len(xb)
            kl = -0.5 * torch.sum(1.0 + logvar - mu * mu - torch.exp(logvar)) / len(xb)
            loss = rec + kl
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            totals[0] += rec.item() * len(xb)
            totals[1] += kl.item() * len(xb)
            sub((i + 1) / len(parts), f"batch {i + 1}/{len(parts)}, loss {loss.item():.4g}")
        n = sum(len(p) for p in parts)
        return {"loss": (totals[0] + totals[1]) / n, "reconstruction": totals[0] / n,
                "kl": totals[1] / n}

    def preview():
        with torch.no_grad():
            images = to_uint8_images(torch.sigmoid(decoder(fixed)))
        return tr.grid(images)

    tr.fit(session, epochs=int(epochs), checkpoint=tr.checkpoint_path(target), resume=resume,
           run_epoch=run_epoch, progress=progress, preview=preview)
    metrics = {k: session.history[k][-1] for k in ("loss", "reconstruction", "kl")
               if session.history.get(k)}
    return tr.register(session, name=name, output=target, dataset=data.description, seed=seed,
                       metrics=metrics, architecture=nets.ARCHITECTURE)
