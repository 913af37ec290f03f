"""The committed int8 default model against a freshly built float reference.

model.json records how far int8 quantization moved the scores (metrics.int8_vs_float,
on v1's evaluation photos). This test rebuilds the float model with TensorFlow from the
same weights, class map and saved learned head, runs both on the images the build
evaluated on, and checks that the recorded figures are reproduced: a model card whose
numbers cannot be reproduced is not worth reading.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from classifier.artifact import DEFAULT_MODEL_DIR, MODEL_FILE, ModelCard, read_card, write_card
from classifier.model import TopicModel

pytestmark = pytest.mark.slow

TOLERANCE = 0.01
MIN_IMAGES = 200


@pytest.fixture(scope="module")
def card() -> ModelCard:
    return read_card(DEFAULT_MODEL_DIR)


@pytest.fixture(scope="module")
def pixels(card: ModelCard) -> np.ndarray:
    """The build's evaluation images: every other package photo, plus 4 seeded variants each."""
    pytest.importorskip("tensorflow")
    from training.sample_images import evaluation_images, pixels, recorded_split

    try:
        _, photos = recorded_split(card)
    except ValueError as error:
        pytest.skip(f"{error} (opencv-doc samples?)")
    return pixels(evaluation_images(photos), card.input_size)


@pytest.fixture(scope="module")
def scores(card: ModelCard, pixels: np.ndarray, tmp_path_factory) -> dict:
    from training.build_default_model_v2 import HEAD_FILE, float_reference
    from training.quantize import convert

    # The float reference must come from the head the int8 model was built with.
    digest = hashlib.sha256(HEAD_FILE.read_bytes()).hexdigest()[:16]
    assert digest in card.provenance["learned_head"], (
        f"{HEAD_FILE.name} changed since the default model was built "
        f"({digest} vs {card.provenance['learned_head']}): rebuild the default model"
    )
    float_dir = tmp_path_factory.mktemp("float")
    (float_dir / MODEL_FILE).write_bytes(convert(float_reference(card.taxonomy), None))
    write_card(card, float_dir)

    # One image at a time, as the build did (batching does not change scores; see test_model).
    def run(model: TopicModel) -> np.ndarray:
        return np.concatenate([model.predict_arrays(pixels[i : i + 1]) for i in range(len(pixels))])

    return {"float": run(TopicModel.load(float_dir)), "int8": run(TopicModel.load())}


def test_enough_images(pixels: np.ndarray):
    assert len(pixels) >= MIN_IMAGES


def test_recorded_int8_vs_float_figures_are_reproduced(card: ModelCard, scores: dict):
    from training.quantize import compare

    recorded = card.metrics["int8_vs_float"]["v1_photos"]
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


@pytest.mark.xfail(
    strict=True,
    reason="issue 2 asks for >= 99 % top-level agreement; the shipped int8 model (v2 2.2.0) "
    "has 0.972 (its build's gate: 0.96)",
)
def test_top_level_agreement_meets_the_issue_target(card: ModelCard, scores: dict):
    from training.quantize import compare

    point = card.operating_points[card.default_operating_point]
    figures = compare(scores["int8"], scores["float"], card.taxonomy, point.thresholds)
    assert figures["top_level_agreement"] >= 0.99
