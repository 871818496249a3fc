"""Read and write images: PNG, JPEG, TIFF, BMP, WebP and medical formats (DICOM, NRRD, NIfTI, MHA).

Every image crosses this boundary as an :data:`imgstudio.core.types.Image`: a numpy array of
shape ``(H, W)`` gray, ``(H, W, 3)`` RGB or ``(H, W, 4)`` RGBA, in **RGB order** (never BGR).

Reading
    The format is detected from the file's first bytes (magic numbers); the extension is only
    used for formats without a reliable signature (MetaImage, gzipped NIfTI, DICOM without its
    preamble). Content wins over the name: a PNG file called ``x.tif`` loads as a PNG.
    Dtypes are kept: ``uint8``, ``uint16`` and ``float32`` come back unchanged. The few others
    a file can hold are mapped as follows, never rescaled:

    - ``bool`` (1-bit) becomes ``uint8`` with values 0 and 255;
    - ``float16`` and ``float64`` become ``float32``;
    - signed and 32/64-bit integers (``int16`` CT data, ``int32``, ...) are returned as they are;
      callers that need an editor dtype must convert them (the value range is data-specific).

    JPEG and WebP files have their EXIF orientation applied. Medical images are returned in
    stored pixel order (row = second-to-last index); direction cosines and spacing are ignored.
    Only 2D images are supported: a 3D volume loads only when one of its dimensions is 1.

Writing
    The format comes from the extension. PNG stores ``uint8``/``uint16``; TIFF ``uint8``,
    ``uint16``/``float32``; JPEG, BMP and WebP ``uint8`` only; NRRD, NIfTI and MetaImage
    ``uint8``, ``int16``, ``uint16`` and ``float32``. Nothing is converted silently: an image the
    format cannot store raises ``ValueError``. Files are written atomically (to a temporary
    directory next to the target, then moved with :func:`os.replace`), so a failed save never
    leaves a partial file or damages an existing one.

OpenCV, Pillow, tifffile and SimpleITK are imported inside the functions that use them, so
importing this module costs only numpy.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np

from imgstudio.core.atomic import atomic_write, atomic_write_text
from imgstudio.core.io_medical import ImageIOError, read_sitk, write_sitk
from imgstudio.core.io_medical import extension as _extension
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
    ext for ext, fmt in _EXTENSION_FORMATS.items() if fmt not in ("DICOM",) and ext != ".nhdr"
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
    if header[344:348] == b"n+1\x00" or header[4:8] == b"n+2\x00":
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
        is detected from the content first, then from the extension.

    Returns
    -------
    image : (H, W), (H, W, 3) or (H, W, 4) ndarray
        Pixels in RGB(A) order. ``uint8``, ``uint16`` and ``float32`` data keep their dtype;
        ``bool`` becomes ``uint8`` 0/255, ``float16``/``float64`` become ``float32`` and other
        integer dtypes (e.g. ``int16`` CT data) are returned unchanged. A palette image becomes
        RGB, or RGBA when it has transparency.

    Raises
    ------
    ImageIOError
        If the file is missing, empty, truncated, corrupt, in an unsupported format, or is a
        volume with more than two non-trivial dimensions. The message names the file.
    """
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            header = handle.read(_HEADER_BYTES)
    except FileNotFoundError:
        raise ImageIOError(f"cannot read image {path}: no such file") from None
    except OSError as exc:
        raise ImageIOError(f"cannot read image {path}: {exc.strerror or exc}") from exc
    if not header:
        raise ImageIOError(f"cannot read image {path}: the file is empty")

    fmt = _sniff(header)
    if fmt is None:
        fmt = _EXTENSION_FORMATS.get(_extension(path))
        if fmt not in _EXTENSION_ONLY_FORMATS:
            known = f"not a valid {fmt} file" if fmt else "unrecognised file format"
            raise ImageIOError(
                f"cannot read image {path}: {known} (supported: PNG, JPEG, TIFF, BMP, WebP, "
                "DICOM, NRRD, NIfTI, MHA/MHD)"
            )

    try:
        image = _read(path, fmt)
    except ImageIOError:
        raise
    except Exception as exc:  # the readers raise many kinds (OSError, RuntimeError, cv2.error)
        raise ImageIOError(
            f"cannot read image {path}: corrupt or truncated {fmt} file{_error_detail(exc)}"
        ) from exc
    return _normalise(image, path)


def _error_detail(exc: BaseException) -> str:
    """Return the useful first line of a reader's error as `` (detail)``, or ``""``."""
    text = str(exc).strip()
    match = re.search(r"ITK ERROR: \w+\(0x[0-9a-fA-F]+\): (.*)", text)  # SimpleITK's long form
    line = match.group(1) if match else (text.splitlines() or [""])[0]
    return f" ({line.strip()})" if line.strip() else ""


def _read(path: Path, fmt: str) -> np.ndarray:
    """Decode ``path`` as ``fmt`` with the library that handles it best."""
    if fmt == "PNG":
        return _read_png(path)
    if fmt == "TIFF":
        return _read_tiff(path)
    if fmt == "JPEG":
        fast = _read_jpeg_cv2(path)
        if fast is not None:
            return fast
    if fmt in ("JPEG", "BMP", "WebP"):
        return _read_pillow(path, fmt)
    return read_sitk(path, fmt)


