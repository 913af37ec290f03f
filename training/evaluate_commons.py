"""How good a model is on real Commons images: the people-labelled `commons-dev` set.

    python -m training.evaluate_commons [DIR] [--model DIR] [--operating-point NAME]

Per-label precision, recall and F1 with support, micro and macro F1 over labels with at
least 5 positives, at every operating point of the model, a confusion view of the worst
labels, and a last line of JSON for scripts. A model that learned from these images
(v3 and later) is never scored on them in-sample: the command reports the
cross-validated figures its build recorded (each image scored by a head, rules and
thresholds fitted without it). Any other model is run on the images.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from classifier.artifact import ModelCard
from classifier.hierarchy import predicted_labels
from classifier.model import TopicModel
from classifier.taxonomy import Taxonomy
from training import commons_dev

RECORDED = "commons_dev_cross_validated"
WORST = 4  # labels shown in the confusion view


def run_model(model: TopicModel, dev: commons_dev.CommonsDev) -> dict[str, dict]:
    """Score a model that never saw the images: per point, metrics and predicted sets."""
    taxonomy = model.taxonomy
    y = dev.targets(taxonomy)
    results = model.predict_bytes(dev.image_bytes())
    scores = np.array([[r.probabilities[x] for x in taxonomy.labels] for r in results])
    out = {}
    for point in model.operating_points:  # one inference: each point's sets from the scores
        thresholds = model.thresholds(point)
        predicted = np.zeros(y.shape, dtype=bool)
        for i, row in enumerate(scores):
            labels = predicted_labels(row, taxonomy, thresholds)
            predicted[i, [taxonomy.index(x) for x in labels]] = True
        out[point] = {**commons_dev.scored(y, predicted, scores, taxonomy),
                      "predicted_matrix": predicted, "how": "run on the images"}
    return out


def recorded(card: ModelCard, dev: commons_dev.CommonsDev, taxonomy: Taxonomy) -> dict:
    """The build's cross-validated figures, with the first repeat's out-of-fold sets."""
    cv = card.metrics[RECORDED]
    out = {}
    for point in card.operating_points:
        sets = cv[point]["predictions_repeat_1"]
        missing = [f for f in dev.table["file"] if f not in sets]
        if missing:
            raise ValueError(f"the model's recorded figures do not cover {missing[0]}: "
                             "it was built from another version of the images")
        predicted = np.zeros((len(dev.table), len(taxonomy.labels)), dtype=bool)
        for i, name in enumerate(dev.table["file"]):
            predicted[i, [taxonomy.index(x) for x in sets[name]]] = True
        out[point] = {**cv[point], "predicted_matrix": predicted,
                      "how": "recorded by the build: " + cv["method"]}
    return out


def table(result: dict, taxonomy: Taxonomy) -> list[str]:
    lines = [f"{'label':26} {'support':>7} {'pred':>6} {'P':>6} {'R':>6} {'F1':>6}"]
    for label in taxonomy.labels:
        m = result["per_label"][label]
        p, r = ("–" if m[k] is None else f"{m[k]:.2f}" for k in ("precision", "recall"))
        counted = "" if label in result["labels_counted"] else "  (not averaged)"
        lines.append(f"{label:26} {m['support']:>7} {m['predicted']:>6.1f} {p:>6} {r:>6} "
                     f"{m['f1']:>6.2f}{counted}")
    lines.append(f"micro F1 {result['micro_f1']:.3f}   macro F1 {result['macro_f1']:.3f}   "
                 f"(over {len(result['labels_counted'])} labels with >= "
                 f"{commons_dev.MIN_SUPPORT} positives)")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.evaluate_commons",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", nargs="?", type=Path, default=commons_dev.DEFAULT_DIR,
                        help="the labelled images: labels.csv and images/ (default: %(default)s)")
    parser.add_argument("--model", type=Path, default=None,
                        help="model directory (default: the classifier's default model)")
    parser.add_argument("--operating-point", default=None,
                        help="the point the JSON line reports (default: the model's default)")
    args = parser.parse_args(argv)
    try:
        model = TopicModel.load(args.model)
        dev = commons_dev.load(args.dir, model.taxonomy)
    except (OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    point = args.operating_point or model.default_operating_point
    if point not in model.operating_points:
        print(f"error: unknown operating point {point!r}; the model has "
              f"{', '.join(model.operating_points)}", file=sys.stderr)
        return 2
    taxonomy = model.taxonomy
    results = (recorded(model.card, dev, taxonomy) if RECORDED in model.card.metrics
               else run_model(model, dev))
    y = dev.targets(taxonomy).astype(bool)
    print(f"{model.name} {model.version} on {len(y)} images of {args.dir}")
    for name, result in results.items():
        default = " (default)" if name == model.default_operating_point else ""
        print(f"\n== operating point {name}{default}: {result['how']}")
        print("\n".join(table(result, taxonomy)))
    chosen = results[point]
    worst = sorted(chosen["labels_counted"], key=lambda x: chosen["per_label"][x]["f1"])[:WORST]
    print(f"\n== the {WORST} worst labels at {point}: what went wrong")
    for label, view in commons_dev.confusions(
            y, chosen["predicted_matrix"], dev.table, taxonomy, worst).items():
        print(f"{label}: false positives were {view['false_positives_were'] or '-'}; "
              f"misses were called {view['misses_called'] or '-'}")
        if view["missed_examples"]:
            print(f"    missed, e.g.: {'; '.join(view['missed_examples'])}")
        if view["false_positive_examples"]:
            print(f"    wrongly suggested, e.g.: {'; '.join(view['false_positive_examples'])}")
    print(json.dumps({
        "micro_f1": chosen["micro_f1"],
        "macro_f1": chosen["macro_f1"],
        "per_label": chosen["per_label"],
        "operating_point": point,
        "model_version": model.version,
        "cross_validated": RECORDED in model.card.metrics,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
