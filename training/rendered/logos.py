"""Brand logos and symbols from npm simple-icons (CC0 data; marks may be trademarks).

simple-icons are one-colour glyphs with each brand's colour. Real logos come as the
glyph in brand colour, white on a brand-coloured tile or circle, black, or beside the
brand's name (a wordmark), so the renderer draws all of these.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import matplotlib
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from training.rendered.augment import svg_to_image
from training.rendered.item import Item
from training.rendered.npm import DEFAULT_PREFIX, package_dir

LABELS = ("Logos & Symbols",)
LICENCE = "CC0-1.0 (npm simple-icons 16.37.0 data); the marks may be trademarks of their owners"
FONTS = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf", "DejaVuSansMono.ttf")


def items(prefix: Path = DEFAULT_PREFIX) -> list[Item]:
    folder = package_dir("simple-icons", prefix)
    data = json.loads((folder / "data" / "simple-icons.json").read_text(encoding="utf-8"))
    out = []
    for icon in data:
        slug = icon["slug"]
        if (folder / "icons" / f"{slug}.svg").is_file():
            key = json.dumps([slug, icon["title"], icon["hex"]])
            out.append(Item("logo", f"simple-icons/{slug}", LABELS, LICENCE, key=key))
    return out


def _coloured(svg: str, colour: str) -> str:
    return re.sub(r"<svg ", f'<svg fill="{colour}" ', svg, count=1)


def _font(rng: np.random.Generator, size: int) -> ImageFont.FreeTypeFont:
    path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / str(rng.choice(FONTS))
    return ImageFont.truetype(str(path), size)


def render(item: Item, rng: np.random.Generator, prefix: Path = DEFAULT_PREFIX) -> Image.Image:
    slug, title, hex_colour = json.loads(item.key)
    svg = (package_dir("simple-icons", prefix) / "icons" / f"{slug}.svg").read_text("utf-8")
    brand = f"#{hex_colour}"
    style = rng.random()
    size = int(rng.integers(160, 420))
    if style < 0.35:
        glyph = svg_to_image(_coloured(svg, brand), size)
    elif style < 0.5:
        glyph = svg_to_image(_coloured(svg, "#000000"), size)
    else:  # white glyph on a brand-coloured tile or disc
        glyph = svg_to_image(_coloured(svg, "#ffffff"), int(size * 0.62))
        tile = Image.new("RGBA", (size, size), (0, 0, 0, 0))
        draw = ImageDraw.Draw(tile)
        if rng.random() < 0.5:
            draw.ellipse((0, 0, size - 1, size - 1), fill=brand)
        else:
            draw.rounded_rectangle(
                (0, 0, size - 1, size - 1), int(size * rng.uniform(0, 0.25)), fill=brand
            )
        offset = ((size - glyph.size[0]) // 2, (size - glyph.size[1]) // 2)
        tile.alpha_composite(glyph, offset)
        glyph = tile
    if rng.random() < 0.35:
        glyph = _wordmark(glyph, title, brand if style < 0.35 else "#222222", rng)
    return glyph


def _wordmark(glyph: Image.Image, title: str, colour: str, rng: np.random.Generator):
    """The glyph with the brand's name beside or below it."""
    font = _font(rng, max(12, glyph.size[1] // 3))
    left, top, right, bottom = font.getbbox(title)
    tw, th = right - left, bottom - top
    gap = glyph.size[1] // 5
    if rng.random() < 0.6:  # beside
        canvas = Image.new("RGBA", (glyph.size[0] + gap + tw + gap, max(glyph.size[1], th)))
        canvas.alpha_composite(glyph, (0, (canvas.size[1] - glyph.size[1]) // 2))
        xy = (glyph.size[0] + gap - left, (canvas.size[1] - th) // 2 - top)
    else:  # below
        canvas = Image.new("RGBA", (max(glyph.size[0], tw) + gap, glyph.size[1] + gap + th + gap))
        canvas.alpha_composite(glyph, ((canvas.size[0] - glyph.size[0]) // 2, 0))
        xy = ((canvas.size[0] - tw) // 2 - left, glyph.size[1] + gap - top)
    ImageDraw.Draw(canvas).text(xy, title, font=font, fill=colour)
    return canvas
