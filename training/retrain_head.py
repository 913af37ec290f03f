"""Fit a new learned head on the bot's training log: real Commons uploads, labelled by
their own categories.

    python -m training.retrain_head --from-log LOG.parquet [--since 2026-11-01] --out DIR
    python -m training.retrain_head --from-store config.toml [--since ...] --out DIR

The log (bot.store's `training_log`, written by every pass, read through the bot's
export `python -m bot.export_training_log`; --from-store runs it) holds per image what
the installed head read (graph scores, pooled features, face signals), the topics its
categories imply and the labels reviewers accepted or rejected. Labels' noise is
handled as the research did: only images whose category walk completed, none without a
topic, and frequent labels capped (an image is kept while one of its labels has fewer
than `--cap` kept positives); a reviewer's decision overrules the categories for its
label, and reviewed images are always kept, except one in five (by SHA-1,
`training.training_log.judges`), which only the promotion gate reads. Then, with the
v3 build's own code (training.commons_head): one logistic regression per label on 80 %
of the rows (or, with --head hierarchical, C-HMCNN(h) trained with MCLoss,
training.hierarchical_head; scripts/compare_retrain_heads.py measures the two), and
on the other 20 % the per-label choice between the graph's score, the learned one and
their maximum, and the thresholds of each operating point (ORES' grammar). The model
directory written is the installed one with the new head: the same int8 graph and
detector (copied, so the int8 agreement recorded for the graph still holds), a new
head.npz, and model.json with the new rules, thresholds and sha256s. CPU only; whether
it replaces the installed model is `python -m training.promote`'s call.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from tqdm import tqdm

from classifier.artifact import CARD_FILE, DEFAULT_MODEL_DIR, file_sha256
from classifier.head import COMBINE_RULES
from classifier.model import TopicModel
from classifier.taxonomy import Taxonomy
from training.commons_head import POINTS, C, Rows, choose, fit_linear, learned_scores
from training.hierarchical_head import fit_hierarchical
from training.training_log import (
    LogRow,
    decoded,
    export_from_store,
    head_matrix,
    judges,
    read_export,
)

CAP = 2000  # kept positives per label, at most (the frequent labels' cap)
HOLDOUT = 0.2  # share of rows that choose the rules and thresholds
HEADS = ("linear", "hierarchical")
MIN_POSITIVES = 20  # a label with fewer positives in the fitting rows keeps the installed head's


def capped(topic_sets: list[tuple[str, ...]], cap: int, seed: int,
           always: np.ndarray | None = None) -> np.ndarray:
    """Indices of the rows kept: in a seeded random order, a row is kept while one of its
    labels has fewer than `cap` kept positives; rows without a topic never are, rows
    marked in `always` (reviewed by people: few and clean) always are."""
    kept, counts = [], {}
    always = np.zeros(len(topic_sets), bool) if always is None else always
    for i in np.random.default_rng(seed).permutation(len(topic_sets)):
        topics = topic_sets[i]
        if always[i] or (topics and any(counts.get(t, 0) < cap for t in topics)):
            kept.append(i)
            for t in topics:
                counts[t] = counts.get(t, 0) + 1
    return np.sort(np.array(kept, dtype=int))


def labelled(row: LogRow, taxonomy: Taxonomy) -> tuple[str, ...]:
    """The row's positive labels: the topics its categories implied, overruled by its
    reviewers: a rejected label (and those under it) is negative, an accepted one (and
    those above it) positive."""
    known = set(taxonomy.labels)
    topics = {t for t in row.claimed or () if t in known}
    for label in (x for x in row.rejected if x in known):
        topics -= {label, *taxonomy.descendants(label)}
    for label in (x for x in row.accepted if x in known):
        topics |= {label, *taxonomy.ancestors(label)}
    return tuple(t for t in taxonomy.labels if t in topics)


def read_log(log: Sequence[LogRow], model: TopicModel, cap: int,
             seed: int) -> tuple[Rows, dict]:
    """The log's usable rows as head inputs (in the installed head's layout) and targets:
    complete walks, labels corrected by reviewers' decisions."""
    labels = model.labels
    judging = [row for row in log if judges(row)]
    complete = [row for row in log if row.claimed is not None and not judges(row)]
    skipped = {"incomplete_walk": len(log) - len(complete) - len(judging), "other_layout": 0,
               "no_topic": 0, "kept_for_the_gate": len(judging)}
    topic_sets = [labelled(row, model.taxonomy) for row in complete]
    reviewed = np.array([row.reviewed for row in complete], bool)
    skipped["no_topic"] = sum(1 for t, r in zip(topic_sets, reviewed, strict=True)
                              if not t and not r)
    chosen = capped(topic_sets, cap, seed, always=reviewed)
    kept, inputs = decoded(model, [complete[i] for i in chosen])
    skipped["other_layout"] = len(chosen) - len(kept)  # written by another backbone
    used = chosen[kept] if kept else []
    if not inputs:
        raise ValueError("the training log has no usable rows (complete walks with a topic)")
    matrix, graph = head_matrix(model, inputs)
    y = np.zeros((len(used), len(labels)), np.float32)
    for n, i in enumerate(used):
        y[n, [labels.index(t) for t in topic_sets[i]]] = 1.0
    rows = Rows(matrix, graph, y, np.ones(y.shape, bool), np.ones(len(y), np.float32))
    stats = {"rows_in_log": len(log), "rows_used": len(y), "skipped": skipped,
             "reviewed_rows_used": int(reviewed[used].sum()),
             "positives": {label: int(y[:, j].sum()) for j, label in enumerate(labels)}}
    return rows, stats


