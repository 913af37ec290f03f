"""How the v3 head's Commons figures grow with the number of labelled Commons images.

    python -m training.learning_curve --run runs/default-model-v3 --plot docs/learning-curve.png

The same nested cross-validation as the build (`training.commons_head.cross_validate`),
with each fold's training images cut to a share of themselves (25 %, 50 %, 75 %, all);
the held-out folds are the same whole folds at every share, so every point is scored on
all 165 images by heads that never saw them. It reads the head inputs a build saved in
its run directory (`head-inputs.npz`; run `python -m training.build_default_model_v3
--out DIR` first), so it converts no model and decodes no image.

What it answers: whether the figures are still rising when all the images are used, and
so whether more labelled Commons images (the bot's training log, issue #18) or a better
model is the lever. The last line of the output is JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from classifier.taxonomy import load_taxonomy
from training import build_default_model as v1
from training import commons_dev
from training.build_default_model_v3 import (
    CACHE_FILE,
    fallback_points,
    head_rows,
    read_head_inputs,
    summarise,
)
from training.commons_head import EXTRA_WEIGHT, POINTS, C, cross_validate

SHARES = (0.25, 0.5, 0.75, 1.0)


def curve(run: Path, dev_dir: Path, shares: tuple[float, ...], repeats: int, folds: int,
          inner_folds: int, c: float, extra_weight: float, seed: int = 0) -> dict:
    """Share of the training folds -> {images per fit, per point micro/macro F1 (mean and
    per repeat)}."""
    taxonomy = load_taxonomy(v1.TAXONOMY_VERSION)
    dev = commons_dev.load(dev_dir, taxonomy)
    y = dev.targets(taxonomy)
    s_dev, s_extra, y_extra, known, _ = read_head_inputs(run / CACHE_FILE)
    if len(s_dev["graph"]) != len(y):
        raise SystemExit(f"{run / CACHE_FILE} holds {len(s_dev['graph'])} Commons images, "
                         f"{dev_dir} has {len(y)}: rebuild the run on this folder")
    dev_rows, extra_rows = head_rows(s_dev, y, s_extra, y_extra, known, extra_weight)
    out = {}
    for share in shares:
        runs = cross_validate(dev_rows, extra_rows, c, taxonomy, fallback_points(taxonomy),
                              folds, repeats, inner_folds, seed, train_fraction=share)
        cv = summarise(runs, y, taxonomy, dev)
        out[str(share)] = {
            "images_per_fit": round(len(y) * (folds - 1) / folds * share),
            **{p: {k: cv[p][k] for k in ("micro_f1", "macro_f1", "micro_f1_by_repeat",
                                         "macro_f1_by_repeat")} for p in POINTS},
        }
        print(f"share {share}: " + "  ".join(
            f"{p} {cv[p]['micro_f1']:.3f}/{cv[p]['macro_f1']:.3f}" for p in POINTS), flush=True)
    return out


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(8, 3.2), sharey=True)
    sizes = [v["images_per_fit"] for v in result.values()]
    for ax, metric in zip(axes, ("micro_f1", "macro_f1"), strict=True):
        for point, style in zip(POINTS, ("o-", "s-", "^-"), strict=True):
            values = [v[point][metric] for v in result.values()]
            spread = [np.ptp(v[point][f"{metric}_by_repeat"]) / 2 for v in result.values()]
            ax.errorbar(sizes, values, yerr=spread, fmt=style, capsize=3, label=point)
        ax.set_title(metric.replace("_", " "))
        ax.set_xlabel("labelled Commons images per fit")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("cross-validated F1")
    axes[0].legend(fontsize=8)
    fig.suptitle("v3 head: Commons F1 against training images (bars: half the spread "
                 "over repeats)", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.learning_curve",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, default=Path("runs/default-model-v3"),
                        help=f"a v3 build's run directory, holding {CACHE_FILE} "
                        "(default: %(default)s)")
    parser.add_argument("--dev", type=Path, default=commons_dev.DEFAULT_DIR,
                        help="people-labelled Commons images (default: %(default)s)")
    parser.add_argument("--shares", type=float, nargs="+", default=list(SHARES),
                        help="shares of each fold's training images (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=3, help="k-fold repeats (default: 3)")
    parser.add_argument("--folds", type=int, default=5, help="k (default: 5)")
    parser.add_argument("--inner-folds", type=int, default=3,
                        help="folds that choose rules and thresholds (default: 3)")
    parser.add_argument("--c", type=float, default=C,
                        help="inverse L2 strength, as the build (default: %(default)s)")
    parser.add_argument("--extra-weight", type=float, default=EXTRA_WEIGHT,
                        help="weight of a non-Commons row, as the build (default: %(default)s)")
    parser.add_argument("--plot", type=Path, help="write the curve as a PNG here")
    args = parser.parse_args(argv)
    if not (args.run / CACHE_FILE).is_file():
        parser.error(f"{args.run / CACHE_FILE} not found: run "
                     f"`python -m training.build_default_model_v3 --out {args.run}` first")
    if any(not 0 < s <= 1 for s in args.shares):
        parser.error("--shares must lie in (0, 1]")
    try:
        commons_dev.load(args.dev)
    except (FileNotFoundError, ValueError) as err:
        parser.error(str(err))
    result = curve(args.run, args.dev, tuple(sorted(args.shares)), args.repeats, args.folds,
                   args.inner_folds, args.c, args.extra_weight)
    if args.plot:
        plot(result, args.plot)
        print(f"plot: {args.plot}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
