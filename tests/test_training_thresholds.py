"""Operating points on constructed score tables, including the research's zero-threshold cases."""

from __future__ import annotations

import numpy as np
import pytest

from classifier.taxonomy import load_taxonomy
from training.thresholds import max_recall_at_precision, operating_points


def test_perfect_separation_gives_a_threshold_between_the_classes():
    t = max_recall_at_precision([1, 1, 0, 0], [0.9, 0.8, 0.3, 0.2], 0.9)
    assert 0.3 < t < 0.8


def test_maximum_recall_is_chosen_among_thresholds_meeting_the_precision():
    y, s = [1, 0, 1, 0, 0], [0.9, 0.8, 0.6, 0.3, 0.1]
    assert max_recall_at_precision(y, s, 0.9) == pytest.approx(0.85)  # recall 0.5, precision 1
    assert max_recall_at_precision(y, s, 0.6) == pytest.approx(0.45)  # recall 1, precision 2/3


def test_a_label_without_positives_gets_none_not_zero():
    # The research's tuning picked 0 here: "predict it for every image".
    assert max_recall_at_precision([0, 0, 0, 0], [0.9, 0.5, 0.2, 0.0], 0.7) is None


def test_predicting_every_image_is_never_a_candidate():
    # Frequent label: predicting all gives precision 0.9 and the best F1, so a grid that
    # includes 0 picks 0. Here the threshold must lie above the lowest score.
    y = [1] * 9 + [0]
    s = [0.1] * 10
    assert max_recall_at_precision(y, s, 0.9) is None  # all scores tie: nothing separates
    s = [0.5, 0.45, 0.4, 0.35, 0.3, 0.25, 0.2, 0.15, 0.1, 0.05]
    t = max_recall_at_precision(y, s, 0.9)
    assert t is not None and 0.05 < t < 1


def test_saturated_scores_of_zero_and_one_still_give_thresholds_inside_the_interval():
    t = max_recall_at_precision([1, 1, 0, 0], [1.0, 1.0, 0.0, 0.0], 0.9)
    assert t == 0.5
    t = max_recall_at_precision([1, 0, 0], [1.0, 0.999, 0.0], 0.9)
    assert 0.999 < t < 1.0


def test_unreachable_precision_gives_none():
    assert max_recall_at_precision([0, 1, 0, 1], [0.9, 0.8, 0.7, 0.1], 0.9) is None


def test_every_threshold_returned_on_random_tables_is_inside_zero_one():
    rng = np.random.default_rng(0)
    for _ in range(200):
        n = int(rng.integers(1, 30))
        y = rng.random(n) < rng.random()
        s = np.round(rng.random(n), int(rng.integers(0, 3)))
        for p in (0.7, 0.9):
            t = max_recall_at_precision(y, s, p)
            if t is not None:
                assert 0 < t < 1
                hit = s >= t
                assert hit.any() and not hit.all()
                assert (y & hit).sum() / hit.sum() >= p


def test_operating_points_cover_every_label_with_both_targets():
    taxonomy = load_taxonomy("1.4")
    rng = np.random.default_rng(1)
    y = rng.random((50, len(taxonomy.labels))) < 0.3
    y[:, 0] = False
    points = operating_points(y, rng.random(y.shape), taxonomy)
    assert set(points) == {"precision_0.9", "precision_0.7"}
    for thresholds in points.values():
        assert list(thresholds) == list(taxonomy.labels)
        assert thresholds[taxonomy.labels[0]] is None
