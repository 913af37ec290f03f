"""Decoding of untrusted bytes: every format and mode the bot meets, and every refusal.

All inputs are made here with Pillow and numpy, so each test knows the pixels it should
get back. The bot feeds whatever a wiki serves into `preprocess`; anything it cannot
turn into model input must become a typed `ImageError` with a clear message, never
another exception or a silent wrong picture.
"""

from __future__ import annotations

import io
import struct
import time
import zlib

import numpy as np
import pytest
from PIL import Image, ImageFile

from classifier.images import (
    CorruptImageError,
    EmptyImageError,
    ImageError,
    ImageTimeoutError,
    ImageTooComplexError,
    ImageTooLargeError,
    NotAnImageError,
    decode_image,
    preprocess,
)
from tests import hostile_images

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def pixels(data: bytes, **kwargs) -> np.ndarray:
    image = decode_image(data, **kwargs)
    assert image.mode == "RGB"
    return np.asarray(image)


def photo(width: int = 160, height: int = 120, seed: int = 0) -> Image.Image:
    """A smooth, photo-like RGB image (noise compresses badly and JPEG smears it)."""
    y, x = np.mgrid[0:height, 0:width]
    rng = np.random.default_rng(seed)
    phase = rng.uniform(0, 6, 3)
    channels = [127 + 120 * np.sin(x / 17 + y / 23 + p) for p in phase]
    return Image.fromarray(np.stack(channels, axis=-1).astype(np.uint8))


def close(a, b, tol: int) -> bool:
    return bool(np.all(np.abs(np.asarray(a, int) - np.asarray(b, int)) <= tol))


# --- formats that must decode -------------------------------------------------------


def test_jpeg():
    source = photo()
    out = pixels(encode(source, "JPEG", quality=95))
    assert out.shape == (120, 160, 3)
    assert np.abs(out.astype(int) - np.asarray(source, int)).mean() < 3


def test_png_rgb_is_exact():
    source = photo()
    assert np.array_equal(pixels(encode(source, "PNG")), np.asarray(source))


def test_png_alpha_is_composited_on_white():
    """Transparent areas look white on Commons pages; black would change the topic."""
    rgba = np.zeros((2, 3, 4), np.uint8)
    rgba[0, 0] = (255, 0, 0, 0)  # fully transparent red -> white
    rgba[0, 1] = (0, 0, 255, 255)  # opaque blue stays blue
    rgba[0, 2] = (0, 0, 0, 128)  # half-transparent black -> mid grey
    rgba[1, :] = (0, 0, 0, 0)  # transparent black -> white (not black)
    out = pixels(encode(Image.fromarray(rgba, "RGBA"), "PNG"))
    assert tuple(out[0, 0]) == WHITE
    assert tuple(out[0, 1]) == BLUE
    assert close(out[0, 2], (127, 127, 127), 1)
    assert (out[1] == 255).all()


def test_grey_alpha_png_on_white():
    la = Image.new("LA", (4, 4), (0, 0))
    assert (pixels(encode(la, "PNG")) == 255).all()


def test_palette_png_with_transparency():
    image = Image.new("P", (4, 2), 0)
    image.putpalette([0, 0, 0, *RED, *BLUE] + [0] * (256 - 3) * 3)
    image.putpixel((1, 0), 1)
    image.putpixel((2, 0), 2)
    out = pixels(encode(image, "PNG", transparency=0))  # index 0 (black) is transparent
    assert tuple(out[0, 0]) == WHITE
    assert tuple(out[0, 1]) == RED
    assert tuple(out[0, 2]) == BLUE
    assert tuple(out[1, 3]) == WHITE


@pytest.mark.parametrize(
    ("mode", "colour", "key"),
    [("L", 0, 0), ("RGB", (0, 0, 0), (0, 0, 0))],
)
def test_png_colour_key_transparency_goes_white(mode, colour, key):
    """A grey or RGB PNG may mark one colour transparent (tRNS) instead of an alpha channel."""
    image = Image.new(mode, (4, 4), colour)
    image.putpixel((0, 0), 200 if mode == "L" else (200, 10, 10))
    out = pixels(encode(image, "PNG", transparency=key))
    assert tuple(out[1, 1]) == WHITE
    assert tuple(out[0, 0]) == ((200,) * 3 if mode == "L" else (200, 10, 10))


