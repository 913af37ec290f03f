"""The committed int8 default model against a freshly built float reference.

model.json records how far int8 quantization moved the scores (metrics.int8_vs_float:
the whole model, graph, face detector and head, with the int8 graph against the same
with the float graph, on v1's evaluation photos). This test rebuilds the float graph
with TensorFlow from the same weights, class map and v2 head, puts it beside the
committed detector and head, runs both on the images the build evaluated on, and checks
that the recorded figures are reproduced: a model card whose numbers cannot be
reproduced is not worth reading.
"""

from __future__ import annotations

import hashlib
import json
import shutil

import numpy as np
import pytest

from classifier.artifact import (
    DEFAULT_MODEL_DIR,
    MODEL_FILE,
    ModelCard,
    file_sha256,
    read_card,
    write_card,
)
from classifier.model import TopicModel

pytestmark = pytest.mark.slow

TOLERANCE = 0.01
MIN_IMAGES = 200


@pytest.fixture(scope="module")
def card() -> ModelCard:
    return read_card(DEFAULT_MODEL_DIR)


@pytest.fixture(scope="module")
def images(card: ModelCard) -> list[bytes]:
    """The build's evaluation images: every other package photo, plus 4 seeded variants each."""
    pytest.importorskip("tensorflow")
    from training.sample_images import evaluation_images, recorded_split

    try:
        _, photos = recorded_split(card)
    except ValueError as error:
        pytest.skip(f"{error} (opencv-doc samples?)")
    return list(evaluation_images(photos).values())


@pytest.fixture(scope="module")
def scores(card: ModelCard, images: list[bytes], tmp_path_factory) -> dict:
    from dataclasses import replace

    from training.build_default_model_v2 import HEAD_FILE
    from training.build_default_model_v3 import graph_model
    from training.quantize import convert

    # The float graph must come from the v2 head the int8 graph was built with.
    assert hashlib.sha256(HEAD_FILE.read_bytes()).hexdigest() == card.provenance[
        "v2_head_sha256"
    ], f"{HEAD_FILE.name} changed since the default model was built: rebuild it"
    float_dir = tmp_path_factory.mktemp("float")
    (float_dir / MODEL_FILE).write_bytes(convert(graph_model(card.taxonomy), None))
    for name in card.files:
        if name != MODEL_FILE:
            shutil.copyfile(DEFAULT_MODEL_DIR / name, float_dir / name)
    files = {**card.files, MODEL_FILE: {"sha256": file_sha256(float_dir / MODEL_FILE)}}
    write_card(replace(card, files=files), float_dir)

    def run(model: TopicModel) -> np.ndarray:
        return np.array([[r.probabilities[x] for x in model.labels]
                         for r in model.predict_bytes(images)])

    return {"float": run(TopicModel.load(float_dir)), "int8": run(TopicModel.load())}


def test_enough_images(images: list[bytes]):
    assert len(images) >= MIN_IMAGES


def test_recorded_int8_vs_float_figures_are_reproduced(card: ModelCard, scores: dict):
    from training.quantize import compare

    recorded = card.metrics["int8_vs_float"]
    measured = {
        name: compare(scores["int8"], scores["float"], card.taxonomy, point.thresholds)
        for name, point in card.operating_points.items()
    }
    print("\nint8 vs float, measured:", json.dumps(measured, indent=2))
    for name, figures in measured.items():
        assert figures["images"] == recorded[name]["images"] >= MIN_IMAGES
        for key in ("top_level_agreement", "all_labels_agreement", "mean_abs_score_difference"):
            assert figures[key] == pytest.approx(recorded[name][key], abs=TOLERANCE), (name, key)


def test_scores_are_close_on_average(scores: dict):
    """Independently of the record: int8 moves a score by about a hundredth on average."""
    diff = np.abs(scores["int8"] - scores["float"])
    print(f"\nmean |int8 - float| = {diff.mean():.5f}, max = {diff.max():.3f}")
    assert diff.mean() < 0.03


def test_the_default_point_passes_the_recorded_gate(card: ModelCard, scores: dict):
    from training.quantize import compare

    point = card.operating_points[card.default_operating_point]
    figures = compare(scores["int8"], scores["float"], card.taxonomy, point.thresholds)
    assert figures["top_level_agreement"] >= card.provenance["int8_agreement_gate"]
