"""Real photographs that ship inside installed packages, and realistic variants of them;
also the real logos and flags that packages ship (the default model's real-image checks).

No data set can be downloaded here, yet quantization needs a representative data set
and the int8 model must be checked against the float one on real pictures. These
photos (public domain or freely licensed, shipped by scikit-image, scikit-learn,
matplotlib and, when installed, Debian's opencv-doc) are the real material; seeded
crops, rescalings, small rotations, colour changes and JPEG re-encoding make the
"realistic" variants that Commons thumbnails resemble.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance

from classifier.artifact import ModelCard
from classifier.images import preprocess

# skimage.data images that ship in the wheel (others are downloaded on first use).
SKIMAGE_PHOTOS = (
    "astronaut",
    "brick",
    "camera",
    "chelsea",
    "coffee",
    "coins",
    "grass",
    "gravel",
    "horse",
    "hubble_deep_field",
    "immunohistochemistry",
    "moon",
    "page",
    "retina",
    "rocket",
    "text",
    "clock",
    "microaneurysms",
)
OPENCV_SAMPLES = Path("/usr/share/doc/opencv-doc/examples/data")
REAL_FLAGS = Path("/usr/share/iso-flags-png-320x240")


def _png_bytes(array: np.ndarray) -> bytes:
    if array.dtype != np.uint8:
        array = (255 * (array.astype(np.float64) / max(float(array.max()), 1e-9))).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def package_photos(include_opencv: bool = True) -> dict[str, bytes]:
    """name -> encoded bytes of every real photo found in the installed packages."""
    photos: dict[str, bytes] = {}
    import skimage.data

    for name in SKIMAGE_PHOTOS:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                photos[f"skimage/{name}"] = _png_bytes(getattr(skimage.data, name)())
        except Exception:  # noqa: BLE001 - an image missing from this skimage version is skipped
            continue
    from sklearn.datasets import load_sample_images

    for filename, array in zip(("china", "flower"), load_sample_images().images, strict=False):
        photos[f"sklearn/{filename}"] = _png_bytes(array)
    import matplotlib

    hopper = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    if hopper.is_file():
        photos["matplotlib/grace_hopper"] = hopper.read_bytes()
    if include_opencv and OPENCV_SAMPLES.is_dir():
        for path in sorted(OPENCV_SAMPLES.glob("*")):
            if path.suffix.lower() in (".jpg", ".jpeg", ".png") and path.stat().st_size > 20_000:
                photos[f"opencv/{path.stem}"] = path.read_bytes()
    return photos


def real_flags() -> dict[str, bytes]:
    """Country flags that Debian ships as PNG (iso-flags-png-320x240, public domain; drawn
    from Linux Mint's own SVGs, not by the builder): the real-flag check. Empty when the
    package is not installed."""
    return {f"iso-flags/{p.stem}": p.read_bytes() for p in sorted(REAL_FLAGS.glob("*.png"))}


def real_logos() -> dict[str, bytes]:
    """Logos that ship in packages (not rendered by the builder): the real-logo check."""
    import matplotlib
    import skimage.data

    logos = {}
    mpl = Path(matplotlib.get_data_path()) / "sample_data" / "logo2.png"
    if mpl.is_file():
        logos["matplotlib/logo2"] = mpl.read_bytes()
    logos["skimage/logo"] = _png_bytes(skimage.data.logo())  # RGBA: alpha on white
    for name in ("opencv-logo", "opencv-logo-white", "LinuxLogo", "WindowsLogo"):
        for path in sorted(OPENCV_SAMPLES.glob(f"{name}.*")):
            logos[f"opencv/{name}"] = path.read_bytes()
    return logos


def variant(data: bytes, rng: np.random.Generator) -> bytes:
    """One realistic variant: crop, rescale, small rotation, colour change, JPEG quality."""
    image = Image.open(io.BytesIO(data)).convert("RGB")
    w, h = image.size
    area = rng.uniform(0.45, 1.0)
    aspect = rng.uniform(0.75, 1.33)
    cw = min(w, int(round(w * np.sqrt(area * aspect))))
    ch = min(h, int(round(h * np.sqrt(area / aspect))))
    left, top = rng.integers(0, w - cw + 1), rng.integers(0, h - ch + 1)
    image = image.crop((left, top, left + cw, top + ch))
    if rng.random() < 0.5:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if rng.random() < 0.3:
        image = image.rotate(rng.uniform(-8, 8), resample=Image.Resampling.BILINEAR, expand=False)
    image = ImageEnhance.Brightness(image).enhance(rng.uniform(0.75, 1.25))
    image = ImageEnhance.Contrast(image).enhance(rng.uniform(0.75, 1.25))
    image = ImageEnhance.Color(image).enhance(rng.uniform(0.7, 1.3))
    width = int(rng.choice([250, 330, 500]))
    image = image.resize((width, max(1, round(image.size[1] * width / image.size[0]))))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=int(rng.integers(60, 95)))
    return buffer.getvalue()


def variants(photos: dict[str, bytes], per_photo: int, seed: int) -> dict[str, bytes]:
    """`per_photo` seeded variants of each photo, named "<photo>#<k>"."""
    rng = np.random.default_rng(seed)
    return {
        f"{name}#{k}": variant(data, rng)
        for name, data in sorted(photos.items())
        for k in range(per_photo)
    }


def quantization_split(
    photos: dict[str, bytes],
) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """The package photos as (calibration, evaluation) for int8: every other one by sorted
    name, so that no photo used to set the int8 ranges (nor a variant of it) is used to
    measure the int8 model against its float reference."""
    names = sorted(photos)
    return {n: photos[n] for n in names[0::2]}, {n: photos[n] for n in names[1::2]}


def calibration_images(calibration_photos: dict[str, bytes]) -> dict[str, bytes]:
    """The int8 representative set: the calibration photos and 3 seeded variants of each."""
    return {**calibration_photos, **variants(calibration_photos, 3, seed=1)}


def evaluation_images(evaluation_photos: dict[str, bytes], per_photo: int = 4) -> dict[str, bytes]:
    """The int8/float comparison set: the evaluation photos and seeded variants of each."""
    return {**evaluation_photos, **variants(evaluation_photos, per_photo, seed=2)}


def pixels(images: dict[str, bytes], size: int) -> np.ndarray:
    """(N, size, size, 3) uint8: the images preprocessed as the classifier does."""
    return np.stack([preprocess(data, size) for data in images.values()])


def recorded_split(card: ModelCard) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """`quantization_split` of the installed package photos, checked against the split
    that `card`'s build recorded, so that scripts and tests re-examining a committed
    model's int8 error measure it on the same images. ValueError when they differ
    (other package versions, or opencv-doc installed on one side only)."""
    calibration, evaluation = quantization_split(package_photos())
    if sorted(evaluation) != sorted(card.provenance.get("evaluation_photos") or []):
        raise ValueError("the package photos here differ from the ones the model's build "
                         "evaluated on")
    return calibration, evaluation