def split(rows: Rows, seed: int) -> tuple[Rows, Rows, np.ndarray]:
    """(fitting rows, held-out rows, labels that can be fitted): a seeded 80/20 split;
    a label is fitted with MIN_POSITIVES positives to fit on and one held out."""
    order = np.random.default_rng(seed).permutation(len(rows.y))
    cut = int(len(order) * (1 - HOLDOUT))
    train, held = rows.take(order[:cut]), rows.take(order[cut:])
    return train, held, (train.y.sum(axis=0) >= MIN_POSITIVES) & (held.y.sum(axis=0) > 0)


def fit_head(train: Rows, fitted: np.ndarray, model: TopicModel, c: float, seed: int,
             head: str) -> tuple[np.ndarray, np.ndarray]:
    """The installed head's weights with the `fitted` labels' refitted on `train`: one
    logistic regression per label (a progress bar over labels), or the hierarchical
    head (C-HMCNN(h) with MCLoss, all labels at once)."""
    weights, bias = model.head.weights.copy(), model.head.bias.copy()
    if head == "hierarchical":
        w, b = fit_hierarchical(train, c, model.taxonomy, seed)
        weights[:, fitted], bias[fitted] = w[:, fitted], b[fitted]
        return weights, bias
    for j in tqdm(np.flatnonzero(fitted), desc="fitting the head", unit="label"):
        one = np.zeros_like(fitted)
        one[j] = True
        w, b = fit_linear(train, c, one)
        weights[:, j], bias[j] = w[:, j], b[j]
    return weights, bias


def fit(rows: Rows, model: TopicModel, c: float, seed: int, head: str = "linear"):
    """(weights, bias, Choice, fitted labels): the head fitted on the fitting rows, then
    rules and thresholds on the held-out rows. Labels with too few positives keep the
    installed head's weights, rule and thresholds."""
    train, held, fitted = split(rows, seed)
    weights, bias = fit_head(train, fitted, model, c, seed, head)
    learned = learned_scores(held.x, weights, bias)
    choice = choose(held.y, held.graph, learned, fitted, model.taxonomy,
                    fallback=model.operating_points)
    installed_rule = model.card.head["combine"]
    for j, label in enumerate(model.labels):
        if not fitted[j]:
            choice.rule[j] = COMBINE_RULES.index(installed_rule[label])
    return weights, bias, choice, fitted


