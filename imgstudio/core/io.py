"""Read and write images: PNG, JPEG, TIFF, BMP, WebP and medical formats (DICOM, NRRD, NIfTI, MHA).

Every image crosses this boundary as an :data:`imgstudio.core.types.Image`: a numpy array of
shape ``(H, W)`` gray, ``(H, W, 3)`` RGB or ``(H, W, 4)`` RGBA, in **RGB order** (never BGR).

Reading
    The format is detected from the file's first bytes (magic numbers); the extension is only
    used for formats without a reliable signature (MetaImage, DICOM without its preamble).
    Content wins over the name: a PNG file called ``x.tif`` loads as a PNG, a NIfTI file (plain
    or gzipped) loads whatever its name. Only regular files are read (symlinks are followed):
    a FIFO or a device is refused, never opened for reading, so it cannot hang the caller.

    Every reader checks the size that the header declares against the one pixel limit
    (``$IMGSTUDIO_MAX_PIXELS``, :func:`imgstudio.core.limits.check_pixels`) before it decodes
    anything, and checks that the file holds all the data the header announces: a truncated
    file raises :class:`ImageIOError` ("truncated ...") instead of loading with grey or zero
    filler. The dtype rule for data other than ``uint8``/``uint16``/``float32`` (``int16`` CT
    data becomes ``uint16`` + 32768, ...) is given in :func:`load_image`.

    JPEG and WebP files have their EXIF orientation applied. Medical images are returned in
    stored pixel order (row = second-to-last index); direction cosines and spacing are ignored.
    Only 2D images are supported: a 3D volume loads only when one of its dimensions is 1.

Writing
    The format comes from the extension. PNG stores ``uint8``/``uint16``; TIFF ``uint8``,
    ``uint16``/``float32``; JPEG, BMP and WebP ``uint8`` only; NRRD, NIfTI and MetaImage
    ``uint8``, ``int16``, ``uint16`` and ``float32``; DICOM gray ``uint8``, ``int16`` and
    ``uint16`` and RGB ``uint8`` (a minimal secondary-capture-like file: pixels only, no patient
    or study data). Nothing is converted silently: an image the format cannot store raises
    ``ValueError``. Files are written atomically (to a temporary directory next to the target,
    then moved with :func:`os.replace`), so a failed save never leaves a partial file or
    damages an existing one.

OpenCV, Pillow, tifffile and SimpleITK are imported inside the functions that use them, so
importing this module costs only numpy.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable
from pathlib import Path

import numpy as np

from imgstudio.core.atomic import atomic_write, atomic_write_text
from imgstudio.core.io_medical import (
    ImageIOError,
    gzip_nifti,
    nifti_kind,
    read_sitk,
    regular_file,
    write_sitk,
)
from imgstudio.core.io_medical import extension as _extension
from imgstudio.core.io_raster import RASTER_FORMATS, bgr_to_rgb, read_raster
from imgstudio.core.limits import max_pixels
from imgstudio.core.types import IMAGE_DTYPES

__all__ = [
    "SUPPORTED_READ_EXTENSIONS",
    "SUPPORTED_WRITE_EXTENSIONS",
    "ImageIOError",
    "atomic_write",
    "atomic_write_text",
    "load_image",
    "save_image",
]

_EXTENSION_FORMATS = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".jpe": "JPEG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".bmp": "BMP",
    ".webp": "WebP",
    ".dcm": "DICOM",
    ".nrrd": "NRRD",
    ".nhdr": "NRRD",
    ".nii": "NIfTI",
    ".nii.gz": "NIfTI",
    ".mha": "MetaImage",
    ".mhd": "MetaImage",
}

SUPPORTED_READ_EXTENSIONS: tuple[str, ...] = tuple(_EXTENSION_FORMATS)
"""Lowercase extensions (with the dot) that :func:`load_image` reads, for file dialogs."""

SUPPORTED_WRITE_EXTENSIONS: tuple[str, ...] = tuple(
    ext for ext in _EXTENSION_FORMATS if ext != ".nhdr"
)
"""Lowercase extensions (with the dot) that :func:`save_image` writes, for file dialogs."""

# Dtypes each format can store; the first group of formats is written by OpenCV/Pillow.
_U8, _U16, _I16, _F32 = (np.dtype(t) for t in (np.uint8, np.uint16, np.int16, np.float32))
_WRITE_DTYPES = {
    "PNG": (_U8, _U16),
    "TIFF": (_U8, _U16, _F32),
    "JPEG": (_U8,),
    "BMP": (_U8,),
    "WebP": (_U8,),
    "NRRD": (_U8, _I16, _U16, _F32),
    "NIfTI": (_U8, _I16, _U16, _F32),
    "MetaImage": (_U8, _I16, _U16, _F32),
    "DICOM": (_U8, _I16, _U16),
}

# Formats recognised by extension alone when their content has no signature we check.
_EXTENSION_ONLY_FORMATS = ("DICOM", "NIfTI", "MetaImage")

_HEADER_BYTES = 1024


def _sniff(header: bytes) -> str | None:
    """Return the format whose signature starts ``header``, or None when none matches."""
    if header.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if header.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if header[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    if header.startswith(b"BM"):
        return "BMP"
    if header[:4] == b"RIFF" and header[8:12] == b"WEBP":
        return "WebP"
    if header[128:132] == b"DICM":
        return "DICOM"
    if header.startswith(b"NRRD000"):
        return "NRRD"
    if nifti_kind(header):  # a single .nii file, or the .hdr of a .hdr/.img pair
        return "NIfTI"
    if header.lstrip().startswith((b"ObjectType", b"NDims")):
        return "MetaImage"
    return None


def load_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an image file into an RGB(A) or gray numpy array.

    Parameters
    ----------
    path : str or os.PathLike
        File to read: PNG, JPEG, TIFF, BMP, WebP, DICOM, NRRD, NIfTI or MetaImage. The format
        is detected from the content first, then from the extension. It must be a regular file
        (a symlink is followed); a FIFO, device or directory is refused without being opened
        for reading.

    Returns
    -------
    image : (H, W), (H, W, 3) or (H, W, 4) ndarray
        Pixels in RGB(A) order, ``uint8``, ``uint16`` or ``float32``: the dtypes every
        operation and the editor take. ``uint8``, ``uint16`` and ``float32`` data keep their
        dtype and values; the others are mapped by one rule, never rescaled:

        - signed integers are shifted to the unsigned type of the same width: ``int16``
          becomes ``uint16`` by adding 32768 and ``int8`` becomes ``uint8`` by adding 128. For
          CT data the pixel value is then HU + 32768 (−1000 HU, air, is 31768). The shift
          keeps the order and every difference exactly, so window/level, thresholds and
          filters behave as on the signed data, and ``value - 32768`` gives the original back;
          a min–max rescale or a float conversion would make values depend on the file or
          lose the link to the stored numbers;
        - 32- and 64-bit integers become ``uint16`` when their values fit in 16 bits (signed
          ones shifted by 32768 as above, so they must lie in −32768..32767); otherwise the
          file is refused, naming the dtype and the range;
        - ``bool`` (1-bit) becomes ``uint8`` 0/255; ``float16`` and ``float64`` become
          ``float32``;
        - a palette image becomes RGB, or RGBA when it has transparency.

    Raises
    ------
    ImageIOError
        If the file is missing, not a regular file, empty, truncated, corrupt, in an unsupported
        format or pixel type, a volume with more than two non-trivial dimensions, or larger than
        the pixel limit (``$IMGSTUDIO_MAX_PIXELS``, see :mod:`imgstudio.core.limits`; checked
        from the header, before decoding). The message names the file.
    ValueError
        If ``$IMGSTUDIO_MAX_PIXELS`` is not a positive number.
    """
    path = Path(path)
    max_pixels()  # a malformed $IMGSTUDIO_MAX_PIXELS is reported as itself, not as a bad file
    header = _read_header(path)
    fmt = _detect_format(path, header)
    try:
        image = _read(path, fmt, header)
    except ImageIOError:
        raise
    except MemoryError as exc:
        raise ImageIOError(
            f"cannot read image {path}: not enough memory to decode this {fmt} file") from exc
    except Exception as exc:  # the readers raise many kinds (OSError, RuntimeError, cv2.error)
        raise ImageIOError(
            f"cannot read image {path}: corrupt or truncated {fmt} file{_error_detail(exc)}"
        ) from exc
    return _normalise(image, path)


