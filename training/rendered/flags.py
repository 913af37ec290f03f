"""Flags of countries and territories from npm flag-icons (MIT), as flat SVG renders.

Commons holds every flag as SVG, shown as PNG thumbnails; variation here is the
aspect ratio (4:3 or square crop), size, an occasional thin border (common in
Commons' flag templates) and a slight wave, which real flag images sometimes have.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from training.rendered.augment import svg_to_image
from training.rendered.item import Item
from training.rendered.npm import DEFAULT_PREFIX, package_dir

LABELS = ("Maps & Flags",)
LICENCE = "MIT (npm flag-icons 7.5.0); flags themselves are public symbols"


def items(prefix: Path = DEFAULT_PREFIX) -> list[Item]:
    folder = package_dir("flag-icons", prefix) / "flags" / "4x3"
    return [
        Item("flag", f"flag-icons/{path.stem}", LABELS, LICENCE, key=path.stem)
        for path in sorted(folder.glob("*.svg"))
    ]


def _wave(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Shift columns along a sine: the cheap look of a flag in the wind."""
    array = np.asarray(image)
    h, w = array.shape[:2]
    amplitude = rng.uniform(0.02, 0.06) * h
    phase, cycles = rng.uniform(0, 2 * np.pi), rng.uniform(0.7, 1.6)
    pad = int(np.ceil(amplitude)) + 1
    out = np.zeros((h + 2 * pad, w, 4), dtype=np.uint8)
    for x in range(w):
        dy = int(round(amplitude * np.sin(phase + 2 * np.pi * cycles * x / w)))
        out[pad + dy : pad + dy + h, x] = array[:, x]
    return Image.fromarray(out, "RGBA")


def render(item: Item, rng: np.random.Generator, prefix: Path = DEFAULT_PREFIX) -> Image.Image:
    shape = "1x1" if rng.random() < 0.2 else "4x3"
    path = package_dir("flag-icons", prefix) / "flags" / shape / f"{item.key}.svg"
    image = svg_to_image(path.read_text(encoding="utf-8"), int(rng.integers(200, 600)))
    if rng.random() < 0.3:
        image = ImageOps.expand(image, border=max(1, image.size[0] // 150), fill=(80, 80, 80, 255))
    if rng.random() < 0.2:
        image = _wave(image, rng)
    return image
