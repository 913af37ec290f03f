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
    (b"%PDF", "a PDF document"),
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
        raise NotAnImageError("not an image: no known image format in the bytes") from None
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
        # 16-bit (or 32-bit integer) grey: keep the most significant 8 bits.
        array = np.asarray(image, dtype=np.uint32)
        top = 65535 if array.max(initial=0) > 255 else 255
        image = Image.fromarray((array * 255 // top).astype(np.uint8), mode="L")
    elif mode == "F":
        array = np.asarray(image, dtype=np.float32)
        low, high = float(np.nanmin(array)), float(np.nanmax(array))
        scaled = (array - low) / (high - low) * 255 if high > low else np.zeros_like(array)
        image = Image.fromarray(np.nan_to_num(scaled).astype(np.uint8), mode="L")
    if image.mode == "P" or image.mode == "PA":
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
