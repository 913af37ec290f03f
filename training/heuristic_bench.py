"""Score the category -> topic heuristic against people's labels.

    python -m training.heuristic_bench DIR [--bootstrap N] [--seed S] [--half A|B]

DIR is a directory in the heuristic-bench format (files.parquet, nodes.parquet,
edges.parquet). The command labels every file from its categories over the table
back-end, then prints per-topic precision, recall, F1 and support, micro and macro
averages with 95 % bootstrap intervals (files resampled), the share of files whose
walk touched a category with unknown parents, and the same scores for the research
heuristic's stored `labels_pred`, computed by the same code. The last line is one
JSON object, for scripts and tests.

`--half A` or `--half B` scores only one of two fixed halves of the files, split by a
hash of the title (`file_half`). The research chose its parameters on these very
files, so a new rule is chosen by its effect on half A and kept only if it also helps
on half B, which it was not chosen on; the split depends on nothing but the title, so
anyone can reproduce it. The whole graph is still used: only the scored files change.

Speed is the labelling loop alone over the graph already in memory: a first (cold)
pass, then the best of a few warm passes once the title caches are filled, as a
labeller running over millions of files would be.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from classifier.category_heuristic import TopicHeuristic, TopicResult, WalkLimits
from classifier.taxonomy import Taxonomy, load_taxonomy
from training.heuristic_graph import load_bench_graph

MIN_MACRO_SUPPORT = 5  # topics with fewer positives are too noisy to average


@dataclass(frozen=True)
class Scores:
    """Per-topic counts and the averages derived from them."""

    topics: tuple[str, ...]
    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray

    @property
    def support(self) -> np.ndarray:
        return self.tp + self.fn

    def per_topic(self) -> pd.DataFrame:
        precision = _ratio(self.tp, self.tp + self.fp)
        recall = _ratio(self.tp, self.tp + self.fn)
        return pd.DataFrame(
            {
                "precision": precision,
                "recall": recall,
                "f1": _ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn),
                "support": self.support,
            },
            index=list(self.topics),
        )

    def averages(self, macro_mask: np.ndarray) -> dict[str, float]:
        tp, fp, fn = self.tp.sum(), self.fp.sum(), self.fn.sum()
        f1 = _ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn)
        return {
            "micro_precision": float(_ratio(tp, tp + fp)),
            "micro_recall": float(_ratio(tp, tp + fn)),
            "micro_f1": float(_ratio(2 * tp, 2 * tp + fp + fn)),
            "macro_f1": float(f1[macro_mask].mean()) if macro_mask.any() else float("nan"),
        }


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, 0 where den is 0 (no prediction and no positive scores nothing)."""
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def multi_hot(rows: Sequence[Sequence[str]], topics: Sequence[str]) -> np.ndarray:
    index = {t: i for i, t in enumerate(topics)}
    out = np.zeros((len(rows), len(topics)), dtype=bool)
    for r, labels in enumerate(rows):
        for label in labels:
            out[r, index[label]] = True
    return out


def score(truth: np.ndarray, pred: np.ndarray, topics: Sequence[str]) -> Scores:
    return Scores(
        tuple(topics),
        (truth & pred).sum(0),
        (~truth & pred).sum(0),
        (truth & ~pred).sum(0),
    )


def bootstrap(
    truth: np.ndarray, pred: np.ndarray, topics: Sequence[str], n: int, seed: int
) -> dict[str, tuple[float, float]]:
    """95 % percentile intervals of the averages, resampling files with replacement.

    The macro average keeps the topics of the full sample, so every resample
    averages over the same topics."""
    mask = truth.sum(0) >= MIN_MACRO_SUPPORT
    rng = np.random.default_rng(seed)
    samples: dict[str, list[float]] = {}
    for _ in range(n):
        rows = rng.integers(0, len(truth), len(truth))
        for key, value in score(truth[rows], pred[rows], topics).averages(mask).items():
            samples.setdefault(key, []).append(value)
    return {
        k: (float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5)))
        for k, v in samples.items()
    }


def file_half(title: str) -> str:
    """"A" or "B": a fixed split of the files by the first byte of the SHA-256 of the
    title, independent of labels, order and Python's hash seed."""
    return "A" if hashlib.sha256(title.encode("utf-8")).digest()[0] % 2 == 0 else "B"


