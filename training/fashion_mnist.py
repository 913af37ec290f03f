"""Debian's `dataset-fashion-mnist` as a dataset table: real labelled images, offline.

    python -m training.fashion_mnist --out var/fashion-mnist --per-class 500

writes a seeded, class-balanced sample of the 70,000 28x28 grey product photos as PNG
files and a `table.csv` in the dataset-table format (`image`, `labels`), so that the
demonstration goes through exactly the path a Commons table takes: files on disk,
`classifier.images.preprocess`, the taxonomy in `configs/fashion-mnist-taxonomy.toml`.
"""

from __future__ import annotations

import argparse
import gzip
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from tqdm import tqdm

DATA_DIR = Path("/usr/share/datasets/fashion-mnist")
# The data set's own class order (its label byte is the index), from its README.
CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
PARTS = ("train", "t10k")


def available(data_dir: Path = DATA_DIR) -> bool:
    return all((data_dir / f"{p}-images-idx3-ubyte.gz").is_file() for p in PARTS)


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (the MNIST format: big-endian dims after a magic number) -> array."""
    data = gzip.decompress(path.read_bytes())
    dims = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def write_table(
    out: Path, per_class: int, seed: int, data_dir: Path = DATA_DIR
) -> Path:
    """Sample `per_class` images of each class from both parts, write PNGs and table.csv."""
    parts = [
        (p, read_idx(data_dir / f"{p}-images-idx3-ubyte.gz"),
         read_idx(data_dir / f"{p}-labels-idx1-ubyte.gz"))
        for p in PARTS
    ]
    images = np.concatenate([x for _, x, _ in parts])
    labels = np.concatenate([y for _, _, y in parts])
    origin = [f"{p}:{i}" for p, _, y in parts for i in range(len(y))]
    rng = np.random.default_rng(seed)
    chosen = np.sort(np.concatenate([
        rng.choice(np.flatnonzero(labels == c), per_class, replace=False)
        for c in range(len(CLASSES))
    ]))
    (out / "images").mkdir(parents=True, exist_ok=True)
    rows = []
    for i in tqdm(chosen, desc="writing PNGs", unit="image"):
        name = f"images/{origin[i].replace(':', '-')}.png"
        if not (out / name).is_file():
            Image.fromarray(images[i], mode="L").save(out / name)
        rows.append({"image": name, "labels": CLASSES[labels[i]], "origin": origin[i]})
    table = out / "table.csv"
    pd.DataFrame(rows).to_csv(table, index=False)
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training.fashion_mnist", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--out", type=Path, default=Path("var/fashion-mnist"),
                        help="folder for images/ and table.csv (default: %(default)s)")
    parser.add_argument("--per-class", type=int, default=500,
                        help="images per class (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="sample seed (default: %(default)s)")
    args = parser.parse_args(argv)
    if not available():
        print(f"no data in {DATA_DIR}: apt-get install dataset-fashion-mnist", file=sys.stderr)
        return 1
    print(write_table(args.out, args.per_class, args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
