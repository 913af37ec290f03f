"""Hostile images: small files that cost a naive decoder gigabytes or minutes.

Each one was found against the bot (issue 15): a few kilobytes on the wire, but decoded
by Pillow as it stood they peaked at 0.8 to 1.2 GB RSS or took tens of seconds. The
decoding tests and `scripts/benchmark_hostile_images.py` share this battery; `NEAR_CAP`
holds files just under the bot's decoding caps, which must still decode, cheaply.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable

import numpy as np
from PIL import Image


def _encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def grey16_strip(width: int = 330, height: int = 150_000) -> bytes:
    """A 16-bit grey PNG no wider than the thumbnail width: the API's thumbnail URL is
    the original itself."""
    column = (np.arange(height, dtype=np.uint32) * 7 % 65536).astype(np.uint16)
    return _encode(Image.fromarray(np.repeat(column[:, None], width, axis=1)), "PNG")


def palette_trns(width: int = 7000, height: int = 7000) -> bytes:
    """A palette PNG with a transparent colour: RGBA at full size when converted."""
    image = Image.new("P", (width, height), 1)
    image.putpalette([0, 0, 0, 200, 30, 30] + [0] * 762)
    return _encode(image, "PNG", transparency=0)


def big_gif(width: int = 7000, height: int = 7000) -> bytes:
    image = Image.new("P", (width, height), 2)
    image.putpalette([0, 0, 0, 255, 255, 255, 30, 120, 200] + [0] * 759)
    return _encode(image, "GIF")


def int32_tiff(width: int = 6000, height: int = 6000) -> bytes:
    """32-bit integer grey, deflated: 4 bytes a pixel decoded, 8 in a naive int64 copy."""
    return _encode(Image.new("I", (width, height), 70_000), "TIFF", compression="tiff_deflate")


def wide_webp(width: int = 16383, height: int = 3000) -> bytes:
    return _encode(Image.new("RGB", (width, height), (10, 120, 30)), "WEBP", lossless=True)


def scan_bomb(scans: int = 60_000, side: int = 2048, height: int | None = None) -> bytes:
    """A progressive JPEG (`side` wide, `height` or `side` high) whose shortest scan (16
    bytes: a refinement pass over a flat image) is repeated `scans` times; each copy
    makes libjpeg walk every block again (about 2.5 ms per copy at 2048 x 2048 here:
    60,000 copies, 1 MB, take minutes)."""
    size = (side, height or side)
    data = _encode(Image.new("RGB", size, (120, 130, 140)), "JPEG", progressive=True)
    starts = [i for i in range(len(data) - 1) if data[i : i + 2] == b"\xff\xda"]
    ends = [*starts[1:], data.rindex(b"\xff\xd9")]
    start, end = min(zip(starts, ends, strict=True), key=lambda span: span[1] - span[0])
    return data[:end] + data[start:end] * scans + data[end:]


def ico_with_big_png(side: int = 12000) -> bytes:
    """An ICO directory that declares 16x16 but embeds a 1-bit PNG of `side` x `side`."""
    png = _encode(Image.new("1", (side, side)), "PNG")
    header = struct.pack("<HHH", 0, 1, 1)
    entry = struct.pack("<BBBBHHII", 16, 16, 0, 0, 1, 32, len(png), 6 + 16)
    return header + entry + png


HOSTILE: dict[str, Callable[[], bytes]] = {
    "png 16-bit strip 330x150000": grey16_strip,
    "png palette+tRNS 7000x7000": palette_trns,
    "gif 7000x7000": big_gif,
    "tiff int32 6000x6000": int32_tiff,
    "webp 16383x3000": wide_webp,
    "jpeg scan bomb 60000 scans 2048x2048": scan_bomb,
    "ico 16x16 declaring, 12000x12000 png inside": ico_with_big_png,
}

NEAR_CAP: dict[str, Callable[[], bytes]] = {
    "png 16-bit strip 330x90000": lambda: grey16_strip(330, 90_000),
    "png palette+tRNS 7000x7000 (1 byte/px)": palette_trns,
    "gif 7000x7000 (1 byte/px)": big_gif,
    "tiff int32 3900x3900": lambda: int32_tiff(3900, 3900),
    "webp 2000x2000": lambda: wide_webp(2000, 2000),
    "jpeg progressive 100 scans 3000x3000": lambda: scan_bomb(90, 3000),
}
"""Files under the bot's caps (64 MB decoded, WebP counted 4 times, 100 JPEG scans):
decoded, within bounds."""
