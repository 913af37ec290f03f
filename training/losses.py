"""Losses for multi-label targets, with per-label positive weights.

Keras `class_weight` (what the research used) weights whole samples by one class index;
with multi-hot targets it does not weight rare labels at all. Here each label's
positive term is multiplied by its own weight inside the binary cross-entropy, the
multi-label form of class weighting (`pos_weight` in other frameworks).

MCLoss is C-HMCNN(h)'s training loss: for a label that is positive, the output it is
trained on is the max-constraint of h restricted to the example's positive labels;
for a negative label, the max-constraint of h over all labels. This makes the gradient
of a parent's positive flow to the child that explains it, and a parent's negative
push down every descendant.
"""

from __future__ import annotations

import numpy as np
from tensorflow import keras

from classifier.taxonomy import Taxonomy
from training.heads import descendant_matrix, max_constraint

EPSILON = 1e-7


def positive_weights(targets: np.ndarray, mode: str, cap: float) -> np.ndarray:
    """Per-label weight of the positive term from training targets (N, n_labels).

    "inverse": negatives / positives; "sqrt_inverse": its square root (milder, what
    usually works better for long tails); "none": 1. Clipped to [1, cap]; a label
    without positives gets 1 (nothing to weight).
    """
    n_labels = targets.shape[1]
    if mode == "none":
        return np.ones(n_labels, dtype=np.float32)
    positives = targets.sum(axis=0)
    negatives = len(targets) - positives
    ratio = np.divide(negatives, positives, out=np.ones(n_labels), where=positives > 0)
    if mode == "sqrt_inverse":
        ratio = np.sqrt(ratio)
    elif mode != "inverse":
        raise ValueError(f"unknown positive weighting {mode!r}")
    return np.clip(ratio, 1.0, cap).astype(np.float32)


def weighted_bce(y_true, p, pos_weight: np.ndarray):
    """Mean over labels of -(w * y log p + (1 - y) log(1 - p)), per example."""
    p = keras.ops.clip(p, EPSILON, 1 - EPSILON)
    y = keras.ops.cast(y_true, p.dtype)
    terms = pos_weight * y * keras.ops.log(p) + (1 - y) * keras.ops.log(1 - p)
    return -keras.ops.mean(terms, axis=-1)


def mc_outputs(y_true, h, matrix: np.ndarray):
    """What MCLoss scores: y * MCM(y * h) + (1 - y) * MCM(h)."""
    y = keras.ops.cast(y_true, h.dtype)
    return y * max_constraint(y * h, matrix) + (1 - y) * max_constraint(h, matrix)


class WeightedBCE(keras.losses.Loss):
    def __init__(self, pos_weight: np.ndarray, name: str = "bce"):
        super().__init__(name=name)
        self.pos_weight = np.asarray(pos_weight, dtype=np.float32)

    def call(self, y_true, y_pred):
        return weighted_bce(y_true, y_pred, self.pos_weight)


class MCLoss(keras.losses.Loss):
    def __init__(self, matrix: np.ndarray, pos_weight: np.ndarray, name: str = "mcloss"):
        super().__init__(name=name)
        self.matrix = np.asarray(matrix, dtype=np.float32)
        self.pos_weight = np.asarray(pos_weight, dtype=np.float32)

    def call(self, y_true, y_pred):
        return weighted_bce(y_true, mc_outputs(y_true, y_pred, self.matrix), self.pos_weight)


def build_loss(name: str, taxonomy: Taxonomy, pos_weight: np.ndarray) -> keras.losses.Loss:
    """The loss the configuration names; nothing else chooses it."""
    if name == "mcloss":
        return MCLoss(descendant_matrix(taxonomy), pos_weight)
    if name == "bce":
        return WeightedBCE(pos_weight)
    raise ValueError(f"unknown loss {name!r}")