def test_gif():
    image = Image.new("RGB", (20, 10), RED).convert("P")
    out = pixels(encode(image, "GIF"))
    assert out.shape == (10, 20, 3)
    assert close(out, RED, 0)


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "PNG"])
def test_animated_images_give_their_first_frame(fmt):
    frames = [Image.new("RGB", (16, 16), c) for c in (GREEN, RED, BLUE)]
    options = {"lossless": True} if fmt == "WEBP" else {}
    data = encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, **options)
    assert getattr(Image.open(io.BytesIO(data)), "n_frames", 1) == 3  # really animated
    assert close(pixels(data), GREEN, 2)


def test_webp_lossy_and_lossless():
    source = photo()
    assert np.array_equal(pixels(encode(source, "WEBP", lossless=True)), np.asarray(source))
    lossy = pixels(encode(source, "WEBP", quality=90))
    assert lossy.shape == (120, 160, 3)
    assert np.abs(lossy.astype(int) - np.asarray(source, int)).mean() < 6


@pytest.mark.parametrize("compression", [None, "tiff_lzw"])
def test_tiff(compression):
    source = photo()
    options = {"compression": compression} if compression else {}
    assert np.array_equal(pixels(encode(source, "TIFF", **options)), np.asarray(source))


def test_cmyk_jpeg():
    cyan = Image.new("CMYK", (32, 32), (255, 0, 0, 0))
    data = encode(cyan, "JPEG", quality=95)
    assert Image.open(io.BytesIO(data)).mode == "CMYK"
    assert close(pixels(data), (0, 255, 255), 6)


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_16_bit_grey_keeps_the_high_byte(fmt):
    values = (np.arange(64 * 64).reshape(64, 64) * 16).astype(np.uint16)  # 0 .. 65520
    data = encode(Image.fromarray(values), fmt)
    assert Image.open(io.BytesIO(data)).mode.startswith("I;16")
    out = pixels(data)
    assert out.shape == (64, 64, 3)
    assert (out[..., 0] == out[..., 1]).all() and (out[..., 1] == out[..., 2]).all()
    assert close(out[..., 0], values >> 8, 1)


def test_dark_16_bit_image_stays_dark():
    """200 out of 65535 is near black; reading it as 200 out of 255 would invent an image."""
    data = encode(Image.fromarray(np.full((8, 8), 200, np.uint16)), "PNG")
    assert (pixels(data) <= 1).all()


def test_grayscale():
    grey = Image.new("L", (10, 6), 100)
    assert close(pixels(encode(grey, "PNG")), (100, 100, 100), 0)
    assert close(pixels(encode(grey, "JPEG", quality=95)), (100, 100, 100), 2)


def test_one_bit():
    checker = (np.indices((8, 8)).sum(axis=0) % 2).astype(bool)
    out = pixels(encode(Image.fromarray(checker), "PNG"))
    assert set(np.unique(out)) == {0, 255}
    assert (out[..., 0] == np.where(checker, 255, 0)).all()


@pytest.mark.parametrize(("orientation", "top_colour"), [(6, RED), (8, BLUE)])
def test_exif_orientation_is_applied(orientation, top_colour):
    """Cameras store pixels sideways with a tag: 6 = turn 90 clockwise, 8 = counter-clockwise.

    Stored: 80 wide x 40 high, left half red, right half blue. Turned clockwise the left
    (red) edge becomes the top; turned counter-clockwise the right (blue) edge does."""
    stored = np.zeros((40, 80, 3), np.uint8)
    stored[:, :40] = RED
    stored[:, 40:] = BLUE
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encode(Image.fromarray(stored), "JPEG", quality=95, exif=exif.tobytes())
    image = decode_image(data)
    assert image.size == (40, 80)  # width and height swapped
    out = np.asarray(image)
    bottom_colour = BLUE if top_colour == RED else RED
    assert close(out[5:35, 5:35], top_colour, 12)
    assert close(out[45:75, 5:35], bottom_colour, 12)


def test_large_jpeg_uses_draft_and_gives_the_same_output():
    """A 4000x3000 JPEG is decoded at reduced scale for a 224 px model: same output shape,
    nearly the same pixels as a full decode, and neither side below the requested size."""
    big = photo(4000, 3000, seed=3)
    data = encode(big, "JPEG", quality=90)
    drafted = decode_image(data, min_size=224)
    assert drafted.size != (4000, 3000)
    assert min(drafted.size) >= 224
    assert decode_image(data).size == (4000, 3000)
    fast = preprocess(data, 224)
    assert fast.shape == (224, 224, 3) and fast.dtype == np.uint8
    from classifier.images import resize_center_crop

    full = resize_center_crop(decode_image(data), 224)
    assert np.abs(fast.astype(int) - full.astype(int)).mean() < 3


