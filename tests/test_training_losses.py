"""The max-constraint module and MCLoss against NumPy references on random inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from classifier.hierarchy import max_constraint as classifier_max_constraint
from classifier.taxonomy import load_taxonomy, load_taxonomy_file

tf = pytest.importorskip("tensorflow")

from training.heads import MaxConstraint, descendant_matrix  # noqa: E402
from training.losses import MCLoss, WeightedBCE, build_loss, positive_weights  # noqa: E402

TAXONOMIES = [
    load_taxonomy("1.4"),
    load_taxonomy_file(Path(__file__).parents[1] / "training/configs/fashion-mnist-taxonomy.toml"),
]


def mcm_reference(h: np.ndarray, taxonomy, mask: np.ndarray | None = None) -> np.ndarray:
    """out[n, i] = max of h[n, j] over j in {i} + descendants(i) (where mask[n, j])."""
    out = np.zeros_like(h)
    for i, label in enumerate(taxonomy.labels):
        members = [i] + [taxonomy.labels.index(d) for d in taxonomy.descendants(label)]
        values = h[:, members] if mask is None else np.where(mask[:, members], h[:, members], 0)
        out[:, i] = values.max(axis=1)
    return out


def mcloss_reference(y: np.ndarray, h: np.ndarray, taxonomy, w: np.ndarray) -> float:
    positive = mcm_reference(h, taxonomy, mask=y.astype(bool))  # over positive labels only
    o = np.clip(np.where(y == 1, positive, mcm_reference(h, taxonomy)), 1e-7, 1 - 1e-7)
    return float(np.mean(-(w * y * np.log(o) + (1 - y) * np.log(1 - o))))


def _random_batch(taxonomy, seed: int):
    rng = np.random.default_rng(seed)
    h = rng.random((16, len(taxonomy.labels))).astype(np.float32)
    leaves = rng.random(h.shape) < 0.2
    y = np.array([[x in taxonomy.close_under_ancestors(
        [taxonomy.labels[j] for j in np.flatnonzero(row)]) for x in taxonomy.labels]
        for row in leaves], dtype=np.float32)
    return y, h


@pytest.mark.parametrize("taxonomy", TAXONOMIES, ids=lambda t: t.version)
def test_max_constraint_layer_matches_numpy_and_the_classifier(taxonomy):
    _, h = _random_batch(taxonomy, 0)
    out = MaxConstraint(descendant_matrix(taxonomy))(h).numpy()
    np.testing.assert_allclose(out, mcm_reference(h, taxonomy), rtol=0, atol=1e-7)
    np.testing.assert_allclose(out, classifier_max_constraint(h, taxonomy), atol=1e-7)
    parents = np.array(taxonomy.parent_indices)
    child = np.flatnonzero(parents >= 0)
    assert (out[:, child] <= out[:, parents[child]]).all()


@pytest.mark.parametrize("taxonomy", TAXONOMIES, ids=lambda t: t.version)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_mcloss_matches_numpy_reference(taxonomy, seed):
    y, h = _random_batch(taxonomy, seed)
    w = np.random.default_rng(seed).uniform(1, 5, len(taxonomy.labels)).astype(np.float32)
    loss = MCLoss(descendant_matrix(taxonomy), w)
    assert float(loss(y, h)) == pytest.approx(mcloss_reference(y, h, taxonomy, w), rel=1e-5)


def test_weighted_bce_weights_only_the_positive_term():
    y = np.array([[1.0, 0.0]], np.float32)
    p = np.array([[0.8, 0.3]], np.float32)
    w = np.array([3.0, 3.0], np.float32)
    expected = -(3 * np.log(0.8) + np.log(0.7)) / 2
    assert float(WeightedBCE(w)(y, p)) == pytest.approx(expected, rel=1e-5)


def test_mcloss_differs_from_bce_when_a_child_outscores_its_parent():
    taxonomy = TAXONOMIES[1]
    y = np.zeros((1, len(taxonomy.labels)), np.float32)
    h = np.full_like(y, 0.1)
    h[0, taxonomy.index("Sandal")] = 0.9  # a negative child high, its parent low
    ones = np.ones(len(taxonomy.labels), np.float32)
    mc = float(build_loss("mcloss", taxonomy, ones)(y, h))
    bce = float(build_loss("bce", taxonomy, ones)(y, h))
    assert mc > bce  # MCLoss also charges the parent, which the constraint lifts to 0.9


def test_positive_weights_are_per_label_and_capped():
    targets = np.zeros((100, 3), np.float32)
    targets[:50, 0] = 1
    targets[:1, 1] = 1
    w = positive_weights(targets, "inverse", cap=10)
    assert w.tolist() == [1.0, 10.0, 1.0]
    assert positive_weights(targets, "sqrt_inverse", cap=100)[1] == pytest.approx(np.sqrt(99))
    assert positive_weights(targets, "none", cap=10).tolist() == [1, 1, 1]
