"""The v3 head: fitted on real Commons images, judged by repeated k-fold cross-validation.

One logistic regression per label (scikit-learn) on the head's inputs (pooled features,
log graph scores, face signals), fitted on the people-labelled Commons images of the
training folds plus extra data (renders, real flags and logos, package photos; each row
counts only for the labels its source can say something about). Then, per label and
still on the training folds only (an inner cross-validation), the choice between the
graph's ImageNet-mapped score, the learned score and their maximum, and the thresholds
of each operating point. The held-out fold is scored with all of that, never seen: the
figures this returns are what a new Commons image would get.

A linear model won, under this same cross-validation, against nothing fancier that was
tried: with 165 labelled images the features' linear separability is what there is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import binomtest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold
from tqdm import tqdm

from classifier.head import COMBINE_RULES, combine
from classifier.hierarchy import max_constraint
from classifier.taxonomy import Taxonomy
from training.metrics import close_predictions
from training.thresholds import best_f1_threshold, max_recall_at_precision, min_recall_threshold

# Operating points, ORES' grammar: name -> (how the threshold is chosen, its target).
POINTS = {
    "precise": ("maximum recall at precision >= 0.9", 0.9),
    "balanced": ("best F1", None),
    "broad": ("highest threshold with recall >= 0.8", 0.8),
}
DEFAULT_POINT = "precise"
C = 0.05  # inverse L2 strength of the logistic regressions (the build's --c)
EXTRA_WEIGHT = 0.03  # loss weight of a non-Commons row against 1 for a Commons image
MIN_FIT_POSITIVES = 4  # fewer positives in the training folds: the label keeps the graph's
MIN_INNER_F1 = 0.4  # a label whose best inner F1 is lower is not suggested at all
# The precise point suggests a label only where the inner folds make its precision at
# the chosen threshold likely: the lower end of the 95 % Wilson interval at least this.
MIN_PRECISE_LOWER_BOUND = 0.5
# A label this rare on the Commons images cannot show a precise threshold there (4 to 7
# positives in the training folds): its precise point is its best-F1 threshold, raised
# to at least 0.5, rather than nothing, so that a label the extra data teaches well (Maps
# & Flags: real flags score over 0.9) is not dropped for want of Commons examples.
RARE = 8
RARE_FLOOR = 0.5


@dataclass
class Rows:
    """Head inputs with targets; `known[i, j]` says whether row i can teach label j."""

    x: np.ndarray  # (N, n_inputs) float32
    graph: np.ndarray  # (N, n_labels) graph scores, for the combination
    y: np.ndarray  # (N, n_labels) 0/1
    known: np.ndarray  # (N, n_labels) bool
    weight: np.ndarray  # (N,)

    def take(self, index: np.ndarray) -> Rows:
        return Rows(self.x[index], self.graph[index], self.y[index], self.known[index],
                    self.weight[index])

    @staticmethod
    def join(a: Rows, b: Rows) -> Rows:
        return Rows(*(np.concatenate([getattr(a, f), getattr(b, f)]) for f in
                      ("x", "graph", "y", "known", "weight")))


def fit_linear(rows: Rows, c: float, fitted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(weights (n_inputs, n_labels), bias) of one logistic regression per label in
    `fitted`, each on the rows that know that label, standardised over those rows and
    folded back into the weights (so the runtime applies x @ W + b to raw inputs); other
    labels get zeros. Classes are balanced, on top of the rows' own weights. A label whose
    rows hold one class only (possible in a learning curve's small draws) gets a constant
    near that class."""
    weights = np.zeros((rows.x.shape[1], rows.y.shape[1]), dtype=np.float64)
    bias = np.zeros(rows.y.shape[1], dtype=np.float64)
    for j in np.flatnonzero(fitted):
        m = rows.known[:, j]
        x, y = rows.x[m], rows.y[m, j]
        if y.min() == y.max():  # one class only (a small draw): a constant, nothing to fit
            bias[j] = -6.9 if y.max() == 0 else 6.9  # logit of 0.001 / 0.999
            continue
        mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
        w = rows.weight[m] * np.where(y > 0, len(y) / (2 * max(y.sum(), 1)),
                                      len(y) / (2 * max(len(y) - y.sum(), 1)))
        model = LogisticRegression(C=c, max_iter=1000).fit((x - mean) / scale, y, sample_weight=w)
        weights[:, j] = model.coef_[0] / scale
        bias[j] = model.intercept_[0] - float((model.coef_[0] * mean / scale).sum())
    return weights.astype(np.float32), bias.astype(np.float32)


def learned_scores(x: np.ndarray, weights: np.ndarray, bias: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x @ weights + bias, -60.0, 60.0)))


@dataclass
class Choice:
    """Per label: combination rule index, and thresholds per point (None: not suggested)."""

    rule: np.ndarray
    thresholds: dict[str, dict[str, float | None]]


