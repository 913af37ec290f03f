"""The promotion gate: a retrained model replaces the installed one only when people's
labels say it is not worse.

    python -m training.promote CANDIDATE_DIR --install-to DIR [--installed DIR] [--dev DIR]

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
Then the candidate is copied to `--install-to` (the bot's `[model] path`; the model
there before is kept as `<DIR>.previous`); otherwise it stays where it is. Either way
its report is written to CANDIDATE_DIR/promotion.json and printed. Exit status: 0
promoted, 1 refused, 2 error.
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

MARGIN = 0.05  # the most a label's precision at the default point may fall
# a precision from fewer suggestions than this says too little to block a promotion
MIN_PREDICTED = 5
REPORT = "promotion.json"


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
                        help="largest allowed fall of a label's precision (default: %(default)s)")
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
    except (OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    labels = [x for x in refitted(candidate)
              if scores["installed"]["per_label"][x]["support"] >= commons_dev.MIN_SUPPORT]
    reasons = judge(scores["candidate"], scores["installed"], labels, args.margin)
    if not reasons:
        install(args.candidate, args.install_to)
    report = {"promoted": not reasons, "reasons": reasons, "operating_point": point,
              "margin": args.margin, "dev": str(args.dev), "installed_to":
              str(args.install_to) if not reasons else None,
              "at": datetime.now(UTC).isoformat(timespec="seconds"),
              "judged_on": {"candidate": compared(scores["candidate"], labels) if labels else None,
                            "installed": compared(scores["installed"], labels) if labels else None},
              **scores}
    text = json.dumps(report, indent=2)
    (args.candidate / REPORT).write_text(text + "\n", encoding="utf-8")
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