def _read_header(path: Path) -> bytes:
    """The first bytes of ``path``, which must be a non-empty regular file."""
    regular_file(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)  # non-blocking: a FIFO swapped in since the check cannot hang
    except OSError as exc:
        raise ImageIOError(f"cannot read image {path}: {exc.strerror or exc}") from exc
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise ImageIOError(f"cannot read image {path}: not a regular file")
        header = handle.read(_HEADER_BYTES)
    if not header:
        raise ImageIOError(f"cannot read image {path}: the file is empty")
    return header


def _detect_format(path: Path, header: bytes) -> str:
    """The format of ``path``: its content's signature, else its extension."""
    fmt = _sniff(header)
    if fmt is None and header.startswith(b"\x1f\x8b") and gzip_nifti(path):
        fmt = "NIfTI"
    if fmt is None:
        fmt = _EXTENSION_FORMATS.get(_extension(path))
        if fmt not in _EXTENSION_ONLY_FORMATS:
            known = f"not a valid {fmt} file" if fmt else "unrecognised file format"
            raise ImageIOError(
                f"cannot read image {path}: {known} (supported: PNG, JPEG, TIFF, BMP, WebP, "
                "DICOM, NRRD, NIfTI, MHA/MHD)"
            )
    return fmt


def _error_detail(exc: BaseException) -> str:
    """Return the useful first line of a reader's error as `` (detail)``, or ``""``."""
    text = str(exc).strip()
    match = re.search(r"ITK ERROR: \w+\(0x[0-9a-fA-F]+\): (.*)", text)  # SimpleITK's long form
    line = match.group(1) if match else (text.splitlines() or [""])[0]
    return f" ({line.strip()})" if line.strip() else ""


