"""Safe decoding of untrusted image bytes, and the one preprocessing function.

Everything the bot downloads and everything training reads goes through
`preprocess`, so the model sees the same pixels in training and in service (train/serve
skew is the classic bug of this field). The function decodes from memory (no temporary
files), refuses what it cannot decode with a typed error that says what is wrong, and
bounds the cost BEFORE decoding, so that a small hostile file costs next to nothing:

* only the formats Commons serves as thumbnails are opened (JPEG, PNG, GIF, WebP, TIFF);
  no other Pillow plugin ever sees the bytes (an ICO may embed a huge PNG, EPS would
  start Ghostscript);
* the header's pixel count is capped, and so is the memory the decoded pixels will take
  (`decoded_bytes`: bytes per pixel of the mode, and the whole-image coefficient buffer
  that libjpeg keeps for a progressive JPEG): a 96 KB 16-bit PNG of 330 x 150,000 px is
  under any pixel cap but needs 99 MB decoded;
* a JPEG with more scans than any encoder writes (a "scan bomb" repeats one tiny scan
  thousands of times, and each one walks the whole image) is refused;
* with `min_size` (the size the caller needs), a JPEG is decoded by libjpeg at 1/2 to
  1/8 scale (`draft`) and an extreme strip is cut to the centred band the model sees;
  every image is converted to RGB in bands of rows, and with `reduce` (the bot) each
  band is shrunk by a whole factor at once, so the conversion never holds a full-size
  RGBA copy of a large palette or 16-bit image. Without `reduce` the pixels are exactly
  those of a whole-image conversion, so training and its recorded builds are unchanged;
* with a `deadline` (the bot's per-file budget, on `time.monotonic()`), decoding stops
  once it has passed: Pillow's decoders for JPEG, PNG and GIF are fed DEADLINE_CHUNK
  bytes at a time and the clock is read before each, and the conversion reads it
  between bands (the final pass of a progressive JPEG is one call, bounded by draft).
  WebP and TIFF decode in one call; the caps above bound those.

The model graph itself scales pixels (the default backbone wants (x - 127) / 128), so
preprocessing ends at an RGB uint8 array of the model's input size.
"""

from __future__ import annotations

import io
import time
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

# Thumbnails are at most a few megapixels; originals on Commons go far beyond, but the
# bot never decodes originals. 50 MP leaves room for local files given to the CLI.
DEFAULT_MAX_PIXELS = 50_000_000
# The decoded pixels of a 50 MP RGB image: what training and the CLI accept. The bot
# passes its own, smaller cap ([thumbnails] max_decoded_bytes).
DEFAULT_MAX_DECODED_BYTES = 4 * DEFAULT_MAX_PIXELS

ALLOWED_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "TIFF")
"""Pillow plugins that may open untrusted bytes: what Commons serves as thumbnails."""

MAX_JPEG_SCANS = 100
"""Encoders write at most a few dozen scans (libjpeg's progressive script has 10)."""

REDUCING_GAP = 3
"""Shrink by whole factors only while the image stays at least this many times the size
needed (as `resize_center_crop`'s `reducing_gap`), so the final resize keeps its quality."""

BAND_BYTES = 4_000_000
"""Rows converted to RGB at a time: bounds the conversion's extra memory."""

DECODER_OVERHEAD = {"WEBP": 4}
"""Decoders that hold more than the image: libwebp decodes into its own RGBA frame
buffer, copied into Pillow's (measured: about 4 times the image's buffer at peak)."""

MAX_ASPECT = 4
"""The longest band kept of an extreme strip: it holds the centre square the model sees
(see `resize_center_crop`), and panoramas up to 4:1 are untouched."""


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


class ImageTooComplexError(ImageError):
    """Small in pixels but too costly to decode (a JPEG scan bomb)."""

    kind = "too_complex"


class ImageTimeoutError(ImageError):
    """The caller's deadline passed while the image was being decoded."""

    kind = "timeout"


DEADLINE_CHUNK = 256
"""Encoded bytes fed to a decoder between two readings of the clock, with a deadline:
Pillow's decoders take input incrementally. A progressive JPEG's scans are a few
hundred bytes each and each walks the whole image, and 256 bytes inflate to at most
about 260 KB, so the clock is read about once per costly step (measured: a decode of
0.6-0.9 s stops within 0.11 s of a deadline 0.05 s away; an ordinary thumbnail's
decode costs the same as when fed whole)."""


class _DeadlineBytes(io.BytesIO):
    """The encoded bytes, read by Pillow, with the clock checked on every read."""

    def __init__(self, data: bytes, deadline: float):
        super().__init__(data)
        self.deadline = deadline

    def read(self, size: int | None = -1) -> bytes:
        _check_deadline(self.deadline)
        return super().read(size)


