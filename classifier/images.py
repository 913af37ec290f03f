"""Safe decoding of untrusted image bytes, and the one preprocessing function.

Everything the bot downloads and everything training reads goes through
`preprocess`, so the model sees the same pixels in training and in service (train/serve
skew is the classic bug of this field). The function decodes from memory (no temporary
files), refuses what it cannot decode with a typed error that says what is wrong, and
caps the pixel count BEFORE decoding so that a decompression bomb costs nothing.

The model graph itself scales pixels (the default backbone wants (x - 127) / 128), so
preprocessing ends at an RGB uint8 array of the model's input size.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

# Thumbnails are at most a few megapixels; originals on Commons go far beyond, but the
# bot never decodes originals. 50 MP leaves room for local files given to the CLI.
DEFAULT_MAX_PIXELS = 50_000_000


class ImageError(ValueError):
    """An input that cannot be turned into model input. `kind` names the reason."""

    kind = "undecodable"


class EmptyImageError(ImageError):
    kind = "empty"


class NotAnImageError(ImageError):
    kind = "not_an_image"


class CorruptImageError(ImageError):
    kind = "corrupt"


class ImageTooLargeError(ImageError):
    kind = "too_large"


# Text formats that are sometimes served where an image was expected: an HTML error
# page from a proxy, an SVG original, a PDF. Pillow would only say "cannot identify".
_TEXT_SIGNATURES = (
    (b"%pdf", "a PDF document"),  # compared with the lower-cased head
    (b"<svg", "SVG text (ask the wiki for a raster thumbnail)"),
    (b"<?xml", "XML text (an SVG or an error document)"),
    (b"<!doctype html", "an HTML page (an error page where an image was expected?)"),
    (b"<html", "an HTML page (an error page where an image was expected?)"),
    (b"{", "JSON text (an API error where an image was expected?)"),
)


def _sniff_text(data: bytes) -> str | None:
    head = data[:256].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    for signature, description in _TEXT_SIGNATURES:
        if head.startswith(signature):
            return description
    return None


# Magic bytes of the raster formats we decode, to tell a damaged image from a non-image.
_IMAGE_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"BM", "BMP"),
)


def _unreadable_header(data: bytes) -> ImageError:
    """The error for bytes Pillow cannot identify: empty, corrupt, or not an image at all."""
    fmt = next((f for sig, f in _IMAGE_SIGNATURES if data.startswith(sig)), None)
    if fmt is None and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        fmt = "WebP"
    if fmt is None:
        return NotAnImageError("not an image: no known image format in the bytes")
    size = None
    if fmt == "PNG" and len(data) >= 24 and data[12:16] == b"IHDR":
        size = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    elif fmt == "GIF" and len(data) >= 10:
        size = int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    if size is not None and 0 in size:
        return EmptyImageError(f"{fmt} image has zero size ({size[0]}x{size[1]})")
    return CorruptImageError(f"corrupt or truncated {fmt} header ({len(data):,} bytes)")


def decode_image(
    data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS, min_size: int | None = None
) -> Image.Image:
    """Decode encoded bytes into an upright RGB image (first frame, alpha on white).

    With `min_size`, a JPEG much larger than needed is decoded by libjpeg at 1/2, 1/4 or
    1/8 scale (Pillow's `draft`), keeping both sides at least `min_size`: several times
    faster on large inputs, and the result is resized down anyway.

    Raises a subclass of `ImageError` for anything that is not a whole, decodable,
    reasonably sized raster image.
    """
    if not data:
        raise EmptyImageError("no bytes: the image is empty")
    text = _sniff_text(data)
    if text:
        raise NotAnImageError(f"not an image: the bytes are {text}")
    try:
        with warnings.catch_warnings():
            # Pillow warns (and at 2x its limit raises) for bombs; we check ourselves below.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        # Pillow also lands here for a known format whose header it rejects (a PNG cut
        # inside its header, a zero-width PNG or GIF): say so rather than "not an image".
        raise _unreadable_header(data) from None
    except Image.DecompressionBombError as err:
        raise ImageTooLargeError(f"too large to decode safely: {err}") from None
    except (OSError, SyntaxError, ValueError) as err:
        raise CorruptImageError(f"corrupt image header: {err}") from None

    width, height = image.size
    if width <= 0 or height <= 0:
        raise EmptyImageError(f"image has zero size ({width}x{height})")
    if width * height > max_pixels:
        raise ImageTooLargeError(
            f"{width}x{height} = {width * height:,} pixels exceeds the cap of {max_pixels:,}"
        )
    try:
        image.seek(0)  # animated GIF/WebP/PNG: the first frame
        if min_size and image.format == "JPEG":
            image.draft("RGB", (min_size, min_size))
        image.load()
        image = ImageOps.exif_transpose(image)
        return _to_rgb(image)
    except (OSError, SyntaxError, ValueError, EOFError) as err:
        raise CorruptImageError(f"corrupt or truncated image data: {err}") from None


def _to_rgb(image: Image.Image) -> Image.Image:
    """Convert any Pillow mode to RGB; transparent areas become white, as on Commons pages."""
    mode = image.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        # 16-bit (or 32-bit integer) grey: keep the most significant 8 bits. A 16-bit mode
        # is 16-bit even when dark (max <= 255); only "I" may hold 8-bit-range values.
        array = np.clip(np.asarray(image, dtype=np.int64), 0, 65535)
        top = 65535 if mode.startswith("I;16") or array.max(initial=0) > 255 else 255
        image = Image.fromarray((array * 255 // top).astype(np.uint8), mode="L")
    elif mode == "F":
        array = np.asarray(image, dtype=np.float32)
        low, high = float(np.nanmin(array)), float(np.nanmax(array))
        scaled = (array - low) / (high - low) * 255 if high > low else np.zeros_like(array)
        image = Image.fromarray(np.nan_to_num(scaled).astype(np.uint8), mode="L")
    if image.mode in ("P", "PA") or (
        image.mode in ("L", "RGB") and "transparency" in image.info
    ):
        # Palette transparency, and the tRNS colour key of grey and RGB PNGs, become alpha.
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "La", "RGBa"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if image.mode != "RGB":
        # L, 1, CMYK, YCbCr, LAB, HSV, RGBX: Pillow's own conversions.
        return image.convert("RGB")
    return image


def resize_center_crop(image: Image.Image, size: int) -> np.ndarray:
    """Scale the shorter side to `size`, then cut the centre square: the ImageNet convention
    the backbone was trained with. Returns an RGB uint8 array of shape (size, size, 3)."""
    width, height = image.size
    # An extreme strip (4 x 20000 px) would be scaled to 224 x 1,120,000 before cropping,
    # gigabytes for a tiny file: first cut a centred band at most 4:1, which holds the
    # centre square the crop keeps (ordinary images, panoramas up to 4:1, are untouched).
    short, long_ = min(width, height), max(width, height)
    if long_ > 4 * short:
        band = 4 * short
        if width > height:
            left = (width - band) // 2
            image = image.crop((left, 0, left + band, height))
        else:
            top = (height - band) // 2
            image = image.crop((0, top, width, top + band))
        width, height = image.size
    scale = size / min(width, height)
    new_w, new_h = max(size, round(width * scale)), max(size, round(height * scale))
    # reducing_gap makes Pillow shrink by whole factors first: much faster on big inputs,
    # with no visible loss at thumbnail sizes.
    image = image.resize((new_w, new_h), Image.Resampling.BILINEAR, reducing_gap=3.0)
    left, top = (new_w - size) // 2, (new_h - size) // 2
    return np.asarray(image.crop((left, top, left + size, top + size)), dtype=np.uint8)


def preprocess(data: bytes, size: int, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Encoded image bytes -> RGB uint8 array (size, size, 3): the model's input.

    The one preprocessing function shared by training and serving.
    """
    return resize_center_crop(decode_image(data, max_pixels=max_pixels, min_size=size), size)