def _read(path: Path, fmt: str, header: bytes) -> np.ndarray:
    """Decode ``path`` as ``fmt``: raster formats in :mod:`imgstudio.core.io_raster`, medical
    ones in :mod:`imgstudio.core.io_medical`; each checks the declared size first."""
    if fmt in RASTER_FORMATS:
        return read_raster(path, fmt, header)
    return read_sitk(path, fmt)


# --- conventions ------------------------------------------------------------------------------


def _normalise(image: np.ndarray, path: Path) -> np.ndarray:
    """Map a decoded array onto the Image conventions (shape and dtype), see :func:`load_image`."""
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 3 and image.shape[2] == 2:  # gray + alpha
        image = np.concatenate([image[:, :, :1]] * 3 + [image[:, :, 1:]], axis=2)
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (3, 4))):
        raise ImageIOError(
            f"cannot read image {path}: unsupported image shape {image.shape} "
            "(expected a 2D gray, RGB or RGBA image)"
        )
    if image.size == 0:
        raise ImageIOError(f"cannot read image {path}: the image has no pixels")
    if not image.dtype.isnative:
        image = image.astype(image.dtype.newbyteorder("="))
    image = _editor_dtype(image, path)
    if not (image.flags.writeable and image.flags.c_contiguous):  # Pillow's arrays are read-only
        image = np.array(image, order="C")
    return image


def _editor_dtype(image: np.ndarray, path: Path) -> np.ndarray:
    """Apply the dtype rule of :func:`load_image`: uint8, uint16 or float32 out, never rescaled."""
    dtype = image.dtype
    if dtype in IMAGE_DTYPES:
        return image
    if dtype == np.bool_:
        return image.astype(np.uint8) * np.uint8(255)
    if dtype.kind == "f":
        return image.astype(np.float32)
    if dtype.kind == "i" and dtype.itemsize in (1, 2):  # two's complement: flip the sign bit
        unsigned = np.dtype(f"u{dtype.itemsize}")
        return image.view(unsigned) ^ unsigned.type(1 << (8 * dtype.itemsize - 1))
    if dtype.kind in "iu":
        low, high = int(image.min()), int(image.max())
        shift = 32768 if dtype.kind == "i" else 0
        if 0 <= low + shift and high + shift <= 65535:
            return (image + shift).astype(np.uint16) if shift else image.astype(np.uint16)
        signed = " (shifted by 32768)" if shift else ""
        raise ImageIOError(
            f"cannot read image {path}: pixel type {dtype} with values {low}..{high} does not "
            f"fit in 16 bits{signed}; convert the file to 8- or 16-bit integers or float32")
    raise ImageIOError(f"cannot read image {path}: unsupported pixel type {dtype}")