def _check_deadline(deadline: float | None) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise ImageTimeoutError("the time for this file ran out while decoding it")


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
)


def _unreadable_header(data: bytes) -> ImageError:
    """The error for bytes Pillow cannot identify: empty, corrupt, or not an image at all."""
    fmt = next((f for sig, f in _IMAGE_SIGNATURES if data.startswith(sig)), None)
    if fmt is None and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        fmt = "WebP"
    if fmt is None:
        return NotAnImageError(
            "not an image: not a JPEG, PNG, GIF, WebP or TIFF (the formats accepted)"
        )
    size = None
    if fmt == "PNG" and len(data) >= 24 and data[12:16] == b"IHDR":
        size = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    elif fmt == "GIF" and len(data) >= 10:
        size = int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    if size is not None and 0 in size:
        return EmptyImageError(f"{fmt} image has zero size ({size[0]}x{size[1]})")
    return CorruptImageError(f"corrupt or truncated {fmt} header ({len(data):,} bytes)")


def bytes_per_pixel(mode: str) -> int:
    """Bytes Pillow stores per pixel of `mode` (every multi-band mode takes 4)."""
    if mode in ("1", "L", "P"):
        return 1
    if mode.startswith("I;16"):
        return 2
    return 4


def decoded_bytes(image: Image.Image, header_size: tuple[int, int]) -> int:
    """Memory the decoded pixels of an opened, not yet loaded image will take: its buffer
    at the (possibly drafted) size, plus, for a progressive JPEG, the 16-bit coefficients
    of every component at the full `header_size` that libjpeg buffers for all scans."""
    width, height = image.size
    total = width * height * bytes_per_pixel(image.mode) * DECODER_OVERHEAD.get(image.format, 1)
    if image.format == "JPEG" and image.info.get("progressive"):
        total += header_size[0] * header_size[1] * 2 * len(image.getbands())
    return total


def _jpeg_scans(data: bytes) -> int:
    """Start-of-scan markers in JPEG bytes (entropy-coded data cannot contain one: a 0xFF
    byte there is always followed by 0x00 or a restart marker)."""
    return data.count(b"\xff\xda")