def _read_jpeg_cv2(path: Path) -> np.ndarray | None:
    """Decode a complete 8-bit grey or RGB JPEG with OpenCV, or return None to use Pillow.

    OpenCV applies the EXIF orientation like Pillow does, and it releases the GIL while
    decoding, so the editor can open a large photo while it builds its window. Pillow stays
    the reader for other colour modes (CMYK, ...) and for truncated files, which it reports
    as errors where libjpeg would fill in grey.
    """
    import cv2
    from PIL import Image

    data = np.fromfile(path, dtype=np.uint8)
    tail = data[-64:].tobytes().rstrip(b"\x00\r\n ")
    if not tail.endswith(b"\xff\xd9"):  # no end-of-image marker: let Pillow explain
        return None
    try:
        with Image.open(path, formats=["JPEG"]) as header:  # reads the header only
            mode = header.mode
    except Exception:  # Pillow will report it properly
        return None
    if mode not in ("L", "RGB"):
        return None
    flag = cv2.IMREAD_GRAYSCALE if mode == "L" else cv2.IMREAD_COLOR
    image = cv2.imdecode(data, flag)
    if image is None:
        return None
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


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
    if image.dtype == np.bool_:
        image = image.astype(np.uint8) * np.uint8(255)
    elif image.dtype.kind == "f" and image.dtype != np.float32:
        image = image.astype(np.float32)
    elif image.dtype.kind not in "uif":
        raise ImageIOError(f"cannot read image {path}: unsupported pixel type {image.dtype}")
    if not image.dtype.isnative:
        image = image.astype(image.dtype.newbyteorder("="))
    if not (image.flags.writeable and image.flags.c_contiguous):  # Pillow's arrays are read-only
        image = np.array(image, order="C")
    return image


def _bgr_to_rgb(image: np.ndarray) -> np.ndarray:
    """Swap OpenCV's BGR(A) channel order to RGB(A); gray passes through."""
    if image.ndim == 3 and image.shape[2] == 3:
        return image[:, :, ::-1]
    if image.ndim == 3 and image.shape[2] == 4:
        return image[:, :, [2, 1, 0, 3]]
    return image


def _read_png(path: Path) -> np.ndarray:
    """Read a PNG with OpenCV, which (unlike Pillow) keeps 16-bit colour channels."""
    import cv2

    data = np.fromfile(path, dtype=np.uint8)  # cv2.imread cannot open non-ASCII paths everywhere
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ImageIOError(f"cannot read image {path}: corrupt or truncated PNG file")
    return _bgr_to_rgb(image)


def _pillow_to_array(image) -> np.ndarray:
    """Convert a loaded Pillow image to an array following the Image conventions."""
    mode = image.mode
    if mode in ("L", "RGB", "RGBA", "F") or mode.startswith("I;16"):
        return np.asarray(image)
    if mode == "1":
        return np.asarray(image.convert("L"))
    if mode == "I":
        return np.asarray(image)
    if mode in ("P", "PA"):
        has_alpha = mode == "PA" or "transparency" in image.info
        return np.asarray(image.convert("RGBA" if has_alpha else "RGB"))
    if mode == "LA":
        return np.asarray(image.convert("RGBA"))
    return np.asarray(image.convert("RGBA" if "A" in mode else "RGB"))  # CMYK, YCbCr, LAB...


def _read_pillow(path: Path, fmt: str) -> np.ndarray:
    """Read a JPEG, BMP or WebP with Pillow, applying the EXIF orientation."""
    from PIL import Image, ImageOps

    with Image.open(path, formats=[fmt.upper()]) as image:
        image.load()
        if fmt in ("JPEG", "WebP"):
            image = ImageOps.exif_transpose(image)
        return _pillow_to_array(image)


def _read_tiff(path: Path) -> np.ndarray:
    """Read the first page of a TIFF with tifffile, falling back to Pillow for codecs it lacks."""
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            page = tif.pages[0]
            _check_tiff_complete(page, path)
            image = page.asarray()
            axes = page.axes
            photometric = page.photometric
            colormap = page.colormap
    except ImageIOError:
        raise
    except Exception as tiff_error:
        # tifffile needs the optional `imagecodecs` for LZW/JPEG/... compression; Pillow has them.
        try:
            return _read_pillow_tiff(path)
        except Exception:
            raise tiff_error from None
    if "S" in axes and axes.index("S") < axes.index("Y"):  # planar configuration "separate"
        image = np.moveaxis(image, axes.index("S"), -1)
    if photometric == tifffile.PHOTOMETRIC.PALETTE and colormap is not None:
        lut = colormap.T  # (entries, 3), TIFF stores 16-bit colour values
        lut = (lut // 257).astype(np.uint8) if lut.max() > 255 else lut.astype(np.uint8)
        image = lut[image]
    elif photometric == tifffile.PHOTOMETRIC.MINISWHITE and image.dtype.kind in "ub":
        image = ~image if image.dtype == np.bool_ else np.iinfo(image.dtype).max - image
    return image


def _check_tiff_complete(page, path: Path) -> None:
    """Raise ImageIOError when the page's pixel data runs past the end of the file."""
    file_size = path.stat().st_size
    for offset, count in zip(page.dataoffsets, page.databytecounts, strict=False):
        if offset + count > file_size:
            raise ImageIOError(f"cannot read image {path}: truncated TIFF file")


def _read_pillow_tiff(path: Path) -> np.ndarray:
    """Read a TIFF with Pillow (8-bit and 16-bit gray, RGB(A), palette)."""
    from PIL import Image

    with Image.open(path, formats=["TIFF"]) as image:
        image.load()
        return _pillow_to_array(image)


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
        ``uint8``, ``int16``, ``uint16``/``float32``. JPEG is lossy (quality 95, no chroma
        subsampling); WebP is written lossless.

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


def _write_cv2(target: Path, image: np.ndarray) -> None:
    """Encode a PNG or BMP with OpenCV (keeps 16-bit PNG colour and BMP alpha)."""
    import cv2

    if image.ndim == 3:
        image = np.ascontiguousarray(_bgr_to_rgb(image))  # the swap is its own inverse
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


