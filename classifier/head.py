"""The learned head of format-2 models: label scores from the graph's outputs and the
detectors' signals, and the per-label choice between those and the graph's own scores.

It is a linear layer with a sigmoid per label (logistic regression, fitted by
`training.build_default_model_v3` on real Commons images under cross-validation), kept
outside the int8 graph in `head.npz` so that the detectors' signals, which come from a
second network, can enter it; its size is (inputs x labels), a few hundred kilobytes,
and it costs microseconds in numpy. Which inputs it reads, in which order, and how each
label combines the learned score with the graph's mapped score is written in
`model.json` under `head`, so nothing about it lives only in code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

COMBINE_RULES = ("graph", "learned", "max")

# The inputs a head may read, each a function of the graph's outputs and the signals.
INPUT_KINDS = ("features", "log_graph_scores", "face")


def head_input(
    kind: str, graph_scores: np.ndarray, features: np.ndarray, face: np.ndarray
) -> np.ndarray:
    """One named block of the head's input matrix (rows = images)."""
    if kind == "features":
        return features
    if kind == "log_graph_scores":
        # log puts a class-sum of 0.001 and of 0.01 apart, where a linear layer on the
        # raw score could not tell them from 0
        return np.log(np.clip(graph_scores, 1e-4, 1.0))
    if kind == "face":
        return face
    raise ValueError(f"unknown head input {kind!r}; known: {', '.join(INPUT_KINDS)}")


class LinearHead:
    """`scores(graph_scores, features, face)` -> per-label scores before the hierarchy."""

    def __init__(self, path: Path, spec: dict[str, Any], labels: tuple[str, ...]) -> None:
        from classifier.artifact import ModelArtifactError

        try:
            with np.load(path, allow_pickle=False) as saved:
                self.weights = saved["weights"].astype(np.float32)
                self.bias = saved["bias"].astype(np.float32)
        except (OSError, KeyError, ValueError) as err:
            raise ModelArtifactError(f"{path}: not a usable head: {err}") from None
        self.inputs = [(str(block["kind"]), int(block["size"])) for block in spec["inputs"]]
        width = sum(size for _, size in self.inputs)
        if self.weights.shape != (width, len(labels)) or self.bias.shape != (len(labels),):
            raise ModelArtifactError(
                f"{path}: weights {self.weights.shape} and bias {self.bias.shape}, "
                f"model.json says ({width}, {len(labels)}) and ({len(labels)},)"
            )
        combine = spec["combine"]
        if set(combine) != set(labels) or not set(combine.values()) <= set(COMBINE_RULES):
            raise ModelArtifactError(
                f"{path.parent / 'model.json'}: head.combine must give every label one of "
                f"{', '.join(COMBINE_RULES)}"
            )
        self._rule = np.array([COMBINE_RULES.index(combine[label]) for label in labels])

    def matrix(self, graph_scores: np.ndarray, features: np.ndarray, face: np.ndarray):
        """The head's input matrix, blocks in model.json's order."""
        blocks = [head_input(kind, graph_scores, features, face) for kind, _ in self.inputs]
        for (kind, size), block in zip(self.inputs, blocks, strict=True):
            if block.shape[1] != size:
                raise ValueError(f"head input {kind} has {block.shape[1]} columns, not {size}")
        return np.concatenate(blocks, axis=1)

    def scores(self, graph_scores: np.ndarray, features: np.ndarray, face: np.ndarray):
        x = self.matrix(graph_scores, features, face)
        learned = 1.0 / (1.0 + np.exp(-np.clip(x @ self.weights + self.bias, -60.0, 60.0)))
        return combine(graph_scores, learned, self._rule)


def combine(graph_scores: np.ndarray, learned: np.ndarray, rule: np.ndarray) -> np.ndarray:
    """Per label: the graph's score, the learned one, or the larger (rule indexes
    COMBINE_RULES)."""
    return np.select(
        [rule == 0, rule == 1], [graph_scores, learned], np.maximum(graph_scores, learned)
    ).astype(np.float32)