def label_files(
    heuristic: TopicHeuristic, categories: Sequence[Sequence[str]]
) -> tuple[list[TopicResult], float]:
    """Label each file; returns the results and the seconds the loop took."""
    start = time.perf_counter()
    results = [heuristic.label(c) for c in tqdm(categories, desc="labelling", unit="file")]
    return results, time.perf_counter() - start


def warm_speed(
    heuristic: TopicHeuristic, categories: Sequence[Sequence[str]], passes: int = 3
) -> float:
    """Files per second of the bare labelling loop (no progress bar), best of `passes`
    passes after the first: the graph in memory and the title caches warm."""
    best = float("inf")
    for _ in range(passes):
        start = time.perf_counter()
        for c in categories:
            heuristic.label(c)
        best = min(best, time.perf_counter() - start)
    return len(categories) / best if best > 0 else float("inf")


def report(
    name: str,
    truth: np.ndarray,
    pred: np.ndarray,
    taxonomy: Taxonomy,
    n_bootstrap: int,
    seed: int,
) -> dict[str, object]:
    """Print one labeller's scores; return its averages and intervals."""
    topics = taxonomy.labels
    scores = score(truth, pred, topics)
    mask = truth.sum(0) >= MIN_MACRO_SUPPORT
    averages = scores.averages(mask)
    intervals = bootstrap(truth, pred, topics, n_bootstrap, seed) if n_bootstrap else {}
    print(f"\n== {name} ==")
    print(scores.per_topic().round(3).to_string())
    print(f"macro over {int(mask.sum())} topics with >= {MIN_MACRO_SUPPORT} positives")
    for key, value in averages.items():
        low, high = intervals.get(key, (float("nan"), float("nan")))
        print(f"{key:16s} {value:.3f}  (95% CI {low:.3f}-{high:.3f})")
    out: dict[str, object] = {k: round(v, 4) for k, v in averages.items()}
    out.update({f"{k}_ci": [round(low, 4), round(high, 4)] for k, (low, high) in intervals.items()})
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training.heuristic_bench",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument(
        "directory", type=Path, help="heuristic-bench directory (files.parquet, ...)"
    )
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples (0: none)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap random seed")
    parser.add_argument(
        "--min-confidence", type=float, default=0.0, help="keep labels at least this confident"
    )
    parser.add_argument(
        "--half", choices=("A", "B"), default=None,
        help="score only this fixed half of the files (split by a hash of the title)",
    )
    parser.add_argument(
        "--taxonomy", default="1.4", help="taxonomy version of the people's labels"
    )
    args = parser.parse_args(argv)

    taxonomy = load_taxonomy(args.taxonomy)
    files = pd.read_parquet(args.directory / "files.parquet")
    if args.half:
        files = files[[file_half(t) == args.half for t in files["title"]]].reset_index(drop=True)
    heuristic = TopicHeuristic(load_bench_graph(args.directory), taxonomy, WalkLimits())
    categories = [list(c) for c in files["categories"]]
    results, seconds = label_files(heuristic, categories)
    warm = warm_speed(heuristic, categories)

    truth = multi_hot(files["labels"], taxonomy.labels)
    ours = multi_hot([r.labels(args.min_confidence) for r in results], taxonomy.labels)
    research = multi_hot(files["labels_pred"], taxonomy.labels)
    baseline = report("research heuristic (stored labels_pred)", truth, research, taxonomy,
                      args.bootstrap, args.seed)
    summary = report("this heuristic", truth, ours, taxonomy, args.bootstrap, args.seed)

    unknown = float(np.mean([r.touched_unknown for r in results]))
    truncated = float(np.mean([r.truncated for r in results]))
    speed = len(results) / seconds if seconds > 0 else float("inf")
    print(f"\nfiles that touched a category with unknown parents: {unknown:.1%}")
    print(f"files whose walk hit the lookup budget: {truncated:.1%}")
    print(f"labelled {len(results)} files{f' (half {args.half})' if args.half else ''} in "
          f"{seconds:.2f} s ({speed:.0f} files/s cold, with progress bar; "
          f"{warm:.0f} files/s warm, labelling loop only)")
    summary.update(
        unknown_share=round(unknown, 4),
        truncated_share=round(truncated, 4),
        files=len(results),
        files_per_second=round(speed, 1),
        files_per_second_warm=round(warm, 1),
        half=args.half or "all",
        research={k: v for k, v in baseline.items()},
    )
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
