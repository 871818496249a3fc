"""train.gan: a tiny DCGAN trained on a dataset of small images."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from imgstudio.core.editor import Editor, Training
from imgstudio.core.progress import Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import Range, Trained
from imgstudio.ops._params import Seed
from imgstudio.ops._pixels import token

#: Fixed-latent samples of the per-epoch preview (the first 16 are shown, all 64 measured).
PREVIEW = 64
SHOWN = 16
#: Training images the ``distance`` measure compares the samples with.
REFERENCE = 512
#: The discriminator's channels (the generator has 64).
D_WIDTH = 32


@operation("train.gan", title="Train a GAN", menu="Tools/Train",
           editor=Editor(preview="apply", training=Training(
               uses={"generate.gan_sample": "model"},
               plot=("loss_d", "loss_g", "distance"))))
def train_gan(
    *,
    dataset: str = "digits",
    epochs: Annotated[int, Range(1, 10_000)] = 100,
    batch_size: Annotated[int, Range(2, 4096)] = 64,
    seed: Seed = 0,
    output: Path | None = None,
    name: str = "my-gan",
    resume: bool = False,
    learning_rate: Annotated[float, Range(1e-6, 1.0)] = 2e-4,
    z_dim: Annotated[int, Range(1, 512)] = 32,
    size: Annotated[int, Range(8, 128)] | None = None,
    limit: Annotated[int, Range(2, 1_000_000)] | None = None,
    progress: Progress | None = None,
) -> Trained:
    """Train a generative adversarial network (a tiny DCGAN) that draws new images like the
    dataset's from random numbers.

    A generator (a linear layer and two stride-2 transposed convolutions with batch
    normalisation, see :mod:`imgstudio.models.nets.gan`) turns ``z_dim`` standard normal
    numbers into an image; a discriminator (two stride-2 convolutions) learns to tell real
    images from made ones. Each batch takes one Adam step (β₁ = 0.5, as in DCGAN) for the
    discriminator on the logistic loss of real images (target 0.9, one-sided label
    smoothing) and made ones (target 0), then one for the generator on the non-saturating
    loss ``−log D(G(z))``. Runs on the CPU.

    After every epoch a checkpoint is written beside ``output`` (``.ckpt``): Cancel keeps the
    last finished epoch and ``resume`` continues from it exactly. The preview shows 16
    samples of fixed latents. The model is registered in the model store under ``name`` for
    ``generate.gan_sample`` and keeps the generator only. On scikit-learn's digits at 16×16
    recognisable digits appear after about 50 epochs (about a minute on one CPU core),
    good ones after about 100.

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
        Real (and as many made) images per step; at least 2 (batch normalisation).
    seed : int
        Seed of the weight initialisation, the shuffles and the latents drawn in training:
        the same seed and settings give the same weights.
    output : pathlib.Path, optional
        The weights file to write (``.pt``); by default ``NAME.pt`` in the user's model
        folder. Its card (``.json``) is written beside it.
    name : str
        The name the model is registered under in the model store.
    resume : bool
        Continue the training saved in ``output``'s checkpoint (the same settings) up to
        ``epochs``.
    learning_rate : float
        Adam's step size, for both networks.
    z_dim : int
        Random numbers the generator draws an image from.
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
        The registered model's name and file; per epoch ``loss_d`` and ``loss_g`` (the two
        networks' mean losses), ``d_real`` and ``d_fake`` (the discriminator's mean
        probability that real and made images are real), ``distance`` (the mean Euclidean
        distance, pixels in [0, 1], from 64 fixed-latent samples to their nearest image among
        the first 512 training images: it falls as the samples come to look like the data)
        and seconds; the last epoch's measures as ``metrics``.
    """
    from imgstudio.ops import _training as tr
    from imgstudio.ops.train import _generative as gen

    progress = token(progress)
    if not isinstance(batch_size, int) or batch_size < 2:
        raise ValueError(f"batch_size must be at least 2 (batch normalisation); got {batch_size!r}")
    target = gen.check_common(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                              z_dim=z_dim, size=size, limit=limit, name=name, output=output)
    seed = tr.check_seed(seed)
    data = gen.load(dataset, size, limit)
    progress(0.0, f"training a GAN on {data.description}")

    from imgstudio.models.nets import gan as nets
    from imgstudio.ops.generate._latent import latents, to_uint8_images

    torch = nets.torch
    functional = torch.nn.functional
    generator = tr.seeded(seed, "train.gan")
    config = {"size": data.size, "z_dim": int(z_dim), "width": 64, "d_width": D_WIDTH}
    g_net, d_net = nets.build(config)
    betas = (0.5, 0.999)
    opt_g = torch.optim.Adam(g_net.parameters(), lr=float(learning_rate), betas=betas)
    opt_d = torch.optim.Adam(d_net.parameters(), lr=float(learning_rate), betas=betas)
    session = tr.Session("gan", {"generator": g_net, "discriminator": d_net},
                         {"generator": opt_g, "discriminator": opt_d}, config, generator,
                         keep=("generator",))
    x = data.x
    reference = x[:REFERENCE]
    fixed = torch.from_numpy(latents(PREVIEW, z_dim, seed))

    def run_epoch(epoch: int, sub: Progress) -> dict[str, float]:
        parts = gen.batches(len(x), batch_size, generator, smallest=2)
        sums = dict.fromkeys(("loss_d", "loss_g", "d_real", "d_fake"), 0.0)
        for i, index in enumerate(parts):
            real = x[index]
            b = len(real)
            fake = g_net(torch.randn((b, z_dim), generator=generator))
            real_logit, fake_logit = d_net(real), d_net(fake.detach())
            loss_d = functional.binary_cross_entropy_with_logits(
                real_logit, torch.full((b,), 0.9)) + \
                functional.binary_cross_entropy_with_logits(fake_logit, torch.zeros(b))
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
            loss_g = functional.binary_cross_entropy_with_logits(d_net(fake), torch.ones(b))
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()
            for key, value in (("loss_d", loss_d), ("loss_g", loss_g),
                               ("d_real", torch.sigmoid(real_logit).mean()),
                               ("d_fake", torch.sigmoid(fake_logit).mean())):
                sums[key] += value.item() * b
            sub((i + 1) / len(parts), f"batch {i + 1}/{len(parts)}, D {loss_d.item():.3g}, "
                                      f"G {loss_g.item():.3g}")
        n = sum(len(p) for p in parts)
        out = {k: v / n for k, v in sums.items()}
        g_net.eval()
        with torch.no_grad():
            out["distance"] = gen.nearest_distance(g_net(fixed), reference)
        g_net.train()
        return out

    def preview():
        with torch.no_grad():
            return tr.grid(to_uint8_images(g_net(fixed[:SHOWN])))

    tr.fit(session, epochs=int(epochs), checkpoint=tr.checkpoint_path(target), resume=resume,
           run_epoch=run_epoch, progress=progress, preview=preview)
    metrics = {k: session.history[k][-1] for k in ("loss_d", "loss_g", "distance")
               if session.history.get(k)}
    return tr.register(session, name=name, output=target, dataset=data.description, seed=seed,
                       metrics=metrics, architecture=nets.ARCHITECTURE)
