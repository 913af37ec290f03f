"""How much int8/float agreement is left to win? The int8 model beside simulated errors.

    .venv/bin/python scripts/int8_noise_floor.py --float-model runs/default-model-v2/float

On the images the default model's build evaluated int8 against float (every other
package photo and 4 seeded variants of each), prints the top-level agreement with the
float reference of: the float scores rounded to steps of 1/255, about the uint8
output's step (what a perfect int8 graph would still lose); the float scores with
Gaussian noise of a given standard deviation added to their logits (an int8 graph with
unbiased errors of that size); and the committed int8 model itself. A benchmark of the
quantization, not a test.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from classifier.artifact import DEFAULT_MODEL_DIR
from classifier.model import TopicModel
from training import sample_images
from training.quantize import compare


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--float-model", type=Path, required=True,
                        help="the float reference the build wrote (its float/ folder)")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_DIR,
                        help="the int8 model (default: %(default)s)")
    parser.add_argument("--sigmas", type=float, nargs="+", default=[0.02, 0.05, 0.1, 0.2],
                        help="logit noise standard deviations to simulate (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=20,
                        help="noise draws per standard deviation (default: %(default)s)")
    args = parser.parse_args(argv)

    int8, float_ = TopicModel.load(args.model), TopicModel.load(args.float_model)
    try:
        _, photos = sample_images.recorded_split(int8.card)
    except ValueError as error:
        parser.error(str(error))
    pixels = sample_images.pixels(sample_images.evaluation_images(photos), int8.card.input_size)

    def scores(model: TopicModel) -> np.ndarray:
        return np.concatenate([model.predict_arrays(pixels[i : i + 1]) for i in range(len(pixels))])

    reference, quantized = scores(float_), scores(int8)
    scale = 1 / 255
    rows = {"float scores rounded to steps of 1/255": [np.round(reference / scale) * scale]}
    rng = np.random.default_rng(0)
    clipped = np.clip(reference, 1e-6, 1 - 1e-6)
    logits = np.log(clipped / (1 - clipped))
    for sigma in args.sigmas:
        rows[f"logit noise, standard deviation {sigma}"] = [
            1 / (1 + np.exp(-(logits + rng.normal(0, sigma, logits.shape))))
            for _ in range(args.repeats)
        ]
    rows[f"the int8 model ({int8.name} {int8.version})"] = [quantized]

    table = {}
    for row, draws in rows.items():
        table[row] = {
            point: round(float(np.mean([
                compare(d, reference, int8.taxonomy, op.thresholds)["top_level_agreement"]
                for d in draws
            ])), 4)
            for point, op in int8.card.operating_points.items()
        }
    print(f"top-level agreement with the float reference on {len(pixels)} images")
    print(json.dumps(table, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