def choose(y: np.ndarray, graph: np.ndarray, learned: np.ndarray, fitted: np.ndarray,
           taxonomy: Taxonomy, fallback: dict[str, dict[str, float | None]]) -> Choice:
    """Rules and thresholds from out-of-fold scores of the dev rows of a training set.

    Labels not fitted keep the graph's score and the `fallback` thresholds (the 2.x
    points); a fitted label takes the rule with the best F1, or is not suggested when
    even that F1 is under MIN_INNER_F1."""
    rule = np.zeros(len(taxonomy.labels), dtype=int)
    silent = np.zeros(len(taxonomy.labels), dtype=bool)
    for j in np.flatnonzero(fitted):
        best = (-1.0, 0)
        for r in range(len(COMBINE_RULES)):
            s = combine(graph[:, [j]], learned[:, [j]], np.array([r]))[:, 0]
            t = best_f1_threshold(y[:, j], s)
            f1 = 0.0 if t is None else _f1(y[:, j], s >= t)
            if f1 > best[0] + 1e-9:
                best = (f1, r)
        rule[j] = best[1]
        silent[j] = best[0] < MIN_INNER_F1
    scores = max_constraint(combine(graph, learned, rule), taxonomy)
    thresholds: dict[str, dict[str, float | None]] = {}
    for point, (_, target) in POINTS.items():
        thresholds[point] = {}
        for j, label in enumerate(taxonomy.labels):
            if not fitted[j]:
                thresholds[point][label] = fallback[point][label]
            elif silent[j]:
                thresholds[point][label] = None
            elif point == "precise":
                t = max_recall_at_precision(y[:, j], scores[:, j], target)
                if t is None or not _likely_precise(y[:, j], scores[:, j] >= t):
                    best = best_f1_threshold(y[:, j], scores[:, j])
                    rare = y[:, j].sum() < RARE and best is not None
                    t = max(best, RARE_FLOOR) if rare else None
                thresholds[point][label] = t
            elif point == "balanced":
                thresholds[point][label] = best_f1_threshold(y[:, j], scores[:, j])
            else:
                thresholds[point][label] = min_recall_threshold(y[:, j], scores[:, j], target)
    for label in taxonomy.labels:  # broad never suggests less than balanced
        broad, balanced = thresholds["broad"][label], thresholds["balanced"][label]
        if broad is not None and balanced is not None:
            thresholds["broad"][label] = min(broad, balanced)
    return Choice(rule, thresholds)


def _likely_precise(y: np.ndarray, predicted: np.ndarray) -> bool:
    hits = int((predicted & (y > 0)).sum())
    interval = binomtest(hits, int(predicted.sum())).proportion_ci(method="wilson")
    return interval.low >= MIN_PRECISE_LOWER_BOUND


def _f1(y: np.ndarray, predicted: np.ndarray) -> float:
    tp = float((predicted & (y > 0)).sum())
    return 2 * tp / (predicted.sum() + y.sum()) if tp else 0.0


def fitted_labels(dev: Rows) -> np.ndarray:
    return dev.y.sum(axis=0) >= MIN_FIT_POSITIVES


def fit_and_choose(dev: Rows, extra: Rows, c: float, taxonomy: Taxonomy,
                   fallback: dict, inner_folds: int, seed: int):
    """Everything fitted on (dev, extra): weights, bias and the Choice, the latter from an
    inner cross-validation over the dev rows."""
    fitted = fitted_labels(dev)
    learned = np.zeros_like(dev.y)
    for train, test in KFold(inner_folds, shuffle=True, random_state=seed).split(dev.x):
        w, b = fit_linear(Rows.join(dev.take(train), extra), c, fitted)
        learned[test] = learned_scores(dev.x[test], w, b)
    choice = choose(dev.y, dev.graph, learned, fitted, taxonomy, fallback)
    weights, bias = fit_linear(Rows.join(dev, extra), c, fitted)
    return weights, bias, choice


def predicted_sets(scores: np.ndarray, thresholds: dict[str, float | None],
                   taxonomy: Taxonomy) -> np.ndarray:
    t = np.array([np.inf if thresholds[x] is None else thresholds[x] for x in taxonomy.labels])
    return close_predictions(scores >= t, taxonomy)


def cross_validate(dev: Rows, extra: Rows, c: float, taxonomy: Taxonomy, fallback: dict,
                   folds: int, repeats: int, inner_folds: int, seed: int,
                   train_fraction: float = 1.0) -> list[dict]:
    """Per repeat: out-of-fold scores and, per point, predicted sets of every dev image,
    each from a head, rules and thresholds fitted without its fold. With
    `train_fraction` < 1 each fold is fitted on that share of its training images only
    (a seeded draw), which is how a learning curve asks what more images would give."""
    runs = []
    progress = tqdm(total=folds * repeats, desc="cross-validation", unit="fold")
    for r in range(repeats):
        scores = np.zeros_like(dev.y)
        predicted = {p: np.zeros(dev.y.shape, dtype=bool) for p in POINTS}
        rules = []
        splitter = KFold(folds, shuffle=True, random_state=seed + r)
        draw = np.random.default_rng(seed + r)
        for train, test in splitter.split(dev.x):
            if train_fraction < 1.0:
                train = np.sort(draw.choice(train, round(len(train) * train_fraction),
                                            replace=False))
            w, b, choice = fit_and_choose(dev.take(train), extra, c, taxonomy, fallback,
                                          inner_folds, seed + r)
            s = max_constraint(
                combine(dev.graph[test], learned_scores(dev.x[test], w, b), choice.rule),
                taxonomy)
            scores[test] = s
            for p in POINTS:
                predicted[p][test] = predicted_sets(s, choice.thresholds[p], taxonomy)
            rules.append(choice.rule)
            progress.update()
        runs.append({"scores": scores, "predicted": predicted, "rules": np.array(rules)})
    progress.close()
    return runs
