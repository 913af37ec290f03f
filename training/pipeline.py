"""The tf.data input pipeline: cached decoded thumbnails, batches, Commons-safe augmentation.

Decoding goes through `classifier.images.preprocess`, the function the bot serves with,
so a model never sees pixels prepared differently from production. Decoding a
thumbnail costs far more than a training step of a small model, so every image is
decoded once into an uint8 array file in the cache folder (keyed by the images' content
hashes and the input size) and read back by memory map in later epochs and commands.

Augmentation is mild and geometric only where it keeps meaning: random crops of most of
the image, small brightness and contrast changes, and left-right flips only for images
without a label in `no_flip_labels` (mirrored text, maps, flags, logos and diagrams are
wrong pictures, not new examples). No vertical flips or rotations: Commons photographs
are upright.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import tensorflow as tf
from tqdm import tqdm

from classifier.images import ImageError, preprocess
from classifier.taxonomy import Taxonomy
from training.config import AugmentConfig, Config
from training.dataset import label_matrix, split_field

log = logging.getLogger(__name__)

# Bump when classifier.images.preprocess changes what it returns, to invalidate caches.
PREPROCESS_REVISION = 1


@dataclass(frozen=True)
class SplitArrays:
    """One split, ready for tf.data: pixels (memory-mapped), targets, flip permission."""

    pixels: np.ndarray  # (N, S, S, 3) uint8
    targets: np.ndarray  # (N, n_labels) float32
    flip_ok: np.ndarray  # (N,) bool
    valid: np.ndarray  # indices of rows that decoded
    rows: pd.DataFrame

    def __len__(self) -> int:
        return len(self.valid)


def decoded_cache(
    paths: list[str], hashes: list[str], size: int, cache_dir: Path
) -> tuple[np.ndarray, np.ndarray]:
    """Decode every image once into `cache_dir`; returns (pixels memmap, decoded-ok mask).

    An image that `preprocess` refuses is zero-filled and masked out (and logged), the
    same outcome the bot records for it, rather than a crash of the whole run.
    """
    key = hashlib.sha256(
        f"{PREPROCESS_REVISION}:{size}:{','.join(hashes)}".encode()
    ).hexdigest()[:20]
    target = cache_dir / f"decoded-{size}px-{len(hashes)}-{key}.npy"
    ok_path = target.with_suffix(".ok.npy")
    if target.is_file() and ok_path.is_file():
        return np.load(target, mmap_mode="r"), np.load(ok_path)
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part.npy")
    pixels = np.lib.format.open_memmap(partial, mode="w+", dtype=np.uint8,
                                       shape=(len(paths), size, size, 3))
    ok = np.ones(len(paths), dtype=bool)
    for i, path in enumerate(tqdm(paths, desc=f"decoding at {size}px", unit="image")):
        try:
            pixels[i] = preprocess(Path(path).read_bytes(), size)
        except (ImageError, OSError) as err:
            ok[i] = False
            log.warning("skipped %s: %s", path, err)
    pixels.flush()
    del pixels
    partial.replace(target)
    np.save(ok_path, ok)
    return np.load(target, mmap_mode="r"), ok


def split_arrays(
    config: Config, taxonomy: Taxonomy, built: pd.DataFrame, split: str
) -> SplitArrays:
    """The rows of one split of a built table, decoded (from the cache when present)."""
    rows = built[built["split"] == split].reset_index(drop=True)
    pixels, ok = decoded_cache(
        list(rows["image"]), list(rows["sha256"]), config.data.input_size,
        Path(config.data.cache),
    )
    no_flip = set(config.data.no_flip_labels)
    flip_ok = np.array([not (no_flip & set(split_field(v))) for v in rows["labels"]])
    return SplitArrays(pixels, label_matrix(rows["labels"], taxonomy), flip_ok,
                       np.flatnonzero(ok), rows)


def augment(pixels: tf.Tensor, flip_ok: tf.Tensor, config: AugmentConfig,
            seed: tf.Tensor) -> tf.Tensor:
    """A batch of float pixels in [0, 255] -> randomly cropped, flipped, lit variants."""
    n = tf.shape(pixels)[0]
    size = tf.shape(pixels)[1:3]
    seeds = tf.random.experimental.stateless_split(seed, 5)
    scale = tf.random.stateless_uniform((n, 2), seeds[0], config.crop_scale, 1.0)
    start = tf.random.stateless_uniform((n, 2), seeds[1]) * (1.0 - scale)
    y1, x1 = start[:, 0], start[:, 1]
    y2, x2 = y1 + scale[:, 0], x1 + scale[:, 1]
    flip = tf.logical_and(
        flip_ok, tf.random.stateless_uniform((n,), seeds[2]) < 0.5
    ) if config.flip else tf.zeros((n,), tf.bool)
    # crop_and_resize mirrors a crop whose x1 > x2: flipping costs nothing extra.
    boxes = tf.stack([y1, tf.where(flip, x2, x1), y2, tf.where(flip, x1, x2)], axis=1)
    out = tf.image.crop_and_resize(pixels, boxes, tf.range(n), size)
    brightness = tf.random.stateless_uniform((n, 1, 1, 1), seeds[3], -1.0, 1.0)
    contrast = tf.random.stateless_uniform((n, 1, 1, 1), seeds[4], -1.0, 1.0)
    mean = tf.reduce_mean(out, axis=[1, 2, 3], keepdims=True)
    out = (out - mean) * (1.0 + config.contrast * contrast) + mean
    out = out + 255.0 * config.brightness * brightness
    return tf.clip_by_value(out, 0.0, 255.0)


def make_dataset(
    data: SplitArrays, batch_size: int, training: bool, config: Config
) -> tf.data.Dataset:
    """(pixels float32 in [0, 255], multi-hot targets) batches; shuffled and augmented
    (seeded) when training, in row order otherwise."""
    size = data.pixels.shape[1]
    n_labels = data.targets.shape[1]

    def gather(index: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        index = np.sort(index)  # sequential reads from the memory map
        return data.pixels[index], data.targets[index], data.flip_ok[index]

    def load(index):
        pixels, targets, flip_ok = tf.numpy_function(
            gather, [index], [tf.uint8, tf.float32, tf.bool], stateful=False
        )
        pixels = tf.ensure_shape(pixels, (None, size, size, 3))
        return (tf.cast(pixels, tf.float32), tf.ensure_shape(targets, (None, n_labels)),
                tf.ensure_shape(flip_ok, (None,)))

    ds = tf.data.Dataset.from_tensor_slices(data.valid.astype(np.int64))
    if training:
        ds = ds.shuffle(len(data.valid), seed=config.seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size).map(load, num_parallel_calls=tf.data.AUTOTUNE)
    if training:
        seeds = tf.data.Dataset.random(seed=config.seed).batch(2)
        ds = tf.data.Dataset.zip((ds, seeds)).map(
            lambda batch, seed: (augment(batch[0], batch[2], config.augment, seed), batch[1]),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    else:
        ds = ds.map(lambda pixels, targets, _: (pixels, targets))
    return ds.prefetch(tf.data.AUTOTUNE)
