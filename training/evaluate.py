"""Evaluate a trained run: metrics, operating points, plots and a model card.

    python -m training.evaluate runs/fashion-mnist-quick [--weights best.weights.h5]

Loads the checkpoint into the architecture rebuilt from the run's configuration, scores
the validation and test splits, chooses per-label operating points on validation
("maximum recall @ precision >= 0.9" and ">= 0.7", never 0 or 1; None where no valid
point exists) and measures them on test, never on data they were chosen or trained on.
Writes evaluation.json, plots/*.png and MODEL_CARD.md into the run directory and prints
the test metrics.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from training.run_dir import BEST_WEIGHTS, setup_logging


def predict(model, data, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """(targets, scores) of a split's decodable rows, in row order."""
    rows = data.valid
    scores = [
        model(data.pixels[rows[i : i + batch_size]].astype(np.float32), training=False).numpy()
        for i in tqdm(range(0, len(rows), batch_size), desc="predicting", unit="batch")
    ]
    n_labels = data.targets.shape[1]
    return data.targets[rows], (np.concatenate(scores) if scores else np.zeros((0, n_labels)))


def summary_line(name: str, result: dict) -> str:
    a, v = result["averages"], result["hierarchy_violations"]
    return (f"{name:>16}: micro F1 {a['micro']['f1']:.3f}  macro F1 {a['macro']['f1']:.3f}  "
            f"samples F1 {a['samples']['f1']:.3f}  macro PR-AUC {a['macro']['pr_auc'] or 0:.3f}  "
            f"hierarchy violations {v['predictions']:.3f} (scores {v['scores']:.3f})")


def evaluate_run(run_dir: Path, weights: str = BEST_WEIGHTS) -> dict:
    from training.metrics import evaluate_scores
    from training.model_card import write_model_card
    from training.pipeline import split_arrays
    from training.plots import frequency_vs_f1, pr_curves
    from training.run_dir import load_trained
    from training.thresholds import operating_points

    config, taxonomy, built, model = load_trained(run_dir, weights)
    batch = config.train.batch_size
    splits = {s: split_arrays(config, taxonomy, built, s) for s in ("train", "validation", "test")}
    val_y, val_s = predict(model, splits["validation"], batch)
    test_y, test_s = predict(model, splits["test"], batch)
    points = operating_points(val_y, val_s, taxonomy)
    train_y = splits["train"].targets[splits["train"].valid]
    result = {
        "run": str(run_dir),
        "weights": weights,
        "train_support": dict(zip(taxonomy.labels, train_y.sum(0).astype(int).tolist(),
                                  strict=True)),
        "operating_points": points,
        "validation": {"threshold_0.5": evaluate_scores(val_y, val_s, taxonomy, 0.5)},
        "test": {"threshold_0.5": evaluate_scores(test_y, test_s, taxonomy, 0.5),
                 **{name: evaluate_scores(test_y, test_s, taxonomy, t)
                    for name, t in points.items()}},
    }
    (run_dir / "evaluation.json").write_text(json.dumps(result, indent=2) + "\n")
    plots = run_dir / "plots"
    plots.mkdir(exist_ok=True)
    pr_curves(test_y, test_s, taxonomy, points, plots / "pr_curves.png")
    frequency_vs_f1(
        result["train_support"],
        {k: v["f1"] for k, v in result["test"]["precision_0.9"]["per_label"].items()},
        plots / "frequency_vs_f1.png",
        "test F1 at 'max recall @ precision >= 0.9' (thresholds from validation)",
    )
    write_model_card(run_dir, config, taxonomy, result, run_dir / "MODEL_CARD.md")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.evaluate",
                                     description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 2)[2])
    parser.add_argument("run_dir", type=Path, help="a run directory made by training.train")
    parser.add_argument("--weights", default=BEST_WEIGHTS,
                        help="checkpoint file in <run_dir>/checkpoints (default: %(default)s)")
    args = parser.parse_args(argv)
    setup_logging(args.run_dir)
    result = evaluate_run(args.run_dir, args.weights)
    print(f"test split, {result['test']['threshold_0.5']['images']} images:")
    for name, metrics in result["test"].items():
        print(summary_line(name, metrics))
    none = {name: [k for k, v in t.items() if v is None]
            for name, t in result["operating_points"].items()}
    print(f"labels without an operating point: {none}")
    print(f"wrote {args.run_dir / 'evaluation.json'}, plots/, MODEL_CARD.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