def _reduction(size: tuple[int, int], min_size: int | None) -> int:
    """The whole factor an image can be shrunk by while both sides stay at least
    REDUCING_GAP times `min_size` (1 for an image that fits one band)."""
    if not min_size or size[0] * size[1] * 4 <= BAND_BYTES:
        return 1
    return max(1, min(size) // (min_size * REDUCING_GAP))


def decode_image(
    data: bytes,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    min_size: int | None = None,
    max_decoded_bytes: int = DEFAULT_MAX_DECODED_BYTES,
    reduce: bool = False,
    deadline: float | None = None,
) -> Image.Image:
    """Decode encoded bytes into an upright RGB image (first frame, alpha on white).

    With `min_size`, the image comes back cut to its centred band of at most MAX_ASPECT
    to 1, a JPEG decoded at the smallest scale that keeps both sides at least
    `min_size`; with `reduce` too, any image is shrunk by a whole factor while both
    sides stay at least a few times `min_size` (band by band): the caller resizes down
    anyway, and a large input then costs a fraction of its full-size conversions.

    Raises a subclass of `ImageError` for anything that is not a whole, decodable,
    reasonably sized raster image in an accepted format, before decoding whenever the
    header already tells; `ImageTimeoutError` once `deadline` (time.monotonic()) passes.
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
            source = io.BytesIO(data) if deadline is None else _DeadlineBytes(data, deadline)
            image = Image.open(source, formats=ALLOWED_FORMATS)
    except UnidentifiedImageError:
        # Pillow also lands here for a known format whose header it rejects (a PNG cut
        # inside its header, a zero-width PNG or GIF): say so rather than "not an image".
        raise _unreadable_header(data) from None
    except Image.DecompressionBombError as err:
        raise ImageTooLargeError(f"too large to decode safely: {err}") from None
    except ImageError:  # the deadline, while reading the header
        raise
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
        if image.format == "JPEG":
            scans = _jpeg_scans(data)
            if scans > MAX_JPEG_SCANS:
                raise ImageTooComplexError(
                    f"JPEG with {scans:,} scans exceeds the cap of {MAX_JPEG_SCANS}"
                )
            if min_size:
                image.draft("RGB", (min_size, min_size))
        cost = decoded_bytes(image, (width, height))
        if cost > max_decoded_bytes:
            raise ImageTooLargeError(
                f"{width}x{height} {image.mode} needs {cost:,} bytes decoded, "
                f"over the cap of {max_decoded_bytes:,}"
            )
        if deadline is not None:
            image.decodermaxblock = DEADLINE_CHUNK
        image.load()
        ImageOps.exif_transpose(image, in_place=True)
        # modes I and F are scaled by the whole image's range, before any cut
        extrema = image.getextrema() if image.mode in ("I", "F") else None
        if min_size:
            image = centre_band(image)
        factor = _reduction(image.size, min_size) if reduce else 1
        return _to_rgb_reduced(image, factor, extrema, deadline)
    except ImageError:
        raise
    except (OSError, SyntaxError, ValueError, EOFError) as err:
        raise CorruptImageError(f"corrupt or truncated image data: {err}") from None


def _to_rgb_reduced(
    image: Image.Image, factor: int, extrema: tuple | None, deadline: float | None = None
) -> Image.Image:
    """`_to_rgb`, shrunk by `factor`, a band of rows at a time: the conversions (palette
    to RGBA, 16-bit to 8-bit) then never hold more than BAND_BYTES of the image at once;
    the deadline, if any, is checked before each band."""
    width, height = image.size
    rows = max(1, BAND_BYTES // (width * 4) // factor) * factor
    if rows >= height:  # an ordinary thumbnail: one band, converted as it is
        rgb = _to_rgb(image, extrema)
        return rgb.reduce(factor) if factor > 1 else rgb
    out = Image.new("RGB", (-(-width // factor), -(-height // factor)))
    for top in range(0, height, rows):
        _check_deadline(deadline)
        band = _to_rgb(image.crop((0, top, width, min(height, top + rows))), extrema)
        out.paste(band.reduce(factor) if factor > 1 else band, (0, top // factor))
    return out


def _to_rgb(image: Image.Image, extrema: tuple | None = None) -> Image.Image:
    """Convert any Pillow mode to RGB; transparent areas become white, as on Commons pages.

    `extrema` (of the whole image, for modes I and F) keeps the scaling of a band the
    same as that of the image it was cut from."""
    mode = image.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        # 16-bit (or 32-bit integer) grey: keep the most significant 8 bits. A 16-bit mode
        # is 16-bit even when dark (max <= 255); only "I" may hold 8-bit-range values.
        array = np.clip(np.asarray(image, dtype=np.int32), 0, 65535)  # x 255 fits int32
        high = extrema[1] if extrema else array.max(initial=0)
        top = 65535 if mode.startswith("I;16") or high > 255 else 255
        image = Image.fromarray((array * 255 // top).astype(np.uint8), mode="L")
    elif mode == "F":
        array = np.asarray(image, dtype=np.float32)
        low, high = extrema if extrema else (float(np.nanmin(array)), float(np.nanmax(array)))
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


def centre_band(image: Image.Image) -> Image.Image:
    """The centred band of at most MAX_ASPECT to 1 of an extreme strip (the image itself
    otherwise). A 4 x 20000 px strip would be scaled to 224 x 1,120,000 before cropping,
    gigabytes for a tiny file; the band holds the centre square the crop keeps."""
    width, height = image.size
    short, long_ = min(width, height), max(width, height)
    if long_ <= MAX_ASPECT * short:
        return image
    band = MAX_ASPECT * short
    if width > height:
        left = (width - band) // 2
        return image.crop((left, 0, left + band, height))
    top = (height - band) // 2
    return image.crop((0, top, width, top + band))


def resize_center_crop(image: Image.Image, size: int) -> np.ndarray:
    """Scale the shorter side to `size`, then cut the centre square: the ImageNet convention
    the backbone was trained with. Returns an RGB uint8 array of shape (size, size, 3)."""
    image = centre_band(image)
    width, height = image.size
    scale = size / min(width, height)
    new_w, new_h = max(size, round(width * scale)), max(size, round(height * scale))
    # reducing_gap makes Pillow shrink by whole factors first: much faster on big inputs,
    # with no visible loss at thumbnail sizes.
    image = image.resize((new_w, new_h), Image.Resampling.BILINEAR, reducing_gap=3.0)
    left, top = (new_w - size) // 2, (new_h - size) // 2
    return np.asarray(image.crop((left, top, left + size, top + size)), dtype=np.uint8)


def preprocess(data: bytes, size: int, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Encoded image bytes -> RGB uint8 array (size, size, 3): the graph's input.

    The one preprocessing function shared by training and serving for the graph
    (`TopicModel.prepare` adds the detector's letterboxed copy from the same decode).
    """
    return resize_center_crop(decode_image(data, max_pixels=max_pixels, min_size=size), size)
