"""Per-label operating points, ORES style: "maximum recall @ precision >= p".

Chosen on the validation split, scored on the test split. The research tuned thresholds
on a grid that included 0, and picked it for rare labels: "predict this label for every
image". Here the candidates are the midpoints between consecutive distinct validation
scores of the label, so a threshold always separates two observed scores, is strictly
inside (0, 1), and can never include every image. A label without positives, or whose
precision never reaches the target, gets None: it has no operating point and the
classifier never suggests it.
"""

from __future__ import annotations

import numpy as np

from classifier.taxonomy import Taxonomy

TARGETS = {"precision_0.9": 0.9, "precision_0.7": 0.7}


def max_recall_at_precision(
    targets: np.ndarray, scores: np.ndarray, min_precision: float, min_positives: int = 1
) -> float | None:
    """The threshold (predict when score >= t) with the highest recall whose precision is at
    least `min_precision`; ties go to the higher threshold. None when there is none."""
    y = np.asarray(targets, dtype=bool)
    s = np.asarray(scores, dtype=np.float64)
    if y.sum() < min_positives:
        return None
    distinct = np.unique(s)[::-1]  # descending
    if len(distinct) < 2:
        return None  # every image scores the same: no threshold tells them apart
    candidates = (distinct[:-1] + distinct[1:]) / 2
    order = np.argsort(-s, kind="stable")
    tp_at = np.cumsum(y[order])  # true positives among the k highest scores
    # predicted positives at candidate c: scores strictly above c, i.e. >= distinct[i]
    predicted = np.searchsorted(-s[order], -candidates, side="left")
    tp = tp_at[predicted - 1]
    precision = tp / predicted
    recall = tp / y.sum()
    ok = (precision >= min_precision) & (tp > 0) & (candidates > 0) & (candidates < 1)
    if not ok.any():
        return None
    best = np.flatnonzero(ok & (recall == recall[ok].max()))[0]  # highest such threshold
    return float(candidates[best])


def operating_points(
    targets: np.ndarray, scores: np.ndarray, taxonomy: Taxonomy
) -> dict[str, dict[str, float | None]]:
    """Point name -> label -> threshold (None: no valid point), from validation data."""
    return {
        name: {
            label: max_recall_at_precision(targets[:, i], scores[:, i], p)
            for i, label in enumerate(taxonomy.labels)
        }
        for name, p in TARGETS.items()
    }


def best_f1_threshold(targets: np.ndarray, scores: np.ndarray) -> float | None:
    """The threshold with the highest F1 (ties to the higher threshold); None without a
    positive that any threshold strictly inside (0, 1) separates."""
    return _best(targets, scores, lambda tp, predicted, positives: 2 * tp / (predicted + positives))


def min_recall_threshold(
    targets: np.ndarray, scores: np.ndarray, min_recall: float
) -> float | None:
    """The highest threshold whose recall is at least `min_recall` (the most precise
    "broad" point); None where no threshold reaches it."""
    return _best(
        targets,
        scores,
        lambda tp, predicted, positives: np.where(tp / positives >= min_recall, tp / predicted, -1),
    )


def _best(targets: np.ndarray, scores: np.ndarray, value) -> float | None:
    """The candidate threshold (midpoints of distinct scores, as above) that maximises
    value(tp, predicted, positives), ties to the higher threshold; None if the best value
    is not positive."""
    y = np.asarray(targets, dtype=bool)
    s = np.asarray(scores, dtype=np.float64)
    distinct = np.unique(s)[::-1]
    if not y.any() or len(distinct) < 2:
        return None
    candidates = (distinct[:-1] + distinct[1:]) / 2
    order = np.argsort(-s, kind="stable")
    predicted = np.searchsorted(-s[order], -candidates, side="left")
    tp = np.cumsum(y[order])[predicted - 1]
    values = np.where((candidates > 0) & (candidates < 1) & (tp > 0),
                      value(tp, predicted, y.sum()), -1.0)
    best = int(np.argmax(values))
    return float(candidates[best]) if values[best] > 0 else None
