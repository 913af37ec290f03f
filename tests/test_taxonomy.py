"""The taxonomy files are the only place labels and the hierarchy are defined.

Every model's output columns, the hierarchy rule and the category heuristic derive from
them, so these tests pin the shape of v1.4 (the default) and v1.3 (kept to read older
labels) and the small API that everything else relies on.
"""

from __future__ import annotations

import pytest

from classifier.taxonomy import (
    DEFAULT_VERSION,
    Label,
    Taxonomy,
    TaxonomyError,
    available_versions,
    load_taxonomy,
)

V14_ROOTS = ("STEM", "Places", "Society", "Culture", "Logos & Symbols")


@pytest.fixture(scope="module")
def v14() -> Taxonomy:
    return load_taxonomy("1.4")


@pytest.fixture(scope="module")
def v13() -> Taxonomy:
    return load_taxonomy("1.3")


def test_default_version_is_1_4_and_both_versions_ship():
    assert DEFAULT_VERSION == "1.4"
    assert {"1.3", "1.4"} <= set(available_versions())
    assert load_taxonomy() == load_taxonomy("1.4")


def test_v14_shape(v14: Taxonomy):
    assert v14.version == "1.4"
    assert len(v14.labels) == 28
    assert len(set(v14.labels)) == 28
    assert v14.roots == V14_ROOTS
    # v1.4 merged Geology and Fossils and dropped Politics and Belief.
    assert "Geology & Fossils" in v14.labels
    for gone in ("Geology", "Fossils", "Politics", "Belief"):
        assert gone not in v14.labels


def test_v13_keeps_the_labels_v14_merged_or_dropped(v13: Taxonomy):
    assert v13.version == "1.3"
    assert len(v13.labels) == 31
    for label in ("Politics", "Belief", "Geology", "Fossils"):
        assert label in v13.labels
    assert "Geology & Fossils" not in v13.labels
    assert v13.parent("Politics") == "Society"
    assert v13.parent("Belief") == "Culture"
    assert v13.parent("Geology") == "STEM"
    assert v13.parent("Fossils") == "Nature"
    assert v13.roots == V14_ROOTS


@pytest.mark.parametrize("version", ["1.3", "1.4"])
def test_parents_come_before_children(version: str):
    """Column order is model output order; the hierarchy code relies on parents first."""
    taxonomy = load_taxonomy(version)
    for i, label in enumerate(taxonomy.labels):
        parent = taxonomy.parent(label)
        if parent is not None:
            assert taxonomy.index(parent) < i, (label, parent)


@pytest.mark.parametrize(
    ("label", "anchors"),
    [
        ("Plants", ("Plantae",)),
        ("Animals", ("Animalia",)),
        ("Maps & Flags", ("Maps", "Flags")),
        ("Geology & Fossils", ("Geology", "Fossils")),
        ("Space", ("Astronomy",)),
        ("Transportation", ("Transport",)),
        ("People", ("People", "Human births")),
        ("Monuments & Memorials", ("Monuments and memorials",)),
        ("Logos & Symbols", ("Logos",)),
    ],
)
def test_v14_anchors(v14: Taxonomy, label: str, anchors: tuple[str, ...]):
    assert v14.anchors(label) == anchors
    for anchor in anchors:
        assert v14.anchor_labels[anchor] == label


def test_every_label_has_an_anchor_and_anchors_are_unique(v14: Taxonomy):
    all_anchors = [a for label in v14.labels for a in v14.anchors(label)]
    assert all(v14.anchors(label) for label in v14.labels)
    assert len(all_anchors) == len(set(all_anchors)) == len(v14.anchor_labels)


def test_parents_children_and_leaves(v14: Taxonomy):
    assert v14.parent("STEM") is None
    assert v14.parent("Nature") == "STEM"
    assert v14.parent("Plants") == "Nature"
    assert v14.children("Nature") == ("Plants", "Animals")
    assert v14.children("Culture") == ("History", "Art", "Music", "Literature", "Food")
    assert v14.children("Logos & Symbols") == ()
    assert v14.is_leaf("Plants") and v14.is_leaf("Logos & Symbols")
    assert not v14.is_leaf("Nature") and not v14.is_leaf("STEM")
    # children() is the inverse of parent()
    for label in v14.labels:
        for child in v14.children(label):
            assert v14.parent(child) == label


def test_ancestors_go_from_parent_to_root(v14: Taxonomy):
    assert v14.ancestors("Plants") == ("Nature", "STEM")
    assert v14.ancestors("Animals") == ("Nature", "STEM")
    assert v14.ancestors("Architecture") == ("Places",)
    assert v14.ancestors("STEM") == ()
    for label in v14.labels:
        chain = v14.ancestors(label)
        assert (chain[-1] if chain else label) in v14.roots


