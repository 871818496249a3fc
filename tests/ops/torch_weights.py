"""Random-initialised torchvision detectors saved as weight files: no real weights can be
downloaded here, so the tests import these into a private model store."""

from __future__ import annotations

from pathlib import Path


def random_detector(arch: str, folder: Path, seed: int = 0):
    """``torchvision.models.detection.<arch>`` with random weights (``seed``), in eval mode,
    and the file its state dict was saved to in ``folder``."""
    import torch
    import torchvision

    torch.manual_seed(seed)
    model = getattr(torchvision.models.detection, arch)(weights=None,
                                                         weights_backbone=None).eval()
    path = Path(folder) / f"{arch}-random.pth"
    torch.save(model.state_dict(), path)
    return model, path
