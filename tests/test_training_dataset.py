"""The dataset table: checks, ancestors, duplicates and seeded splits."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from classifier.category_graph import InMemoryGraph
from classifier.category_heuristic import TopicHeuristic
from classifier.taxonomy import load_taxonomy
from training.dataset import (
    SPLITS,
    DatasetError,
    assign_splits,
    build_table,
    label_matrix,
    split_field,
)

TAXONOMY = load_taxonomy("1.4")


def _png(seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 255, (8, 8, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def _table(tmp_path, n: int = 60, duplicates: int = 5) -> pd.DataFrame:
    rows = []
    common = ["Plants", "Architecture", "People", "Art"]
    for i in range(n):
        (tmp_path / f"{i}.png").write_bytes(_png(i % (n - duplicates)))  # the last repeat
        label = "Logos & Symbols" if i % 20 == 0 else common[i % 4]  # a rare label: 3 rows
        rows.append({"image": f"{i}.png", "labels": label, "title": f"File:{i}.png"})
    return pd.DataFrame(rows)


def test_build_closes_labels_hashes_files_and_keeps_extra_columns(tmp_path):
    built, report = build_table(_table(tmp_path), TAXONOMY, tmp_path, seed=1)
    assert report.rows_out == 60 and not report.problems
    assert split_field(built.loc[4, "labels"]) == ("STEM", "Nature", "Plants")
    assert built.loc[0, "title"] == "File:0.png"
    assert built["sha256"].str.len().eq(64).all()
    assert report.duplicate_groups == 5 and report.duplicate_rows == 10


def test_splits_are_reproducible_order_independent_and_keep_duplicates_together(tmp_path):
    table = _table(tmp_path)
    a, _ = build_table(table, TAXONOMY, tmp_path, seed=7)
    b, _ = build_table(table.iloc[::-1].reset_index(drop=True), TAXONOMY, tmp_path, seed=7)
    c, _ = build_table(table, TAXONOMY, tmp_path, seed=8)
    by_image = dict(zip(b["image"], b["split"], strict=True))
    assert list(a["split"]) == [by_image[x] for x in a["image"]]
    assert list(a["split"]) != list(c["split"])
    assert (a.groupby("sha256")["split"].nunique() == 1).all()  # no hash in two splits


def test_rare_labels_reach_every_split_and_fractions_hold(tmp_path):
    built, report = build_table(_table(tmp_path), TAXONOMY, tmp_path, seed=3)
    rare = built[built["labels"].str.contains("Logos")]
    assert set(rare["split"]) == set(SPLITS)
    assert report.labels_missing_from_a_split == {}
    counts = built["split"].value_counts()
    assert 40 <= counts["train"] <= 52 and counts["validation"] >= 4 and counts["test"] >= 4


def test_assign_splits_on_random_multilabel_data_is_duplicate_free():
    rng = np.random.default_rng(0)
    hashes = [f"h{rng.integers(0, 150)}" for _ in range(200)]
    labels = [tuple(rng.choice(TAXONOMY.labels, rng.integers(0, 3), replace=False))
              for _ in hashes]
    splits = assign_splits(hashes, labels, seed=0)
    assert splits == assign_splits(hashes, labels, seed=0)
    seen: dict[str, str] = {}
    for digest, split in zip(hashes, splits, strict=True):
        assert seen.setdefault(digest, split) == split


def test_bad_rows_are_dropped_and_reported_and_too_many_fail(tmp_path):
    table = _table(tmp_path)
    table.loc[3, "labels"] = "Plants|Dragons"
    table.loc[4, "image"] = "missing.png"
    with pytest.raises(DatasetError, match="2 of 60 rows"):
        build_table(table, TAXONOMY, tmp_path, seed=0)
    built, report = build_table(table, TAXONOMY, tmp_path, seed=0, max_invalid_share=0.1)
    assert report.rows_out == 58
    assert {(p.row, p.kind) for p in report.problems} == {(3, "unknown_label"),
                                                          (4, "missing_file")}
    assert "Dragons" in report.problems[0].detail


def test_labels_come_from_categories_through_the_category_heuristic(tmp_path):
    (tmp_path / "a.png").write_bytes(_png(1))
    (tmp_path / "b.png").write_bytes(_png(2))
    table = pd.DataFrame([{"image": "a.png", "categories": "Felis catus|Photographs"},
                          {"image": "b.png", "labels": "Art", "categories": ""}])
    graph = InMemoryGraph.from_parents({"Felis catus": ["Felidae"], "Felidae": ["Animalia"]})
    heuristic = TopicHeuristic(graph, TAXONOMY)
    built, report = build_table(table, TAXONOMY, tmp_path, seed=0,
                                label_categories=lambda c: heuristic.label(c).labels())
    assert split_field(built.loc[0, "labels"]) == ("STEM", "Nature", "Animals")
    assert split_field(built.loc[1, "labels"]) == ("Culture", "Art")
    assert report.labels_from_categories == 1


def test_tables_need_an_image_and_a_label_source():
    with pytest.raises(DatasetError, match="image"):
        build_table(pd.DataFrame({"labels": ["Art"]}), TAXONOMY, None, seed=0)
    with pytest.raises(DatasetError, match="labels"):
        build_table(pd.DataFrame({"image": ["x.png"]}), TAXONOMY, None, seed=0)


def test_label_matrix_is_multi_hot_in_taxonomy_order():
    m = label_matrix(["Culture|Art", ""], TAXONOMY)
    assert m.shape == (2, len(TAXONOMY.labels)) and m[1].sum() == 0
    assert {TAXONOMY.labels[i] for i in np.flatnonzero(m[0])} == {"Culture", "Art"}
