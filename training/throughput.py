"""Measure training throughput here, the basis of the cost estimate in training/README.md.

    python -m training.throughput [--size 224] [--batch 32] [--steps 6]

Times, on this machine: decoding and preprocessing a 330 px wide JPEG thumbnail (the
bot's standard width) with `classifier.images.preprocess`; a Lite0 training step with
the backbone frozen (forward through it, head updated); and one with the last four
blocks unfrozen. The first step of each is a warm-up and is not counted.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time

import numpy as np
from PIL import Image


def _decode_ms(size: int, repeats: int = 50) -> float:
    from skimage import data

    from classifier.images import preprocess

    photo = Image.fromarray(data.astronaut()).resize((330, 330))
    buffer = io.BytesIO()
    photo.save(buffer, format="JPEG", quality=85)
    encoded = buffer.getvalue()
    start = time.perf_counter()
    for _ in range(repeats):
        preprocess(encoded, size)
    return (time.perf_counter() - start) * 1000 / repeats


def _step_images_per_second(size: int, batch: int, steps: int, unfreeze: int | None) -> float:
    from tensorflow import keras

    from classifier.taxonomy import load_taxonomy
    from training.config import Config, DataConfig
    from training.heads import build_models, set_trainable
    from training.losses import build_loss

    taxonomy = load_taxonomy()
    config = Config(name="throughput", data=DataConfig(table="", input_size=size))
    model, _ = build_models(config, taxonomy)
    set_trainable(model, unfreeze)
    model.compile(optimizer=keras.optimizers.Adam(1e-4),
                  loss=build_loss("mcloss", taxonomy, np.ones(len(taxonomy.labels))))
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (batch, size, size, 3)).astype(np.float32)
    y = (rng.random((batch, len(taxonomy.labels))) < 0.1).astype(np.float32)
    model.train_on_batch(x, y)
    start = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(x, y)
    return batch * steps / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.throughput",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=224, help="input size (default: %(default)s)")
    parser.add_argument("--batch", type=int, default=32, help="batch size (default: %(default)s)")
    parser.add_argument("--steps", type=int, default=6, help="timed steps (default: %(default)s)")
    args = parser.parse_args(argv)
    result = {
        "input_size": args.size,
        "batch": args.batch,
        "preprocess_330px_jpeg_ms": round(_decode_ms(args.size), 2),
        "frozen_train_images_per_second":
            round(_step_images_per_second(args.size, args.batch, args.steps, None), 1),
        "finetune4_train_images_per_second":
            round(_step_images_per_second(args.size, args.batch, args.steps, 4), 1),
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
