"""PNG plots of an evaluation: PR curves per label, label frequency against F1."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.metrics import precision_recall_curve  # noqa: E402

from classifier.taxonomy import Taxonomy  # noqa: E402


def pr_curves(targets: np.ndarray, scores: np.ndarray, taxonomy: Taxonomy,
              points: Mapping[str, Mapping[str, float | None]], path: Path) -> None:
    """One small panel per label: the test PR curve and where each operating point lands."""
    labels = taxonomy.labels
    cols = 5
    rows = math.ceil(len(labels) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.2 * cols, 2.0 * rows), squeeze=False)
    for ax, (i, label) in zip(axes.flat, enumerate(labels), strict=False):
        y = targets[:, i].astype(bool)
        ax.set_title(label, fontsize=7)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.tick_params(labelsize=6)
        if 0 < y.sum() < len(y):
            precision, recall, _ = precision_recall_curve(y, scores[:, i])
            ax.plot(recall, precision, lw=1)
        for (name, thresholds), marker in zip(points.items(), "ov", strict=False):
            t = thresholds[label]
            if t is not None and y.any():
                hit = scores[:, i] >= t
                if hit.any():
                    ax.plot((y & hit).sum() / y.sum(), (y & hit).sum() / hit.sum(), marker,
                            ms=4, label=name)
    for ax in axes.flat[len(labels):]:
        ax.axis("off")
    fig.supxlabel("recall (test)", fontsize=8)
    fig.supylabel("precision (test)", fontsize=8)
    handles, names = axes.flat[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, names, fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=60)
    plt.close(fig)


def frequency_vs_f1(train_support: Mapping[str, int], f1: Mapping[str, float], path: Path,
                    title: str) -> None:
    """Training frequency (log) against test F1: do rare labels fail?"""
    fig, ax = plt.subplots(figsize=(5, 3.5))
    labels = list(f1)
    x = [max(train_support[label], 1) for label in labels]
    ax.scatter(x, [f1[label] for label in labels], s=12)
    for label, xi in zip(labels, x, strict=True):
        ax.annotate(label, (xi, f1[label]), fontsize=6, xytext=(2, 2), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("training images with the label")
    ax.set_ylabel("test F1")
    ax.set_title(title, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=60)
    plt.close(fig)
