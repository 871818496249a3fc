"""Least-significant-bit steganography: hide a text message in an image and read it back."""

from __future__ import annotations

import zlib

import numpy as np

from imgstudio.core.spec import operation
from imgstudio.core.types import Image, Text, check_image

#: Start of every hidden message; followed by the payload length and its CRC-32 (big-endian).
MAGIC = b"ISTG"
HEADER_BYTES = len(MAGIC) + 8


def _carrier(image: np.ndarray) -> np.ndarray:
    """The samples that carry the message, in order: every colour sample, row-major."""
    if image.dtype.kind != "u":
        raise ValueError(f"image must be uint8 or uint16 for steganography (the lowest bit of "
                         f"float samples does not survive saving); got {image.dtype}")
    colour = image if image.ndim == 2 or image.shape[2] == 3 else image[..., :3]
    return colour.reshape(-1)


@operation("restore.stego_hide", title="Hide message (LSB)", menu="Image/Steganography")
def stego_hide(image: Image, *, message: str) -> Image:
    """Hide a text message in the least significant bits of the pixels.

    The message is encoded as UTF-8 and preceded by a 12-byte header (``ISTG``, payload length
    and CRC-32, big-endian). Its bits (most significant first) replace the lowest bit of the
    colour samples in row-major order (R, G, B of the first pixel, then the next pixel...);
    the remaining samples and any alpha channel are unchanged. Each sample changes by at most 1.
    Works on uint8 and uint16 images; the result survives lossless formats (PNG, TIFF), not
    JPEG. ``restore.stego_reveal`` reads it back.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray of uint8 or uint16
        Cover image; float images raise ``ValueError``.
    message : str
        Text to hide; needs ``8 × (12 + UTF-8 bytes)`` colour samples.

    Returns
    -------
    ndarray
        The image with the message embedded, same shape and dtype.
    """
    image = check_image(image)
    carrier = _carrier(image)
    payload = message.encode("utf-8")
    data = MAGIC + len(payload).to_bytes(4, "big") + zlib.crc32(payload).to_bytes(4, "big")
    bits = np.unpackbits(np.frombuffer(data + payload, dtype=np.uint8))
    if len(bits) > carrier.size:
        raise ValueError(f"message is too long for this image: it needs {len(bits)} samples "
                         f"(8 per byte plus a 96-bit header), the image has {carrier.size}")
    samples = carrier.copy()
    head = samples[:len(bits)]
    samples[:len(bits)] = (head & ~head.dtype.type(1)) | bits.astype(head.dtype)
    out = image.copy()
    if image.ndim == 3 and image.shape[2] == 4:
        out[..., :3] = samples.reshape(image.shape[:2] + (3,))
    else:
        out = samples.reshape(image.shape)
    return out


@operation("restore.stego_reveal", title="Reveal message (LSB)", menu="Image/Steganography")
def stego_reveal(image: Image) -> Text:
    """Read a message hidden by ``restore.stego_hide``; no item when there is none.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray of uint8 or uint16
        Image that may carry a message; float images raise ``ValueError``.

    Returns
    -------
    Text
        ``Text(items=[(message, None)])`` with the hidden message (possibly the empty string),
        or ``Text(items=[])`` when the image carries no valid message (no ``ISTG`` header, a
        length beyond the image, a CRC mismatch or invalid UTF-8).
    """
    image = check_image(image)
    carrier = _carrier(image)
    header_bits = 8 * HEADER_BYTES
    if carrier.size < header_bits:
        return Text(items=[])
    header = np.packbits((carrier[:header_bits] & 1).astype(np.uint8)).tobytes()
    if header[:len(MAGIC)] != MAGIC:
        return Text(items=[])
    length = int.from_bytes(header[4:8], "big")
    crc = int.from_bytes(header[8:12], "big")
    if header_bits + 8 * length > carrier.size:
        return Text(items=[])
    bits = (carrier[header_bits:header_bits + 8 * length] & 1).astype(np.uint8)
    payload = np.packbits(bits).tobytes()
    if zlib.crc32(payload) != crc:
        return Text(items=[])
    try:
        message = payload.decode("utf-8")
    except UnicodeDecodeError:
        return Text(items=[])
    return Text(items=[(message, None)])
