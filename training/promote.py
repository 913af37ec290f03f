"""The promotion gate: a retrained model replaces the installed one only when people's
labels say it is not worse.

    python -m training.promote CANDIDATE_DIR --install-to DIR [--installed DIR] [--dev DIR]
                               [--reviews LOG.parquet | --reviews-from-store CONFIG]

Both models are scored on the people-labelled Commons images (training.evaluate_commons'
logic): a model whose build learned from those images reports its recorded
cross-validated figures (as the default 3.0.0 does), any other, like a head retrained
from the bot's log that never saw them, is run on them. At the installed model's default
operating point, over the labels the candidate refitted (with at least 5 positives in
the dev set: the others keep the installed head, which for 3.0.0 learned from the dev
images, so their figures there would be in-sample), the candidate must have micro and
macro F1 at least the installed model's, and no label's precision may fall by more than
`--margin` (a precision the installed model showed on fewer than 5 suggestions is too
uncertain to hold it back).
Reviewers' decisions are the second judge: given the bot's training log (an export of
`python -m bot.export_training_log`, or the bot's config to run it), the suggestions
reviewers accepted or rejected on images kept out of retraining (one reviewed image in
five, `training.training_log.judges`) are predicted by both models from their logged
head inputs; with at least `--min-reviewed` such (image, label) pairs, the candidate's
precision on them (accepted among those it predicts) may not fall by more than
`--margin` below the installed model's.
Then the candidate is copied to `--install-to` (the bot's `[model] path`; the model
there before is kept as `<DIR>.previous`); otherwise it stays where it is. Either way
its report is written to CANDIDATE_DIR/promotion.json (so a promoted copy carries it,
and the bot records it at its next start) and printed; `python -m bot.record_promotion`
records a refusal in the bot's store. Exit status: 0 promoted, 1 refused, 2 error.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path

from classifier.artifact import DEFAULT_MODEL_DIR
from classifier.model import TopicModel
from training import commons_dev
from training.evaluate_commons import RECORDED, recorded, run_model
from training.training_log import (
    LogExport,
    decoded,
    export_from_store,
    fits,
    judges,
    predicted_sets,
    read_export,
)

MARGIN = 0.05  # the most a label's precision at the default point may fall
# a precision from fewer suggestions than this says too little to block a promotion
MIN_PREDICTED = 5
REPORT = "promotion.json"
MIN_REVIEWED = 50  # reviewed (image, label) pairs the second judge needs to speak


def evaluate(model: TopicModel, dev: commons_dev.CommonsDev, point: str) -> dict:
    """Micro/macro F1 and per-label figures at `point`, and how they were obtained."""
    results = (recorded(model.card, dev, model.taxonomy) if RECORDED in model.card.metrics
               else run_model(model, dev))
    if point not in results:
        raise ValueError(f"{model.model_dir}: no operating point {point!r}")
    r = results[point]
    return {"model": str(model.model_dir), "version": model.version, "how": r["how"],
            "micro_f1": r["micro_f1"], "macro_f1": r["macro_f1"], "per_label": r["per_label"]}


def refitted(model: TopicModel) -> tuple[str, ...]:
    """The labels whose head a retraining refitted; every label for any other model."""
    return tuple(model.card.metrics.get("training_log", {}).get("labels_refitted",
                                                                 model.labels))


def compared(result: dict, labels: list[str]) -> dict:
    """Micro and macro F1 over `labels` alone, from the per-label figures."""
    per = [result["per_label"][x] for x in labels]
    tp = sum((m["recall"] or 0.0) * m["support"] for m in per)
    fp = sum(m["predicted"] for m in per) - tp
    fn = sum(m["support"] for m in per) - tp
    micro = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return {"labels": labels, "micro_f1": round(micro, 4),
            "macro_f1": round(sum(m["f1"] for m in per) / len(per), 4)}


def judge(candidate: dict, installed: dict, labels: list[str], margin: float) -> list[str]:
    """The reasons to refuse the candidate (empty: promote it), judged on `labels`."""
    if not labels:
        return [f"no refitted label has {commons_dev.MIN_SUPPORT} positives in the dev set"]
    new, old = compared(candidate, labels), compared(installed, labels)
    reasons = [f"{key} {new[key]:.4f} < installed {old[key]:.4f}"
               for key in ("micro_f1", "macro_f1") if new[key] < old[key]]
    for label in labels:
        was, now = installed["per_label"][label], candidate["per_label"][label]
        if None in (was["precision"], now["precision"]) or was["predicted"] < MIN_PREDICTED:
            continue
        if now["precision"] < was["precision"] - margin:
            reasons.append(f"{label}: precision {now['precision']:.2f} < installed "
                           f"{was['precision']:.2f} - {margin:g}")
    return reasons


def reviewed_pairs(log: LogExport, models: list[TopicModel]):
    """(inputs, pairs): the logged inputs of the gate's reviewed images that fit every
    model, and the (row, label, accepted) decisions on them."""
    rows = [row for row in log.rows if judges(row)]
    kept, inputs = decoded(models[0], rows)
    fit = [n for n, x in enumerate(inputs) if all(fits(m, x) for m in models[1:])]
    pairs = [(n, label, decision) for n, i in enumerate(kept[k] for k in fit)
             for decision, labels in ((True, rows[i].accepted), (False, rows[i].rejected))
             for label in labels if label in models[0].labels]
    return [inputs[k] for k in fit], pairs


def reviewed_precision(model: TopicModel, inputs, pairs, point: str) -> dict:
    """Of the reviewed pairs the model predicts at `point`, how many reviewers accepted."""
    sets = predicted_sets(model, inputs, point)
    hits = [accepted for n, label, accepted in pairs if label in sets[n]]
    return {"version": model.version, "predicted": len(hits), "accepted": sum(hits),
            "precision": round(sum(hits) / len(hits), 4) if hits else None}


def judge_by_reviews(candidate: TopicModel, installed: TopicModel, log: LogExport,
                     point: str, min_pairs: int, margin: float) -> tuple[dict, list[str]]:
    """(figures, reasons to refuse) of the second judge: precision on reviewed pairs."""
    if candidate.head is None or installed.head is None:
        return {"judged": False, "why": "a model without a learned head"}, []
    inputs, pairs = reviewed_pairs(log, [candidate, installed])
    figures = {"pairs": len(pairs), "min_pairs": min_pairs, "judged": len(pairs) >= min_pairs}
    if not figures["judged"]:
        return figures | {"why": f"fewer than {min_pairs} reviewed pairs kept for the gate"}, []
    new, old = (reviewed_precision(m, inputs, pairs, point) for m in (candidate, installed))
    figures |= {"candidate": new, "installed": old}
    if (None not in (new["precision"], old["precision"]) and old["predicted"] >= MIN_PREDICTED
            and new["precision"] < old["precision"] - margin):
        return figures, [f"precision on {len(pairs)} reviewed suggestions "
                         f"{new['precision']:.2f} < installed {old['precision']:.2f} - {margin:g}"]
    return figures, []


def install(candidate: Path, target: Path) -> None:
    """Copy `candidate` to `target`, keeping the model there before as `<target>.previous`;
    the bot reads `target` whole at its next start, never a half-copied one."""
    staging = target.with_name(target.name + ".incoming")
    previous = target.with_name(target.name + ".previous")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(candidate, staging)
    TopicModel.load(staging)  # the copy is a usable model before anything is replaced
    if target.exists():
        shutil.rmtree(previous, ignore_errors=True)
        target.rename(previous)
    staging.rename(target)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.promote",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("candidate", type=Path, help="the retrained model directory")
    parser.add_argument("--install-to", type=Path, required=True,
                        help="where the bot reads its model ([model] path in config.toml)")
    parser.add_argument("--installed", type=Path, default=None,
                        help="the model to beat (default: --install-to when it holds a model, "
                        "else the classifier's default model)")
    parser.add_argument("--dev", type=Path, default=commons_dev.DEFAULT_DIR,
                        help="the people-labelled images (default: %(default)s)")
    parser.add_argument("--margin", type=float, default=MARGIN,
                        help="largest allowed fall of a label's precision, and of the "
                        "precision on reviewed suggestions (default: %(default)s)")
    reviews = parser.add_mutually_exclusive_group()
    reviews.add_argument("--reviews", metavar="LOG", type=Path,
                         help="the bot's training log with reviewers' decisions (python -m "
                         "bot.export_training_log): the second judge")
    reviews.add_argument("--reviews-from-store", metavar="CONFIG", type=Path,
                         help="the bot's config.toml: its log is exported first, by the bot's "
                         "own command")
    parser.add_argument("--min-reviewed", type=int, default=MIN_REVIEWED,
                        help="reviewed (image, label) pairs the second judge needs "
                        "(default: %(default)s)")
    args = parser.parse_args(argv)
    installed_dir = args.installed or (
        args.install_to if (args.install_to / "model.json").is_file() else DEFAULT_MODEL_DIR)
    try:
        installed = TopicModel.load(installed_dir)
        candidate = TopicModel.load(args.candidate)
        dev = commons_dev.load(args.dev, installed.taxonomy)
        point = installed.default_operating_point
        scores = {"candidate": evaluate(candidate, dev, point),
                  "installed": evaluate(installed, dev, point)}
        log = None
        if args.reviews_from_store:
            with export_from_store(args.reviews_from_store) as path:
                log = read_export(path)
        elif args.reviews:
            log = read_export(args.reviews)
    except (OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    labels = [x for x in refitted(candidate)
              if scores["installed"]["per_label"][x]["support"] >= commons_dev.MIN_SUPPORT]
    reasons = judge(scores["candidate"], scores["installed"], labels, args.margin)
    reviewed = None
    if log is not None:
        reviewed, refused = judge_by_reviews(candidate, installed, log, point,
                                             args.min_reviewed, args.margin)
        reasons += refused
    report = {"promoted": not reasons, "reasons": reasons, "operating_point": point,
              "margin": args.margin, "dev": str(args.dev), "installed_to":
              str(args.install_to) if not reasons else None,
              "at": datetime.now(UTC).isoformat(timespec="seconds"),
              "judged_on": {"candidate": compared(scores["candidate"], labels) if labels else None,
                            "installed": compared(scores["installed"], labels) if labels else None},
              "reviewed": reviewed, **scores}
    text = json.dumps(report, indent=2)
    (args.candidate / REPORT).write_text(text + "\n", encoding="utf-8")
    if not reasons:
        install(args.candidate, args.install_to)  # the copy carries its report
    print(f"{'promoted' if not reasons else 'refused'}: candidate {candidate.version} "
          f"micro/macro F1 {scores['candidate']['micro_f1']:.3f}/"
          f"{scores['candidate']['macro_f1']:.3f}, installed {installed.version} "
          f"{scores['installed']['micro_f1']:.3f}/{scores['installed']['macro_f1']:.3f}")
    for reason in reasons:
        print(f"  {reason}")
    print(json.dumps({k: report[k] for k in ("promoted", "reasons", "installed_to")}))
    return 0 if not reasons else 1


if __name__ == "__main__":
    sys.exit(main())
