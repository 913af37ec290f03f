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
