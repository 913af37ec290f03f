"""The hierarchy rule on random scores: no label above its parent, predictions closed upward.

The rule is what makes the output of any model (a flat head, an int8 rounding) a valid
hierarchical labelling, so it is checked against an independent statement of it on many
random score sets, for both shipped taxonomies.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from classifier.hierarchy import max_constraint, predicted_labels
from classifier.model import TopicModel
from classifier.taxonomy import Taxonomy, load_taxonomy

TAXONOMIES = [load_taxonomy("1.4"), load_taxonomy("1.3")]


def reference_max_constraint(scores: np.ndarray, taxonomy: Taxonomy) -> np.ndarray:
    """The definition, written independently: own score or any descendant's, whichever is larger."""
    out = np.empty_like(scores, dtype=np.float32)
    for j, label in enumerate(taxonomy.labels):
        columns = [j] + [taxonomy.index(d) for d in taxonomy.descendants(label)]
        out[..., j] = scores[..., columns].max(axis=-1)
    return out


def assert_hierarchy_holds(scores: np.ndarray, taxonomy: Taxonomy) -> None:
    for j, parent in enumerate(taxonomy.parent_indices):
        if parent >= 0:
            assert (scores[..., j] <= scores[..., parent]).all(), taxonomy.labels[j]


@pytest.mark.parametrize("taxonomy", TAXONOMIES, ids=lambda t: f"v{t.version}")
@pytest.mark.parametrize("seed", range(25))
def test_max_constraint_on_random_scores(taxonomy: Taxonomy, seed: int):
    rng = np.random.default_rng(seed)
    n = len(taxonomy.labels)
    # Mix uniform scores with sparse ones (most labels zero), as real heads produce.
    scores = rng.random((64, n)).astype(np.float32)
    scores[::2] *= rng.random((32, n)) < 0.2
    before = scores.copy()
    out = max_constraint(scores, taxonomy)
    assert np.array_equal(scores, before), "the input must not be modified"
    assert out.shape == scores.shape and out.dtype == np.float32
    assert_hierarchy_holds(out, taxonomy)
    np.testing.assert_array_equal(out, reference_max_constraint(scores, taxonomy))
    # leaves keep their own score; nobody's score goes down
    for j, label in enumerate(taxonomy.labels):
        if taxonomy.is_leaf(label):
            assert np.array_equal(out[:, j], scores[:, j])
    assert (out >= scores).all()
    # applying the rule twice changes nothing
    np.testing.assert_array_equal(max_constraint(out, taxonomy), out)


def test_max_constraint_single_row_and_deep_chain():
    """A 1-D row works too, and a leaf two levels down lifts its grandparent."""
    taxonomy = load_taxonomy("1.4")
    row = np.zeros(len(taxonomy.labels), np.float32)
    row[taxonomy.index("Plants")] = 0.9
    out = max_constraint(row, taxonomy)
    assert out.shape == row.shape
    assert out[taxonomy.index("Nature")] == pytest.approx(0.9)
    assert out[taxonomy.index("STEM")] == pytest.approx(0.9)
    assert out[taxonomy.index("Animals")] == 0
    assert out[taxonomy.index("Places")] == 0


@pytest.mark.parametrize("taxonomy", TAXONOMIES, ids=lambda t: f"v{t.version}")
@pytest.mark.parametrize("seed", range(25))
def test_predicted_labels_closed_and_thresholded(taxonomy: Taxonomy, seed: int):
    rng = np.random.default_rng(1000 + seed)
    labels = taxonomy.labels
    # per-label thresholds, some None (that label is never predicted by itself)
    thresholds = {
        label: (None if rng.random() < 0.2 else float(rng.uniform(0.05, 0.95)))
        for label in labels
    }
    for raw in rng.random((40, len(labels))):
        scores = max_constraint(raw, taxonomy)
        predicted = predicted_labels(scores, taxonomy, thresholds)
        chosen = set(predicted)
        # in taxonomy order, no duplicates
        assert list(predicted) == [x for x in labels if x in chosen]
        # closed under ancestors
        for label in predicted:
            assert set(taxonomy.ancestors(label)) <= chosen
        for j, label in enumerate(labels):
            t = thresholds[label]
            over = t is not None and scores[j] >= t
            if over:
                assert label in chosen
            if label in chosen and not over:
                # only there as the ancestor of a label that is over its own threshold
                assert any(
                    thresholds[d] is not None and scores[taxonomy.index(d)] >= thresholds[d]
                    for d in taxonomy.descendants(label)
                ), label


def test_none_threshold_never_predicts_the_label_by_itself():
    taxonomy = load_taxonomy("1.4")
    scores = np.ones(len(taxonomy.labels), np.float32)
    thresholds = dict.fromkeys(taxonomy.labels, None)
    assert predicted_labels(scores, taxonomy, thresholds) == ()
    thresholds["Plants"] = 0.5
    assert predicted_labels(scores, taxonomy, thresholds) == ("STEM", "Nature", "Plants")


def test_threshold_is_inclusive():
    taxonomy = load_taxonomy("1.4")
    scores = np.zeros(len(taxonomy.labels), np.float32)
    scores[taxonomy.index("Places")] = 0.5
    thresholds = dict.fromkeys(taxonomy.labels, 0.5)
    assert predicted_labels(scores, taxonomy, thresholds) == ("Places",)
    scores[taxonomy.index("Places")] = np.nextafter(np.float32(0.5), np.float32(0))
    assert predicted_labels(scores, taxonomy, thresholds) == ()


@pytest.fixture(scope="module")
def model() -> TopicModel:
    return TopicModel.load()


def test_model_output_obeys_the_rule(model: TopicModel):
    """Whatever the int8 graph computes, the scores the model returns obey the hierarchy."""
    rng = np.random.default_rng(5)
    size = model.card.input_size
    noise = rng.integers(0, 256, (6, size, size, 3), dtype=np.uint8)
    y, x = np.mgrid[0:size, 0:size]
    smooth = np.stack(
        [np.stack([(x * k) % 256, (y * k) % 256, ((x + y) * k) % 256], -1) for k in (1, 2, 3)]
    ).astype(np.uint8)
    arrays = np.concatenate([noise, smooth])
    boxed = (
        np.stack([model.prepare(Image.fromarray(a))[1] for a in arrays])
        if model.face_detector
        else None
    )
    scores = model.predict_arrays(arrays, boxed)
    assert scores.shape == (9, len(model.labels))
    assert ((scores >= 0) & (scores <= 1)).all()
    assert_hierarchy_holds(scores, model.taxonomy)
    np.testing.assert_array_equal(scores, reference_max_constraint(scores, model.taxonomy))
    for row in scores:
        predicted = predicted_labels(row, model.taxonomy, model.thresholds())
        for label in predicted:
            assert set(model.taxonomy.ancestors(label)) <= set(predicted)
