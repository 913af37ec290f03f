"""Taxonomies read from a path, and carried inside model.json for non-project models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from classifier.artifact import ModelArtifactError, ModelCard, OperatingPoint
from classifier.taxonomy import (
    TaxonomyError,
    load_taxonomy,
    load_taxonomy_file,
    taxonomy_from_dict,
    taxonomy_to_dict,
)

FASHION = Path(__file__).parents[1] / "training" / "configs" / "fashion-mnist-taxonomy.toml"


def test_fashion_mnist_taxonomy_file_is_a_three_level_tree_over_the_ten_classes():
    taxonomy = load_taxonomy_file(FASHION)
    assert taxonomy.version == "fashion-mnist-1"
    assert taxonomy.roots == ("Clothing", "Footwear", "Bag")
    assert taxonomy.ancestors("Pullover") == ("Tops", "Clothing")
    leaves = [x for x in taxonomy.labels if taxonomy.is_leaf(x)]
    assert len(leaves) == 10


def test_a_shipped_taxonomy_round_trips_through_its_dict_form():
    taxonomy = load_taxonomy("1.4")
    assert taxonomy_from_dict(taxonomy_to_dict(taxonomy)) == taxonomy


def test_unreadable_or_malformed_taxonomy_files_raise_taxonomy_error(tmp_path):
    with pytest.raises(TaxonomyError, match="cannot read"):
        load_taxonomy_file(tmp_path / "absent.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text('version = "x"\n[[label]]\nname = "A"\n')
    with pytest.raises(TaxonomyError, match="root_category"):
        load_taxonomy_file(bad)


def _card(**changes) -> ModelCard:
    taxonomy = load_taxonomy_file(FASHION)
    fields = dict(
        name="m", version="1", taxonomy_version=taxonomy.version, labels=taxonomy.labels,
        input_size=32,
        operating_points={"p": OperatingPoint("p", "test", dict.fromkeys(taxonomy.labels, 0.5))},
        default_operating_point="p", embedded_taxonomy=taxonomy,
    )
    return ModelCard(**{**fields, **changes})


def test_a_card_with_an_embedded_taxonomy_round_trips_and_validates():
    card = _card()
    data = json.loads(json.dumps(card.to_json()))
    assert data["taxonomy"]["version"] == "fashion-mnist-1"
    again = ModelCard.from_json(data)
    assert again.taxonomy == card.taxonomy
    assert again.taxonomy.parent("Sandal") == "Footwear"


def test_an_embedded_taxonomy_must_match_taxonomy_version_and_labels():
    data = _card().to_json()
    data["taxonomy_version"] = "1.4"
    with pytest.raises(ModelArtifactError, match="embedded taxonomy"):
        ModelCard.from_json(data)
    data = _card().to_json()
    del data["taxonomy"]  # then the name must be a shipped version: it is not
    with pytest.raises(ModelArtifactError, match="no taxonomy vfashion-mnist-1"):
        ModelCard.from_json(data)
    data = _card().to_json()
    data["taxonomy"]["label"] = "oops"
    with pytest.raises(ModelArtifactError, match="malformed"):
        ModelCard.from_json(data)
