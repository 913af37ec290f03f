"""Multi-label metrics: per label, averaged, and the hierarchy-violation share.

Pure functions of (targets, scores, thresholds). A label whose threshold is None is
never predicted: its recall is 0 and its precision undefined (reported as None), which is
what the bot will do with it, rather than a number that flatters the model.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from classifier.taxonomy import Taxonomy


def predictions(scores: np.ndarray, labels: tuple[str, ...],
                thresholds: Mapping[str, float | None] | float) -> np.ndarray:
    """Boolean (N, n_labels): score >= threshold; a None threshold predicts nothing."""
    if isinstance(thresholds, float):
        return scores >= thresholds
    t = np.array([np.inf if thresholds[x] is None else thresholds[x] for x in labels])
    return scores >= t


def close_predictions(predicted: np.ndarray, taxonomy: Taxonomy) -> np.ndarray:
    """Add each predicted label's ancestors, as the classifier does before suggesting."""
    out = predicted.copy()
    for child, parent in reversed(list(enumerate(taxonomy.parent_indices))):
        if parent >= 0:
            out[:, parent] |= out[:, child]
    return out


def _ratio(num: float, den: float) -> float | None:
    return float(num / den) if den else None


def _f1(p: float | None, r: float | None) -> float:
    return 0.0 if not p or not r else 2 * p * r / (p + r)


def label_metrics(targets: np.ndarray, scores: np.ndarray, predicted: np.ndarray,
                  labels: tuple[str, ...]) -> dict[str, dict]:
    out = {}
    for i, label in enumerate(labels):
        y, s, yhat = targets[:, i].astype(bool), scores[:, i], predicted[:, i]
        tp = int((y & yhat).sum())
        p, r = _ratio(tp, yhat.sum()), _ratio(tp, y.sum())
        both = 0 < y.sum() < len(y)
        out[label] = {
            "support": int(y.sum()),
            "precision": p,
            "recall": r,
            "f1": _f1(p, r),
            "pr_auc": float(average_precision_score(y, s)) if both else None,
            "roc_auc": float(roc_auc_score(y, s)) if both else None,
        }
    return out


def averages(targets: np.ndarray, predicted: np.ndarray, per_label: dict[str, dict]) -> dict:
    """Micro (pooled counts), macro (mean over labels with support) and samples (mean
    over images of each image's F1) averages."""
    y = targets.astype(bool)
    tp, npred, npos = (y & predicted).sum(), predicted.sum(), y.sum()
    micro_p, micro_r = _ratio(tp, npred), _ratio(tp, npos)
    supported = [m for m in per_label.values() if m["support"]]

    def mean(key: str) -> float | None:
        values = [m[key] for m in supported if m[key] is not None]
        return float(np.mean(values)) if values else None

    row_tp = (y & predicted).sum(axis=1)
    row_f1 = np.where(y.sum(1) + predicted.sum(1) > 0,
                      2 * row_tp / np.maximum(y.sum(1) + predicted.sum(1), 1), 1.0)
    return {
        "micro": {"precision": micro_p, "recall": micro_r, "f1": _f1(micro_p, micro_r)},
        "macro": {"precision": mean("precision"), "recall": mean("recall"), "f1": mean("f1"),
                  "pr_auc": mean("pr_auc"), "roc_auc": mean("roc_auc")},
        "samples": {"f1": float(row_f1.mean()) if len(row_f1) else None},
    }


def hierarchy_violations(scores: np.ndarray, predicted: np.ndarray,
                         taxonomy: Taxonomy) -> dict[str, float]:
    """Share of images where some child outscores its parent, and where a label is
    predicted without its parent (before the classifier's run-time correction)."""
    parents = np.array(taxonomy.parent_indices)
    child = np.flatnonzero(parents >= 0)
    if not len(child) or not len(scores):
        return {"scores": 0.0, "predictions": 0.0}
    over = scores[:, child] > scores[:, parents[child]] + 1e-6
    orphan = predicted[:, child] & ~predicted[:, parents[child]]
    return {"scores": float(over.any(axis=1).mean()),
            "predictions": float(orphan.any(axis=1).mean())}


def evaluate_scores(targets: np.ndarray, scores: np.ndarray, taxonomy: Taxonomy,
                    thresholds: Mapping[str, float | None] | float) -> dict:
    """Metrics of what the classifier would suggest (predictions closed under ancestors);
    the hierarchy violations are those of the model's own output, before that closure."""
    raw = predictions(scores, taxonomy.labels, thresholds)
    predicted = close_predictions(raw, taxonomy)
    per_label = label_metrics(targets, scores, predicted, taxonomy.labels)
    return {
        "images": int(len(targets)),
        "averages": averages(targets, predicted, per_label),
        "hierarchy_violations": hierarchy_violations(scores, raw, taxonomy),
        "per_label": per_label,
    }