# --- refusals ------------------------------------------------------------------------


def assert_refused(data: bytes, error: type[ImageError], message: str, **kwargs) -> ImageError:
    with pytest.raises(error, match=message) as info:
        preprocess(data, 224, **kwargs)
    assert isinstance(info.value, ImageError) and isinstance(info.value, ValueError)
    assert info.value.kind == error.kind
    return info.value


def test_error_kinds_are_distinct():
    kinds = [c.kind for c in (ImageError, EmptyImageError, NotAnImageError, CorruptImageError,
                              ImageTooLargeError)]
    assert len(set(kinds)) == len(kinds)


def test_empty_bytes():
    assert_refused(b"", EmptyImageError, "empty")


@pytest.mark.parametrize("fraction", [0.02, 0.5, 0.9, 0.99])
def test_truncated_jpeg(fraction):
    data = encode(photo(), "JPEG", quality=95)
    assert_refused(data[: int(len(data) * fraction)], CorruptImageError, "corrupt|truncated")


@pytest.mark.parametrize("cut", [8, 20, 33, 40, 100, 0.5, 0.9])
def test_truncated_png(cut):
    """Cut in the signature, in the header, or in the pixel data: corrupt, not "not an image"."""
    data = encode(photo(), "PNG")
    end = cut if isinstance(cut, int) else int(len(data) * cut)
    assert_refused(data[:end], CorruptImageError, "corrupt|truncated")


def test_random_garbage():
    garbage = np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8).tobytes()
    assert_refused(garbage, NotAnImageError, "not an image")


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"<!DOCTYPE html>\n<html><body>502 Bad Gateway</body></html>", "HTML page"),
        (b"\n  <html><head><title>Error</title></head></html>", "HTML page"),
        (
            b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><rect/></svg>',
            "XML text",
        ),
        (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>', "SVG"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n", "PDF"),
        (b'{"error": {"code": "badtitle", "info": "Bad title"}}', "JSON"),
        (b"Error 503 Service Unavailable", "not an image"),
    ],
)
def test_text_that_is_not_an_image(data, says):
    assert_refused(data, NotAnImageError, says)


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_with_size(width: int, height: int) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b""))
        + _png_chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    "data",
    [
        _png_with_size(0, 0),
        _png_with_size(0, 10),
        _png_with_size(10, 0),
        b"GIF89a" + struct.pack("<HH", 0, 0) + b"\x00\x00\x00;",
    ],
    ids=["png-0x0", "png-0x10", "png-10x0", "gif-0x0"],
)
def test_zero_size(data):
    assert_refused(data, EmptyImageError, "zero size")


@pytest.fixture
def no_decoding(monkeypatch):
    """Make any pixel decoding fail loudly, to prove a refusal happens before it."""

    def load(self):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)


def test_decompression_bomb_refused_before_decoding(no_decoding):
    """A 1-bit 6000x6000 PNG is a few kB but 36 MP; the cap is checked on the header."""
    bomb = encode(Image.new("1", (6000, 6000)), "PNG")
    assert len(bomb) < 20_000
    start = time.perf_counter()
    error = assert_refused(bomb, ImageTooLargeError, "6000x6000", max_pixels=1_000_000)
    assert "exceeds the cap" in str(error)
    assert time.perf_counter() - start < 0.5


def test_huge_declared_size_refused_before_decoding(no_decoding):
    """Beyond Pillow's own bomb limit (20000x20000 = 400 MP) with the default cap."""
    bomb = encode(Image.new("1", (20000, 20000)), "PNG")
    assert len(bomb) < 100_000
    assert_refused(bomb, ImageTooLargeError, "too large")
    # a header alone that claims 100000 x 100000 pixels
    assert_refused(_png_with_size(100_000, 100_000), ImageTooLargeError, "too large")


