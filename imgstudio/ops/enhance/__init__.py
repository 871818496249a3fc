"""Enhancement operations: denoising, smoothing and sharpening, histograms, frequency filters,
and combining layers (seamless cloning, pyramid blending, focus stacking).

Every function takes its image first and keyword-only parameters, never mutates its inputs,
returns the input's dtype and carries alpha through untouched. OpenCV, scikit-image, SciPy and
PyWavelets are imported inside the functions so that discovering operations stays cheap.
"""

from imgstudio.ops.enhance.composite import focus_stack, pyramid_blend, seamless_clone
from imgstudio.ops.enhance.contrast import clahe, histogram_equalize, histogram_match
from imgstudio.ops.enhance.denoise import (
    anisotropic_diffusion,
    nl_means,
    tv_denoise,
    wavelet_denoise,
)
from imgstudio.ops.enhance.frequency import frequency_filter
from imgstudio.ops.enhance.smooth import bilateral, gaussian, median, unsharp_mask

__all__ = [
    "anisotropic_diffusion", "bilateral", "clahe", "focus_stack", "frequency_filter", "gaussian",
    "histogram_equalize", "histogram_match", "median", "nl_means", "pyramid_blend",
    "seamless_clone", "tv_denoise", "unsharp_mask", "wavelet_denoise",
]
