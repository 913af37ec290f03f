"""Two cheap facts about a thumbnail's pixels that the flag signals need.

* `spread`: the standard deviation of the luminance (0-255) at 64x64. A blank or
  nearly uniform image has almost none; shrinking first averages away JPEG noise, so a
  flat colour saved as JPEG still reads as flat, while a small drawing on a white page
  (1 % of dark pixels already gives about 25) does not.
* `dhash`: a 64-bit difference hash (Krawetz's dHash: 9x8 grey, one bit per pair of
  neighbours in a row, set when brightness rises), as 16 hex digits. Rescaling,
  recompression and small edits change a few bits; a different image changes about
  half. A dozen lines on Pillow rather than a dependency, since this is all it needs.

Both come from the server-rendered thumbnail, from the very image the classifier
decoded (bot.thumbnail_pixels), so no original is downloaded and nothing is decoded twice.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from classifier.images import decode_image

SPREAD_SIZE = 64
HASH_WIDTH, HASH_HEIGHT = 9, 8


@dataclass(frozen=True)
class ImageFeatures:
    dhash: str  # 16 hex digits
    spread: float


DHASH_BANDS = 8
"""A stored dHash is also kept as 8 bands of 8 bits, each indexed: two hashes within
7 differing bits agree exactly on at least one band (7 differences touch at most 7 of
the 8 bands), so a lookup of the flags that share a band finds every near-copy up to
that distance without reading the others."""


def dhash_bands(value: str) -> list[int]:
    """The DHASH_BANDS bands of a hex dHash, lowest bits first."""
    number = int(value, 16)
    return [(number >> (8 * i)) & 0xFF for i in range(DHASH_BANDS)]


def dhash(image: Image.Image) -> str:
    grey = image.convert("L").resize((HASH_WIDTH, HASH_HEIGHT), Image.Resampling.LANCZOS)
    pixels = np.asarray(grey, dtype=np.int16)
    bits = (pixels[:, 1:] > pixels[:, :-1]).flatten()
    return f"{int(''.join('1' if b else '0' for b in bits), 2):016x}"


def spread(image: Image.Image) -> float:
    grey = image.convert("L").resize((SPREAD_SIZE, SPREAD_SIZE), Image.Resampling.BOX)
    return float(np.asarray(grey, dtype=np.float32).std())


def image_features(image: bytes | Image.Image) -> ImageFeatures:
    """Features of a decoded image, or of encoded bytes (decoded here; a classifier
    `ImageError` when they do not decode)."""
    if not isinstance(image, Image.Image):
        image = decode_image(image, min_size=SPREAD_SIZE)
    return ImageFeatures(dhash=dhash(image), spread=round(spread(image), 3))