def test_within_cap_still_decodes():
    data = encode(Image.new("1", (1200, 800)), "PNG")
    assert decode_image(data, max_pixels=1200 * 800).size == (1200, 800)
    with pytest.raises(ImageTooLargeError):
        decode_image(data, max_pixels=1200 * 800 - 1)


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow warns about damaged EXIF/tags
def test_corrupted_bytes_only_ever_raise_image_errors():
    """Random byte damage anywhere (headers, EXIF, pixel data) is an ImageError or decodes."""
    rng = np.random.default_rng(7)
    sources = [
        encode(photo(64, 48), "JPEG"),
        encode(photo(64, 48), "PNG"),
        encode(photo(64, 48).convert("P"), "GIF"),
        encode(photo(64, 48), "WEBP"),
        encode(photo(64, 48), "TIFF"),
    ]
    for i in range(600):
        data = bytearray(sources[i % len(sources)])
        for _ in range(int(rng.integers(1, 8))):
            data[int(rng.integers(0, len(data)))] = int(rng.integers(0, 256))
        try:
            out = preprocess(bytes(data), 32)
        except ImageError:
            continue
        assert out.shape == (32, 32, 3) and out.dtype == np.uint8


# --- preprocess ----------------------------------------------------------------------


def three_bands(width: int, height: int) -> Image.Image:
    """Red | green | blue along the long side, green filling the centre square."""
    array = np.zeros((height, width, 3), np.uint8)
    short, long_ = min(width, height), max(width, height)
    start = (long_ - short) // 2
    view = array if height >= width else array.transpose(1, 0, 2)  # long side first
    view[:start], view[start : start + short], view[start + short :] = RED, GREEN, BLUE
    return Image.fromarray(array)


@pytest.mark.parametrize(("width", "height"), [(600, 200), (200, 600), (300, 300), (90, 40)])
def test_preprocess_shape_and_centre_crop(width, height):
    """Shorter side to the model size, then the centre square: only the green centre remains."""
    out = preprocess(encode(three_bands(width, height), "PNG"), 224)
    assert out.shape == (224, 224, 3) and out.dtype == np.uint8
    # bilinear blending may touch the outermost columns at the band edges
    inner = out[:, 3:-3] if width >= height else out[3:-3]
    assert close(inner, GREEN, 0)
    assert close(out[112, 112], GREEN, 0)


def test_preprocess_other_size():
    assert preprocess(encode(photo(), "JPEG"), 96).shape == (96, 96, 3)


@pytest.mark.parametrize(("width", "height"), [(4, 20000), (20000, 4)])
def test_extreme_strip_is_cheap(width, height):
    """A 4x20000 strip (80 kP, well under the cap) must not be scaled to 224 x 1.1 M first."""
    data = encode(three_bands(width, height), "PNG")
    start = time.perf_counter()
    out = preprocess(data, 224)
    assert time.perf_counter() - start < 0.5
    assert out.shape == (224, 224, 3)
    assert close(out[100:124, 100:124], GREEN, 0)


def test_preprocess_is_deterministic():
    data = encode(photo(), "JPEG")
    assert np.array_equal(preprocess(data, 224), preprocess(data, 224))


# --- hostile files: bounded cost before and during decoding (issue 15) ---------------

BOT_CAP = 64_000_000  # the bot's [thumbnails] max_decoded_bytes default


def refused_by_the_bot(data: bytes, error: type[ImageError], message: str) -> None:
    """Decoding as the bot does (bot.thumbnail_pixels) raises `error`."""
    with pytest.raises(error, match=message) as info:
        decode_image(data, min_size=224, max_decoded_bytes=BOT_CAP, reduce=True)
    assert info.value.kind == error.kind


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (hostile_images.grey16_strip, "I;16 needs 99,000,000 bytes decoded"),
        (hostile_images.int32_tiff, "I needs 144,000,000 bytes decoded"),
        (hostile_images.wide_webp, "RGB needs 786,384,000 bytes decoded"),
    ],
    ids=["16-bit strip 330x150000", "int32 tiff", "wide webp"],
)
def test_decoded_size_refused_before_decoding(make, says, no_decoding):
    """Under the 50 MP cap, but 2 or 4 bytes a pixel: the decoded buffer is the cost."""
    data = make()
    assert len(data) < 500_000
    refused_by_the_bot(data, ImageTooLargeError, says)


def test_progressive_jpeg_counts_its_coefficients():
    """libjpeg keeps every coefficient of a progressive JPEG, whatever the draft scale."""
    data = encode(Image.new("RGB", (6000, 6000), RED), "JPEG", progressive=True)
    refused_by_the_bot(data, ImageTooLargeError, "bytes decoded")
    baseline = encode(Image.new("RGB", (6000, 6000), RED), "JPEG")
    assert decode_image(baseline, min_size=224, max_decoded_bytes=BOT_CAP).size == (750, 750)


