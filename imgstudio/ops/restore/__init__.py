"""Restoration operations: degradation (blur, noise), deconvolution, binary MRF denoising,
inpainting, dictionary-learning denoising, wavelet compression and LSB steganography.

Every function takes an ``Image`` first and keyword-only parameters, never mutates its input and
returns the input's dtype unless its docstring says otherwise. Colour images are processed per
channel (or as colour patches) with an alpha channel carried through. OpenCV, scikit-image,
SciPy, scikit-learn and PyWavelets are imported inside the functions.
"""

from imgstudio.ops.restore._common import make_psf
from imgstudio.ops.restore.deconv import (
    add_noise,
    blur,
    cls,
    pseudo_inverse,
    unsupervised_wiener,
    wiener,
)
from imgstudio.ops.restore.dictionary import dictionary_denoise
from imgstudio.ops.restore.inpaint import inpaint
from imgstudio.ops.restore.mrf import mrf_denoise
from imgstudio.ops.restore.stego import stego_hide, stego_reveal
from imgstudio.ops.restore.wavelet import WaveletCompressed, wavelet_compress

__all__ = [
    "WaveletCompressed", "add_noise", "blur", "cls", "dictionary_denoise", "inpaint",
    "make_psf", "mrf_denoise", "pseudo_inverse", "stego_hide", "stego_reveal",
    "unsupervised_wiener", "wavelet_compress", "wiener",
]
