"""Commons-thumbnail variation: how a drawing looks once Commons has served it.

Commons renders SVG to PNG thumbnails (transparency kept: the classifier's
`preprocess` puts alpha on white), users upload PNG and JPEG at any size, often
recompressed, padded or scaled. The model must see all of that in training, or it
learns "crisp 1:1 render" instead of "flag".
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageFilter

WIDTHS = (120, 180, 220, 250, 330, 400, 500, 640, 800)


def _background(rng: np.random.Generator) -> tuple[int, int, int, int]:
    choice = rng.random()
    if choice < 0.45:
        return (255, 255, 255, 0)  # transparent, as SVG thumbnails are
    if choice < 0.8:
        return (255, 255, 255, 255)
    if choice < 0.9:
        grey = int(rng.integers(200, 250))
        return (grey, grey, grey, 255)
    return (*(int(x) for x in rng.integers(0, 256, 3)), 255)


def thumbnail(image: Image.Image, rng: np.random.Generator) -> tuple[bytes, str]:
    """One Commons-like rendition of a drawing: (encoded bytes, "png" or "jpg")."""
    image = image.convert("RGBA")
    w, h = image.size
    pad = rng.uniform(0.0, 0.25) if rng.random() < 0.5 else 0.0
    px, py = int(w * pad * rng.uniform(0.5, 1.5)), int(h * pad * rng.uniform(0.5, 1.5))
    canvas = Image.new("RGBA", (w + 2 * px, h + 2 * py), _background(rng))
    canvas.alpha_composite(image, (px, py))
    width = int(rng.choice(WIDTHS))
    height = max(1, round(canvas.size[1] * width / canvas.size[0]))
    canvas = canvas.resize((width, height), Image.Resampling.LANCZOS)
    if rng.random() < 0.15:
        canvas = canvas.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.0)))
    buffer = io.BytesIO()
    if rng.random() < 0.5:
        canvas.save(buffer, format="PNG")
        return buffer.getvalue(), "png"
    flat = Image.new("RGB", canvas.size, (255, 255, 255))
    flat.paste(canvas, mask=canvas.getchannel("A"))
    flat.save(buffer, format="JPEG", quality=int(rng.integers(35, 96)))
    return buffer.getvalue(), "jpg"


def svg_to_image(svg: str, width: int, background: str | None = None) -> Image.Image:
    """Rasterize SVG markup at `width` pixels with resvg (no system libraries needed)."""
    import resvg_py

    png = resvg_py.svg_to_bytes(svg_string=svg, width=width, background=background)
    return Image.open(io.BytesIO(bytes(png))).convert("RGBA")


def degraded(data: bytes, rng: np.random.Generator) -> bytes:
    """A copy that looks like a small Commons thumbnail blown up: scaled down to 48-160 px
    on its shorter side and back up (bilinear), or blurred; PNG. The real labelled Commons
    tiles often look like that, the bot's sharp thumbnails do not: training on both kinds
    of each source keeps the head from learning "blurry means Commons"."""
    image = Image.open(io.BytesIO(data)).convert("RGB")
    w, h = image.size
    if rng.random() < 0.6:
        short = int(rng.integers(48, 161))
        scale = short / min(w, h)
        if scale < 1:
            small = image.resize((max(1, round(w * scale)), max(1, round(h * scale))),
                                 Image.Resampling.BILINEAR)
            image = small.resize((w, h), Image.Resampling.BILINEAR)
    else:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.8, 2.0)))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
