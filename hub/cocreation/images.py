"""Which uploads are images: decoded by Pillow, never trusted by name or Content-Type.

A showcase's image is shown to everyone, so the bytes must really be a PNG, JPEG or WebP
picture of a sane size. Pillow reads the header and verifies the file's structure; a
decompression bomb (a tiny file declaring a huge canvas) is refused by pixel count.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, UnidentifiedImageError

from hub.cocreation.errors import PayloadTooLarge, UnsupportedImage

# Pillow format name -> the media type the image is served with.
ACCEPTED = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
MAX_PIXELS = 40_000_000


def check_image(data: bytes, max_bytes: int) -> str:
    """The media type of ``data`` if it is an accepted image no larger than ``max_bytes``."""
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"the image is {len(data)} bytes; at most {max_bytes} are "
                              "accepted", "image")
    if not data:
        raise UnsupportedImage("the upload is empty", "image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                fmt = image.format
                width, height = image.size
                image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
            Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise UnsupportedImage(f"the upload is not a readable image ({exc})", "image") from None
    if fmt not in ACCEPTED:
        raise UnsupportedImage(f"images must be PNG, JPEG or WebP, not {fmt}", "image")
    if width * height > MAX_PIXELS:
        raise UnsupportedImage(f"the image is {width}x{height} pixels; at most {MAX_PIXELS} "
                               "pixels are accepted", "image")
    return ACCEPTED[fmt]