def write_model(model: TopicModel, out: Path, weights: np.ndarray, bias: np.ndarray,
                choice, fitted: np.ndarray, stats: dict) -> Path:
    """The installed model directory with the new head; returns `out`."""
    out.mkdir(parents=True, exist_ok=True)
    card = json.loads((model.model_dir / CARD_FILE).read_text(encoding="utf-8"))
    for name in card["files"]:
        if name != model.card.head["file"]:
            shutil.copy2(model.model_dir / name, out / name)
    for extra in model.model_dir.glob("LICENSE*"):
        shutil.copy2(extra, out / extra.name)
    head_file = out / model.card.head["file"]
    np.savez(head_file, weights=weights.astype(np.float32), bias=bias.astype(np.float32))
    card["files"][head_file.name] = {"sha256": file_sha256(head_file),
                                     "bytes": head_file.stat().st_size}
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    # the head's hash too: two retrains in one second are still two versions
    card["version"] = f"{model.version}+log.{stamp}.{card['files'][head_file.name]['sha256'][:8]}"
    card["head"]["combine"] = {label: COMBINE_RULES[r]
                               for label, r in zip(model.labels, choice.rule, strict=True)}
    retrained = [label for label, f in zip(model.labels, fitted, strict=True) if f]
    for point, thresholds in choice.thresholds.items():
        card["operating_points"][point]["thresholds"] = thresholds
        card["operating_points"][point]["method"] = (
            f"{POINTS[point][0]} on held-out training-log rows for {len(retrained)} labels "
            f"refitted from the log; the others as in {model.version}")
    # figures measured on the installed head no longer describe this one; the graph's do
    card["metrics"] = {k: v for k, v in card["metrics"].items() if k == "int8_vs_float_graph"}
    card["metrics"]["training_log"] = stats | {"labels_refitted": retrained}
    card["provenance"]["retrained_from"] = {
        "model": f"{model.name} {model.version}",
        "data": "the bot's training log: Commons uploads labelled by their own categories",
        "command": "python -m training.retrain_head", "at": stamp,
    }
    (out / CARD_FILE).write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n",
                                 encoding="utf-8")
    TopicModel.load(out)  # refuses a directory that is not a usable model
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.retrain_head",
                                     description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--from-log", metavar="FILE", type=Path,
                        help="a training-log export (python -m bot.export_training_log)")
    source.add_argument("--from-store", metavar="CONFIG", type=Path,
                        help="the bot's config.toml: its store's log is exported first, by "
                        "the bot's own command, into a temporary file")
    parser.add_argument("--since", type=datetime.fromisoformat, default=None,
                        help="only rows logged at or after this date (ISO, UTC)")
    parser.add_argument("--out", type=Path, required=True, help="the model directory to write")
    parser.add_argument("--base", type=Path, default=None,
                        help="the model whose graph and detector are kept (default: the "
                        "bot's [model] path as the export recorded it, else the "
                        "classifier's default model)")
    parser.add_argument("--cap", type=int, default=CAP,
                        help="kept positives per label at most (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="for the cap and the split")
    parser.add_argument("--head", choices=HEADS, default="linear",
                        help="linear: one logistic regression per label; hierarchical: "
                        "C-HMCNN(h) with MCLoss, needs TensorFlow (default: %(default)s)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    since = args.since.replace(tzinfo=None) if args.since else None
    try:
        if args.from_store:
            with export_from_store(args.from_store, since) as path:
                export = read_export(path)
        else:
            export = read_export(args.from_log, since)
        base = args.base or (Path(export.meta["model_path"]) if export.meta.get("model_path")
                             else DEFAULT_MODEL_DIR)
        model = TopicModel.load(base)
        if model.head is None:
            raise ValueError(f"{base}: a model without a learned head cannot be retrained")
        rows, stats = read_log(export.rows, model, args.cap, args.seed)
    except (OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    weights, bias, choice, fitted = fit(rows, model, C, args.seed, args.head)
    stats["head"] = args.head
    stats["seconds"] = round(time.perf_counter() - started, 1)
    write_model(model, args.out, weights, bias, choice, fitted, stats)
    print(json.dumps({"out": str(args.out), **stats}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