def test_scan_bomb_refused_before_decoding(no_decoding):
    data = hostile_images.scan_bomb(scans=2000, side=1024)
    refused_by_the_bot(data, ImageTooComplexError, "2,010 scans exceeds the cap of 100")


@pytest.mark.parametrize(
    "data",
    [
        hostile_images.ico_with_big_png(),
        encode(Image.new("RGB", (8, 8)), "BMP"),
        encode(Image.new("RGB", (8, 8)), "ICO"),
        encode(Image.new("RGB", (8, 8)), "EPS"),
        encode(Image.new("RGB", (8, 8)), "PCX"),
    ],
    ids=["ico-with-12000px-png", "bmp", "ico", "eps", "pcx"],
)
def test_only_thumbnail_formats_are_opened(data, no_decoding):
    """No plugin but JPEG, PNG, GIF, WebP and TIFF sees the bytes (EPS runs Ghostscript)."""
    refused_by_the_bot(data, NotAnImageError, "JPEG, PNG, GIF, WebP or TIFF")


@pytest.mark.parametrize(
    ("image", "fmt", "options"),
    [
        (Image.new("P", (1600, 1500), 1), "PNG", {"transparency": 0}),
        (Image.new("P", (1600, 1500), 1), "GIF", {}),
        (Image.new("I;16", (1300, 2600), 40_000), "PNG", {}),
        (Image.new("I", (1500, 1500), 300), "TIFF", {}),
        (Image.new("L", (3000, 2000), 77), "PNG", {}),
    ],
    ids=["palette+tRNS", "gif", "16-bit", "int32", "grey"],
)
def test_large_images_are_converted_in_reduced_bands(image, fmt, options):
    """Bigger than one band: converted a band at a time and reduced by a whole factor,
    with the pixels the whole-image conversion gives (stripes prove the band seams)."""
    if image.mode == "P":
        image.putpalette([0, 0, 0, 200, 30, 30, 20, 90, 250] + [0] * 759)
        stripes = np.asarray(image).copy()
        stripes[::7] = 2
        image = Image.fromarray(stripes, "P")
        image.putpalette([0, 0, 0, 200, 30, 30, 20, 90, 250] + [0] * 759)
    data = encode(image, fmt, **options)
    small = decode_image(data, min_size=100, reduce=True)
    factor = min(image.size) // 300
    assert factor > 1 and small.size == tuple(-(-side // factor) for side in image.size)
    whole = decode_image(data)
    assert close(small, whole.reduce(factor), 0)
    assert close(decode_image(data, min_size=100), whole, 0)  # without reduce: exact


SLOW = {
    "palette+tRNS PNG 7000x7000": hostile_images.palette_trns,
    "GIF 7000x7000": hostile_images.big_gif,
    "progressive JPEG, 100 scans": lambda: hostile_images.scan_bomb(90, 3000),
}


@pytest.mark.parametrize("make", SLOW.values(), ids=SLOW.keys())
def test_a_deadline_stops_decoding_part_way(make):
    """Files within every cap that take 0.4-0.9 s to decode here: a deadline 0.05 s away
    stops the decoding itself (not only the caller after it), and a generous one
    changes no pixel (the decoder fed in small chunks decodes the same image)."""
    data = make()
    options = {"min_size": 224, "max_decoded_bytes": 64_000_000, "reduce": True}
    began = time.monotonic()
    whole = decode_image(data, **options)
    whole_seconds = time.monotonic() - began
    began = time.monotonic()
    with pytest.raises(ImageTimeoutError):
        decode_image(data, **options, deadline=began + 0.05)
    assert time.monotonic() - began < whole_seconds / 2  # stopped part way, not at the end
    paced = decode_image(data, **options, deadline=time.monotonic() + 600)
    assert np.array_equal(np.asarray(paced), np.asarray(whole))


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP", "TIFF"])
def test_a_generous_deadline_changes_no_pixel_of_an_ordinary_image(fmt):
    data = encode(photo(330, 248) if fmt != "GIF" else photo(330, 248).quantize(), fmt)
    assert np.array_equal(pixels(data, min_size=224, deadline=time.monotonic() + 600),
                          pixels(data, min_size=224))  # fmt: skip
