"""The hierarchy rules applied to any model's scores, whatever its head.

C-HMCNN's max-constraint: a parent's score is the maximum of its own and its
descendants' scores, so a label's score never exceeds its parent's. Predictions are
then closed under ancestors: a label is suggested only together with its ancestors.
Applied at run time for every model, so that a model whose head does not guarantee the
rule (a flat sigmoid head, a rounding step of int8 quantization) still obeys it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from classifier.taxonomy import Taxonomy


def max_constraint(scores: np.ndarray, taxonomy: Taxonomy) -> np.ndarray:
    """scores (..., n_labels) in taxonomy order -> parents raised to their descendants' max."""
    out = np.array(scores, dtype=np.float32, copy=True)
    # Children come after parents in taxonomy order, so one reverse pass propagates
    # maxima all the way up.
    for child, parent in reversed(list(enumerate(taxonomy.parent_indices))):
        if parent >= 0:
            np.maximum(out[..., parent], out[..., child], out=out[..., parent])
    return out


def predicted_labels(
    scores: Sequence[float], taxonomy: Taxonomy, thresholds: Mapping[str, float | None]
) -> tuple[str, ...]:
    """Labels at or over their threshold (None: never), closed under ancestors."""
    hits = [
        label
        for label, score in zip(taxonomy.labels, scores, strict=True)
        if thresholds.get(label) is not None and score >= thresholds[label]
    ]
    return taxonomy.close_under_ancestors(hits)
