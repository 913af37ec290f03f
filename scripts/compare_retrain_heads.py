"""Measure the two heads `python -m training.retrain_head` can fit, on the same splits.

    .venv/bin/python scripts/compare_retrain_heads.py [--log LOG.parquet] [--seeds 5]

Rows: a training-log export (`python -m bot.export_training_log`), read and labelled as
the retraining reads it; or, by default, the people-labelled Commons images
(../shared/data/commons-dev) run through the installed model, their people's labels as
targets. For each seed, retrain_head's own 80/20 split and fitted labels; both heads fit
on the 80 % (`fit_head`: one logistic regression per label, and C-HMCNN(h) with
MCLoss), then scored on the 20 % as the bot scores them (sigmoid, then the hierarchy's
max-constraint; the graph's own score left out): average precision per fitted label
with a held-out positive, macro and micro, and the seconds each fit took. Prints one
line per seed and head, then the means.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import average_precision_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from classifier.hierarchy import max_constraint  # noqa: E402
from classifier.model import TopicModel  # noqa: E402
from training import commons_dev  # noqa: E402
from training.commons_head import Rows, learned_scores  # noqa: E402
from training.retrain_head import CAP, HEADS, C, fit_head, read_log, split  # noqa: E402
from training.training_log import head_matrix, read_export  # noqa: E402


def dev_rows(model: TopicModel, folder: Path) -> Rows:
    dev = commons_dev.load(folder, model.taxonomy)
    inputs = _inputs(model, dev.image_bytes())
    matrix, graph = head_matrix(model, inputs)
    y = dev.targets(model.taxonomy)
    return Rows(matrix, graph, y, np.ones(y.shape, bool), np.ones(len(y), np.float32))


def _inputs(model: TopicModel, images: list[bytes]):
    from classifier.images import decode_image

    decoded = [decode_image(data, min_size=max(model.input_sizes)) for data in images]
    return [p.head_inputs for p in model.predict_images(decoded, return_inputs=True)]


def scores(model: TopicModel, held: Rows, fitted: np.ndarray, weights, bias) -> dict:
    p = max_constraint(learned_scores(held.x, weights, bias), model.taxonomy)
    labels = [j for j in np.flatnonzero(fitted) if held.y[:, j].any()]
    ap = [average_precision_score(held.y[:, j], p[:, j]) for j in labels]
    micro = average_precision_score(held.y[:, labels].ravel(), p[:, labels].ravel())
    return {"labels": len(labels), "macro_ap": float(np.mean(ap)), "micro_ap": float(micro)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--log", type=Path, help="a training-log export (default: commons-dev)")
    parser.add_argument("--dev", type=Path, default=commons_dev.DEFAULT_DIR,
                        help="the people-labelled images (default: %(default)s)")
    parser.add_argument("--seeds", type=int, default=5, help="splits to average over")
    args = parser.parse_args(argv)
    model = TopicModel.load()
    if args.log:
        rows, _ = read_log(read_export(args.log).rows, model, CAP, 0)
        source = str(args.log)
    else:
        rows, source = dev_rows(model, args.dev), f"{args.dev} (people's labels)"
    print(f"rows: {len(rows.y)} from {source}")
    totals: dict[str, list[dict]] = {head: [] for head in HEADS}
    for seed in range(args.seeds):
        train, held, fitted = split(rows, seed)
        for head in HEADS:
            started = time.perf_counter()
            weights, bias = fit_head(train, fitted, model, C, seed, head)
            result = scores(model, held, fitted, weights, bias)
            result["seconds"] = time.perf_counter() - started
            totals[head].append(result)
            print(f"seed {seed} {head:12} labels {result['labels']:2} macro AP "
                  f"{result['macro_ap']:.3f} micro AP {result['micro_ap']:.3f} "
                  f"fit {result['seconds']:.1f} s", flush=True)
    for head, results in totals.items():
        print(f"mean {head:12} macro AP {np.mean([r['macro_ap'] for r in results]):.3f} "
              f"micro AP {np.mean([r['micro_ap'] for r in results]):.3f} "
              f"fit {np.mean([r['seconds'] for r in results]):.1f} s over {args.seeds} splits")
    return 0


if __name__ == "__main__":
    sys.exit(main())
