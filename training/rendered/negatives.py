"""More real-photo negatives for the learned labels, from data installed offline.

The ~100 package photos are too few and too alike to teach the learned head what a
photograph that is NOT a flag, logo, diagram, molecule or formula looks like: a dark
silhouette on a light ground (scikit-image's horse) or a chessboard pattern scored as
Maps & Flags or Diagrams. These sources add real photographs of other kinds, each row
with its own source item (the split unit) and licence:

- "fashion-mnist": Zalando's Fashion-MNIST product photos (Debian `dataset-fashion-mnist`,
  /usr/share/datasets/fashion-mnist, MIT/Expat): single garments and shoes, grey,
  centred on a plain ground: exactly the "one shape on a flat background" layout that
  logos and flags share.
- "silhouettes": the same Fashion-MNIST garments (other items) cut out as one flat dark
  shape on a light ground, like a pictogram or a shadow-play figure. Real photos alone did
  not teach the head that a dark blob on white is not a country outline: v2 2.0.0 still
  scored scikit-image's horse silhouette at 0.18 for Maps & Flags (threshold 0.14).
- "lfw": scikit-image's `lfw_subset` (100 faces and 100 background patches cropped from
  Labeled Faces in the Wild news photos, shipped in the scikit-image wheel).

Both are tiny (28 and 25 px) and are upscaled like a small Commons upload shown as a
thumbnail. Neither holds any of the package photos, so the package-photo check stays
out of training.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import numpy as np
from PIL import Image

FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
LICENCES = {
    "fashion-mnist": "MIT (Expat), Zalando Research; Debian dataset-fashion-mnist",
    "silhouettes": "MIT (Expat), Zalando Research; Debian dataset-fashion-mnist, thresholded "
    "into silhouettes by training.rendered.negatives",
    "lfw": "Labeled Faces in the Wild subset as shipped by scikit-image (skimage.data."
    "lfw_subset; news photos, research data set)",
}
SOURCES = tuple(LICENCES)
KINDS = {"fashion-mnist": "product-photo", "silhouettes": "silhouette", "lfw": "face-photo"}


def _idx_images(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        data = f.read()
    n, rows, cols = (int.from_bytes(data[i : i + 4], "big") for i in (4, 8, 12))
    return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(n, rows, cols)


def _idx_labels(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=8)


def _upscaled_png(array: np.ndarray, rng: np.random.Generator) -> bytes:
    width = int(rng.choice([120, 180, 250, 330]))
    image = Image.fromarray(array).convert("RGB").resize((width, width), Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _fashion_mnist(n: int, rng: np.random.Generator) -> list[tuple[int, np.ndarray]]:
    """(index, image) of about `n` training garments, the same number of each class."""
    images = _idx_images(FASHION_MNIST / "train-images-idx3-ubyte.gz")
    labels = _idx_labels(FASHION_MNIST / "train-labels-idx1-ubyte.gz")
    per_class = max(1, n // 10)
    chosen = sorted(
        int(i) for c in range(10) for i in rng.permutation(np.flatnonzero(labels == c))[:per_class]
    )
    return [(i, images[i]) for i in chosen]


def _silhouette(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The garment (bright on black in Fashion-MNIST) as one dark shape on a light ground."""
    ink, ground = int(rng.integers(0, 70)), int(rng.integers(200, 256))
    return np.where(image > 24, ink, ground).astype(np.uint8)


def items(source: str, n: int, seed: int) -> list[tuple[str, np.ndarray]]:
    """(source item, greyscale array) for up to `n` seeded items of one source."""
    rng = np.random.default_rng(seed)
    if source == "fashion-mnist":
        return [(f"fashion-mnist/train/{i}", image) for i, image in _fashion_mnist(n, rng)]
    if source == "silhouettes":
        # Another seed: other garments than the "fashion-mnist" source's.
        rng = np.random.default_rng(seed + 1)
        return [
            (f"fashion-mnist-silhouette/train/{i}", _silhouette(image, rng))
            for i, image in _fashion_mnist(n, rng)
        ]
    if source == "lfw":
        import skimage.data

        faces = skimage.data.lfw_subset()
        faces = (255 * faces / max(float(faces.max()), 1e-9)).astype(np.uint8)
        chosen = sorted(int(i) for i in rng.permutation(len(faces))[:n])
        return [(f"lfw/subset/{i}", faces[i]) for i in chosen]
    raise ValueError(f"unknown negative source {source!r}; known: {', '.join(SOURCES)}")
