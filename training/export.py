"""Export an evaluated run as a classifier model directory (int8 TFLite + model.json).

    python -m training.export runs/fashion-mnist-quick [--out DIR]

Converts the inference model (the checkpoint evaluated by training.evaluate) to
full-integer int8, calibrated on images drawn (seeded) from the TRAIN split, then runs
the int8 and the float model on the VALIDATION split and prints their agreement. If the
int8 top-level labels or label sets agree with the float ones on fewer images than
`min_top_level_agreement` / `min_label_agreement` at the default operating point, or the
mean |score| gap exceeds `max_mean_abs_difference` (all in the config's [export]),
nothing is written and the command exits 1. Otherwise it writes model.tflite,
model.json (labels, preprocessing, operating points, test metrics, agreement,
provenance) and MODEL_CARD.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from classifier.artifact import MODEL_FILE, ModelCard, OperatingPoint, write_card
from training.config import ExportConfig
from training.run_dir import BEST_WEIGHTS, CONFIG_FILE, TABLE_FILE, setup_logging

DEFAULT_POINT = "precision_0.9"
POINT_METHODS = {
    "precision_0.9": "maximum recall @ precision >= 0.9 on the validation split",
    "precision_0.7": "maximum recall @ precision >= 0.7 on the validation split",
}


class ExportRefused(RuntimeError):
    """The int8 model disagrees with the float model beyond the stated tolerance."""


def quantize_checked(model, representative: np.ndarray, check_pixels: np.ndarray, taxonomy,
                     thresholds, gate: ExportConfig) -> tuple[bytes, dict]:
    """(int8 TFLite bytes, agreement), or ExportRefused when the gate fails."""
    from training.quantize import compare, convert, gate_failures, run_tflite

    float_scores = run_tflite(convert(model, None), check_pixels)
    int8_bytes = convert(model, list(representative))
    int8_scores = run_tflite(int8_bytes, check_pixels)
    agreement = compare(int8_scores, float_scores, taxonomy, thresholds)
    agreement["gate"] = {k: v for k, v in vars(gate).items() if k != "representative_images"}
    print("int8 vs float on", json.dumps(agreement))
    failures = gate_failures(agreement, gate)
    if failures:
        raise ExportRefused("; ".join(failures))
    return int8_bytes, agreement


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _compact(metrics: dict) -> dict:
    """Test metrics for model.json: averages, violations and a per-label summary."""
    return {
        "images": metrics["images"],
        "averages": metrics["averages"],
        "hierarchy_violations": metrics["hierarchy_violations"],
        "per_label": {k: {m: v[m] for m in ("support", "precision", "recall", "f1", "pr_auc")}
                      for k, v in metrics["per_label"].items()},
    }


def export_run(run_dir: Path, out: Path, weights: str = BEST_WEIGHTS) -> dict:
    from training.model_card import write_model_card
    from training.pipeline import split_arrays
    from training.quantize import int8_quantization
    from training.run_dir import load_trained

    evaluation_path = run_dir / "evaluation.json"
    if not evaluation_path.is_file():
        raise FileNotFoundError(f"run python -m training.evaluate {run_dir} first")
    evaluation = json.loads(evaluation_path.read_text())
    if evaluation["weights"] != weights:
        raise ValueError(f"evaluation.json measured {evaluation['weights']}, not {weights}")
    config, taxonomy, built, model = load_trained(run_dir, weights)
    train = split_arrays(config, taxonomy, built, "train")
    validation = split_arrays(config, taxonomy, built, "validation")
    rng = np.random.default_rng(config.seed)
    chosen = np.sort(rng.choice(train.valid, min(config.export.representative_images,
                                                 len(train.valid)), replace=False))
    points = evaluation["operating_points"]
    int8_bytes, agreement = quantize_checked(
        model, train.pixels[chosen], validation.pixels[validation.valid], taxonomy,
        points[DEFAULT_POINT], config.export,
    )
    agreement["data"] = f"{agreement['images']} validation images (not used for calibration)"
    card = ModelCard(
        name=config.name,
        version=config.version,
        taxonomy_version=taxonomy.version,
        labels=taxonomy.labels,
        input_size=config.data.input_size,
        preprocessing=(f"classifier.images.preprocess at {config.data.input_size} px: decode, "
                       "shorter side scaled, centre crop, RGB uint8; the graph scales "
                       "(x - 127) / 128"),
        operating_points={n: OperatingPoint(n, POINT_METHODS[n], points[n]) for n in points},
        default_operating_point=DEFAULT_POINT,
        quantization=int8_quantization(
            model, f"{len(chosen)} train-split images, seed {config.seed}"
        ),
        metrics={"test": {n: _compact(m) for n, m in evaluation["test"].items()},
                 "int8_vs_float": agreement},
        provenance={
            "built": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "run_dir": str(run_dir),
            "weights": weights,
            "config_sha256": hashlib.sha256((run_dir / CONFIG_FILE).read_bytes()).hexdigest(),
            "table_sha256": hashlib.sha256((run_dir / TABLE_FILE).read_bytes()).hexdigest(),
            "git_commit": _git_commit(),
            "head": config.model.head,
            "loss": config.model.loss,
            "tflite_sha256": hashlib.sha256(int8_bytes).hexdigest(),
        },
        limitations=("Labels without an operating point (null) are never suggested.",
                     "Measured against the table's labels, on its test split only."),
        embedded_taxonomy=None if config.is_project_taxonomy() else taxonomy,
    )
    out.mkdir(parents=True, exist_ok=True)
    (out / MODEL_FILE).write_bytes(int8_bytes)
    write_card(card, out)
    write_model_card(run_dir, config, taxonomy, evaluation, out / "MODEL_CARD.md", agreement)
    return agreement


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.export",
                                     description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 2)[2])
    parser.add_argument("run_dir", type=Path, help="a trained and evaluated run directory")
    parser.add_argument("--out", type=Path, help="model directory (default: <run_dir>/model)")
    parser.add_argument("--weights", default=BEST_WEIGHTS,
                        help="checkpoint in <run_dir>/checkpoints (default: %(default)s)")
    args = parser.parse_args(argv)
    setup_logging(args.run_dir)
    out = args.out or args.run_dir / "model"
    try:
        export_run(args.run_dir, out, args.weights)
    except ExportRefused as err:
        print(f"REFUSED, nothing written: {err}", file=sys.stderr)
        return 1
    print(f"wrote {out} (load it with classifier.model.TopicModel.load)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