def save_image(path: str | os.PathLike[str], image: np.ndarray) -> None:
    """Write an image to a file whose format is chosen by the extension, atomically.

    Parameters
    ----------
    path : str or os.PathLike
        Target file; one of :data:`SUPPORTED_WRITE_EXTENSIONS`. An existing file is replaced
        only once the new one is completely written.
    image : (H, W), (H, W, 3) or (H, W, 4) ndarray
        Gray, RGB or RGBA pixels in RGB order. PNG takes ``uint8``/``uint16``; TIFF ``uint8``,
        ``uint16``/``float32``; JPEG, BMP and WebP ``uint8`` only (JPEG without alpha; WebP
        stores gray as RGB, so it loads back as ``(H, W, 3)``); NRRD, NIfTI and MetaImage
        ``uint8``, ``int16``, ``uint16``/``float32``; DICOM gray ``uint8``/``int16``/``uint16``
        and RGB ``uint8``. JPEG is lossy (quality 95, no chroma subsampling); WebP is written
        lossless.

    Raises
    ------
    ValueError
        If the extension is not supported, or the format cannot store ``image`` (shape,
        channel count or dtype). Nothing is converted silently.
    TypeError
        If ``image`` is not a numpy array.
    ImageIOError
        If the file cannot be written (missing directory, no permission, encoder failure).
    """
    path = Path(path)
    fmt = _EXTENSION_FORMATS.get(_extension(path))
    if fmt is None or fmt not in _WRITE_DTYPES or _extension(path) == ".nhdr":
        raise ValueError(
            f"cannot save image {path}: unsupported extension {_extension(path)!r}; use one of "
            f"{', '.join(SUPPORTED_WRITE_EXTENSIONS)}"
        )
    _check_writable(image, fmt)
    image = np.ascontiguousarray(image)
    writers: dict[str, Callable[[Path, np.ndarray], None]] = {
        "PNG": _write_cv2,
        "BMP": _write_cv2,
        "JPEG": _write_jpeg,
        "WebP": _write_webp,
        "TIFF": _write_tiff,
    }
    writer = writers.get(fmt, write_sitk)
    try:
        atomic_write(path, lambda target: writer(target, image))
    except ImageIOError:
        raise
    except Exception as exc:  # OSError, cv2.error, RuntimeError from SimpleITK...
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc).strip()
        raise ImageIOError(f"cannot write image {path}: {detail}") from exc


def _check_writable(image: np.ndarray, fmt: str) -> None:
    """Raise if ``image`` is not an Image that ``fmt`` can store."""
    if not isinstance(image, np.ndarray):
        raise TypeError(f"image must be a numpy.ndarray; got {type(image).__name__}")
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (3, 4))):
        raise ValueError(f"image must have shape (H, W), (H, W, 3) or (H, W, 4); got {image.shape}")
    if image.size == 0:
        raise ValueError(f"image must not be empty; got shape {image.shape}")
    allowed = _WRITE_DTYPES[fmt]
    if image.dtype not in allowed:
        names = ", ".join(str(dtype) for dtype in allowed)
        hint = ""
        if fmt == "PNG" and image.dtype == np.float32:
            hint = "; save float32 images as TIFF (.tif) to keep them exact"
        elif image.dtype not in IMAGE_DTYPES + (_I16,):
            hint = "; convert it to uint8, uint16 or float32 first"
        raise ValueError(
            f"image dtype {image.dtype} cannot be saved as {fmt} (supported: {names}){hint}"
        )
    if fmt == "JPEG" and image.ndim == 3 and image.shape[2] == 4:
        raise ValueError("image has an alpha channel, which JPEG cannot store; use PNG or WebP")
    if fmt == "DICOM" and image.ndim == 3 and (image.shape[2] == 4 or image.dtype != _U8):
        raise ValueError(f"image of shape {image.shape} and dtype {image.dtype} cannot be saved "
                         "as DICOM (supported: gray uint8, int16 or uint16; RGB uint8)")


def _write_cv2(target: Path, image: np.ndarray) -> None:
    """Encode a PNG or BMP with OpenCV (keeps 16-bit PNG colour and BMP alpha)."""
    import cv2

    if image.ndim == 3:
        image = np.ascontiguousarray(bgr_to_rgb(image))  # the swap is its own inverse
    ok, encoded = cv2.imencode(target.suffix.lower(), image)
    if not ok:
        raise ImageIOError(f"cannot write image {target.name}: OpenCV could not encode it")
    encoded.tofile(target)


def _write_jpeg(target: Path, image: np.ndarray) -> None:
    """Write a JPEG with Pillow at quality 95 without chroma subsampling."""
    from PIL import Image

    Image.fromarray(image).save(target, format="JPEG", quality=95, subsampling=0)


def _write_webp(target: Path, image: np.ndarray) -> None:
    """Write a lossless WebP with Pillow, keeping colour under fully transparent pixels."""
    from PIL import Image

    Image.fromarray(image).save(target, format="WEBP", lossless=True, exact=True)


def _write_tiff(target: Path, image: np.ndarray) -> None:
    """Write a single-page, zlib-compressed TIFF with tifffile."""
    import tifffile

    photometric = "rgb" if image.ndim == 3 else "minisblack"
    extrasamples = ("unassalpha",) if image.ndim == 3 and image.shape[2] == 4 else None
    tifffile.imwrite(
        target,
        image,
        photometric=photometric,
        extrasamples=extrasamples,
        compression="zlib",
    )


