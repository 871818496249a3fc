"""classify.imagenet: the 1,000 ImageNet classes with EfficientNet-Lite0 (shipped by a registry
package) or a torchvision network whose weights are in the model store."""

from __future__ import annotations

from typing import Annotated, Literal

from imgstudio.core.progress import Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import Classes, Image, Range, check_image
from imgstudio.models import loading
from imgstudio.ops import _torchvision as tvops
from imgstudio.ops._pixels import token

Arch = Literal["efficientnet_lite0", "mobilenet_v2", "resnet50", "vgg16", "inception_v3"]


@operation("classify.imagenet", title="Classify (ImageNet)", menu="Analyze/Classify")
def imagenet(
    image: Image,
    *,
    arch: Arch = "efficientnet_lite0",
    top_k: Annotated[int, Range(1, 1000)] = 5,
    progress: Progress | None = None,
) -> Classes:
    """Name what the photo shows: the most likely of the 1,000 ImageNet classes.

    The network sees the image as RGB (grey repeated, alpha ignored), its shorter side resized
    to 256 px and the central 224 × 224 (``inception_v3``: 342 px, 299 × 299), normalised as
    its weights were trained.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image (aspect ratio at most 100:1).
    arch : {"efficientnet_lite0", "mobilenet_v2", "resnet50", "vgg16", "inception_v3"}
        The network. ``efficientnet_lite0``: Google's EfficientNet-Lite0 (75 % top-1 on
        ImageNet), weights installed with the ``dl`` extra (model ``efficientnet-lite0``).
        The others are torchvision's ImageNet networks, whose weights (models
        ``mobilenet-v2-imagenet``, ``resnet50-imagenet``, ``vgg16-imagenet``,
        ``inception-v3-imagenet``) are not shipped: import torchvision's file with
        ``imgstudio models import FILE --name NAME`` or keep it in the torch hub cache.
    top_k : int
        How many classes to return.
    progress : Progress, optional
        Progress and cancellation.

    Returns
    -------
    Classes
        The ``top_k`` classes, most probable first, with their softmax probabilities.
    """
    image = check_image(image)
    if arch not in tvops.CLASSIFIERS:
        raise ValueError(f"arch must be one of {', '.join(tvops.CLASSIFIERS)}; got {arch!r}")
    progress = token(progress)
    spec = tvops.CLASSIFIERS[arch]
    what = "classify.imagenet"
    loaded = tvops.load(arch, spec.model, progress, what)
    torch = loading.torch(what)
    progress(0.3, f"classifying ({arch})")
    x = tvops.classifier_input(tvops.rgb_tensor(image, loaded.device, what), spec, what)
    progress.check()
    with loaded.lock, torch.no_grad():
        logits = loaded.model(x)[0]
    probs = torch.softmax(logits.float(), 0)
    names = tvops.class_names(loaded.located, len(probs), what)
    values, indices = probs.topk(min(top_k, len(probs)))
    progress(1.0, "classified")
    return Classes(items=[(names[i], float(p)) for p, i in zip(values.tolist(), indices.tolist(),
                                                               strict=True)])