def test_descendants_in_taxonomy_order(v14: Taxonomy):
    assert v14.descendants("Nature") == ("Plants", "Animals")
    stem = v14.descendants("STEM")
    assert stem[:2] == ("Diagrams", "Mathematics")
    assert {"Plants", "Animals", "Nature"} <= set(stem)
    assert list(stem) == sorted(stem, key=v14.index)
    assert v14.descendants("Logos & Symbols") == ()
    # descendants and ancestors are inverse relations
    for a in v14.labels:
        for d in v14.labels:
            assert (d in v14.descendants(a)) == (a in v14.ancestors(d))


def test_close_under_ancestors(v14: Taxonomy):
    assert v14.close_under_ancestors(["Plants"]) == ("STEM", "Nature", "Plants")
    # result is in taxonomy order whatever the input order, without duplicates
    assert v14.close_under_ancestors(["Food", "Plants", "Nature", "Plants"]) == (
        "STEM",
        "Nature",
        "Plants",
        "Culture",
        "Food",
    )
    assert v14.close_under_ancestors([]) == ()
    assert v14.close_under_ancestors(["Places"]) == ("Places",)
    with pytest.raises(TaxonomyError, match="unknown label 'Cats'"):
        v14.close_under_ancestors(["Cats"])


def test_parent_indices_match_parents(v14: Taxonomy, v13: Taxonomy):
    for taxonomy in (v14, v13):
        assert len(taxonomy.parent_indices) == len(taxonomy.labels)
        for label, index in zip(taxonomy.labels, taxonomy.parent_indices, strict=True):
            parent = taxonomy.parent(label)
            if parent is None:
                assert index == -1
            else:
                assert taxonomy.labels[index] == parent
                assert index < taxonomy.index(label)


def test_unknown_label_errors(v14: Taxonomy):
    for call in (v14.parent, v14.ancestors, v14.descendants, v14.children, v14.anchors, v14.index):
        with pytest.raises(TaxonomyError, match="unknown label 'Politics' in taxonomy v1.4"):
            call("Politics")


def test_check_labels_accepts_exact_order(v14: Taxonomy):
    v14.check_labels(v14.labels)
    v14.check_labels(list(v14.labels))


def test_check_labels_unknown(v14: Taxonomy):
    labels = list(v14.labels)
    labels[labels.index("Geology & Fossils")] = "Geology"
    with pytest.raises(TaxonomyError) as err:
        v14.check_labels(labels)
    assert "unknown ['Geology']" in str(err.value)
    assert "missing ['Geology & Fossils']" in str(err.value)


def test_check_labels_missing(v14: Taxonomy):
    with pytest.raises(TaxonomyError, match=r"missing \['Logos & Symbols'\]"):
        v14.check_labels(v14.labels[:-1])


def test_check_labels_reordered(v14: Taxonomy):
    """Same names in another order would silently mislabel every output column."""
    labels = list(v14.labels)
    labels[1], labels[2] = labels[2], labels[1]
    with pytest.raises(TaxonomyError, match="same labels in another order"):
        v14.check_labels(labels)


def test_check_labels_duplicated(v14: Taxonomy):
    with pytest.raises(TaxonomyError, match="duplicated"):
        v14.check_labels([*v14.labels, "STEM"])


def test_v13_labels_do_not_pass_as_v14(v13: Taxonomy, v14: Taxonomy):
    with pytest.raises(TaxonomyError, match="v1.4"):
        v14.check_labels(v13.labels)


def test_unknown_version_error():
    with pytest.raises(TaxonomyError, match=r"no taxonomy v9\.9; available: .*1\.4"):
        load_taxonomy("9.9")


def test_malformed_taxonomies_are_refused():
    with pytest.raises(TaxonomyError, match="must be listed before"):
        Taxonomy("x", "Root", (Label("B", "A", ("b",)), Label("A", None, ("a",))))
    with pytest.raises(TaxonomyError, match="must be listed before"):
        Taxonomy("x", "Root", (Label("A", "Nowhere", ("a",)),))
    with pytest.raises(TaxonomyError, match="duplicate label"):
        Taxonomy("x", "Root", (Label("A", None, ("a",)), Label("A", None, ("b",))))
    with pytest.raises(TaxonomyError, match="anchor category is used twice"):
        Taxonomy("x", "Root", (Label("A", None, ("a",)), Label("B", None, ("a",))))
