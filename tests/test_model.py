"""The model artifact and TopicModel: a directory that does not match the taxonomy is refused,
and prediction keeps order, isolates bad images and matches Wikimedia's output shape."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from classifier.artifact import (
    CARD_FILE,
    DEFAULT_MODEL_DIR,
    MODEL_FILE,
    ModelArtifactError,
    read_card,
)
from classifier.images import CorruptImageError, EmptyImageError, ImageError, NotAnImageError
from classifier.model import Prediction, TopicModel
from classifier.taxonomy import load_taxonomy


@pytest.fixture(scope="module")
def model() -> TopicModel:
    return TopicModel.load()


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    """A writable copy of the default model directory."""
    target = tmp_path / "model"
    shutil.copytree(DEFAULT_MODEL_DIR, target)
    return target


def edit_card(model_dir: Path, change) -> None:
    path = model_dir / CARD_FILE
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def jpeg(colour_seed: int, size=(200, 150)) -> bytes:
    rng = np.random.default_rng(colour_seed)
    y, x = np.mgrid[0 : size[1], 0 : size[0]]
    phase = rng.uniform(0, 6, 3)
    array = np.stack([127 + 120 * np.sin(x / 13 + y / 19 + p) for p in phase], -1)
    buffer = io.BytesIO()
    Image.fromarray(array.astype(np.uint8)).save(buffer, format="JPEG")
    return buffer.getvalue()


# --- loading ----------------------------------------------------------------------------


def test_default_model_loads_and_matches_the_taxonomy(model: TopicModel):
    taxonomy = load_taxonomy(model.card.taxonomy_version)
    assert model.labels == taxonomy.labels
    assert model.taxonomy == taxonomy
    assert model.card.input_size == 224
    assert model.name and model.version
    assert model.default_operating_point in model.operating_points
    for thresholds in model.operating_points.values():
        assert set(thresholds) == set(model.labels)
        assert all(t is None or 0 < t < 1 for t in thresholds.values())


def test_the_copied_model_loads(model_dir: Path):
    """The fixture's copy is valid as it is, so the refusals below are due to the edits."""
    assert TopicModel.load(model_dir).labels == load_taxonomy().labels


def _reorder(data):
    data["labels"][1], data["labels"][2] = data["labels"][2], data["labels"][1]


def _unknown(data):
    data["labels"][-1] = "Logos"


def _drop(data):
    data["labels"].pop()


def _threshold(value):
    def change(data):
        data["operating_points"][data["default_operating_point"]]["thresholds"]["Plants"] = value

    return change


def _missing_threshold(data):
    del data["operating_points"]["broad"]["thresholds"]["Food"]


def _bad_default(data):
    data["default_operating_point"] = "nonexistent"


def _no_labels(data):
    del data["labels"]


def _bad_taxonomy(data):
    data["taxonomy_version"] = "0.1"


def _bad_format(data):
    data["format_version"] = 99


def _bad_size(data):
    data["input"]["size"] = "big"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_reorder, "another order"),
        (_unknown, r"unknown \['Logos'\]"),
        (_drop, "missing"),
        (_threshold(0), "outside"),
        (_threshold(0.0), "outside"),
        (_threshold(1), "outside"),
        (_threshold(1.5), "outside"),
        (_threshold(-0.1), "outside"),
        (_threshold("0.5"), "outside"),
        (_threshold(True), "outside"),
        (_missing_threshold, "every label"),
        (_bad_default, "default operating point"),
        (_no_labels, "missing or malformed"),
        (_bad_taxonomy, "no taxonomy v0.1"),
        (_bad_format, "format_version"),
        (_bad_size, "malformed"),
    ],
    ids=lambda v: getattr(v, "__name__", str(v)),
)
def test_invalid_model_json_is_refused(model_dir: Path, change, message: str):
    edit_card(model_dir, change)
    with pytest.raises(ModelArtifactError, match=message):
        read_card(model_dir)
    with pytest.raises(ModelArtifactError, match=message):
        TopicModel.load(model_dir)


@pytest.mark.parametrize("name", [MODEL_FILE, CARD_FILE])
def test_missing_files_are_refused(model_dir: Path, name: str):
    (model_dir / name).unlink()
    with pytest.raises(ModelArtifactError, match=f"{name} missing"):
        TopicModel.load(model_dir)


def test_missing_directory_is_refused(tmp_path: Path):
    with pytest.raises(ModelArtifactError, match="not a model directory"):
        TopicModel.load(tmp_path / "nowhere")


@pytest.mark.parametrize("content", [b"{ not json", b"\xff\xfe\x00garbage"])
def test_unreadable_model_json_is_refused(model_dir: Path, content: bytes):
    (model_dir / CARD_FILE).write_bytes(content)
    with pytest.raises(ModelArtifactError, match="not valid JSON"):
        TopicModel.load(model_dir)


def test_damaged_tflite_is_refused(model_dir: Path):
    data = (model_dir / MODEL_FILE).read_bytes()
    (model_dir / MODEL_FILE).write_bytes(data[:1000])
    with pytest.raises(ModelArtifactError, match="model.tflite: sha256"):
        TopicModel.load(model_dir)


def test_damaged_tflite_without_a_checksum_is_refused_by_litert(model_dir: Path):
    """A format-1 card records no checksums: LiteRT itself must refuse the file."""
    edit_card(model_dir, lambda data: data.pop("files"))
    data = (model_dir / MODEL_FILE).read_bytes()
    (model_dir / MODEL_FILE).write_bytes(data[:1000])
    with pytest.raises(ModelArtifactError, match="not a usable model"):
        TopicModel.load(model_dir)


def test_input_size_mismatch_is_refused(model_dir: Path):
    edit_card(model_dir, lambda data: data["input"].update(size=192))
    with pytest.raises(ModelArtifactError, match="model.json says"):
        TopicModel.load(model_dir)


# --- prediction --------------------------------------------------------------------------


def test_predict_bytes_keeps_order_and_isolates_bad_images(model: TopicModel):
    good = [jpeg(1), jpeg(2), jpeg(3)]
    batch = [
        good[0],
        b"",
        good[1],
        b"<!DOCTYPE html><html>503</html>",
        good[0][: len(good[0]) // 2],
        good[2],
    ]
    results = model.predict_bytes(batch)
    assert len(results) == len(batch)
    assert isinstance(results[1], EmptyImageError)
    assert isinstance(results[3], NotAnImageError)
    assert isinstance(results[4], CorruptImageError)
    predictions = [results[0], results[2], results[5]]
    assert all(isinstance(r, Prediction) for r in predictions)
    # each good image got its own scores, in its own place
    alone = [model.predict_bytes([g])[0] for g in good]
    for got, expected in zip(predictions, alone, strict=True):
        np.testing.assert_allclose(
            [got.probabilities[k] for k in model.labels],
            [expected.probabilities[k] for k in model.labels],
            atol=HEAD_TOLERANCE,
        )
        assert got.predictions == expected.predictions


def test_predict_bytes_all_bad_and_empty_list(model: TopicModel):
    assert model.predict_bytes([]) == []
    results = model.predict_bytes([b"", b"%PDF-1.4"])
    assert all(isinstance(r, ImageError) for r in results)


def test_prediction_shape(model: TopicModel):
    (result,) = model.predict_bytes([jpeg(4)])
    assert isinstance(result, Prediction)
    out = result.to_dict()
    assert set(out) == {"model_name", "model_version", "predictions", "probabilities"}
    assert out["model_name"] == model.name and out["model_version"] == model.version
    assert list(out["probabilities"]) == list(model.labels)
    assert all(0.0 <= v <= 1.0 for v in out["probabilities"].values())
    assert isinstance(out["predictions"], list)
    json.dumps(out)  # serialisable as is
    only = result.to_dict(all_probabilities=False)
    assert set(only["probabilities"]) == set(result.predictions)


def test_threshold_override_and_operating_points(model: TopicModel):
    (result,) = model.predict_bytes([jpeg(5)], threshold=0.001)
    top = max(result.probabilities, key=result.probabilities.get)
    # a tiny threshold predicts at least the best label and its ancestors
    assert top in result.predictions
    assert set(model.taxonomy.ancestors(top)) <= set(result.predictions)
    with pytest.raises(ValueError, match="threshold"):
        model.predict_bytes([jpeg(5)], threshold=0)
    with pytest.raises(ValueError, match="unknown operating point"):
        model.predict_bytes([jpeg(5)], operating_point="nonexistent")
    broad = model.predict_bytes([jpeg(5)], operating_point="broad")[0]
    default = model.predict_bytes([jpeg(5)], operating_point=model.default_operating_point)[0]
    assert set(default.predictions) <= set(broad.predictions)


def letterboxed(model: TopicModel, arrays: np.ndarray) -> np.ndarray | None:
    """The detector's input for each graph input, as `prepare` makes it from an image."""
    if model.face_detector is None:
        return None
    return np.stack([model.prepare(Image.fromarray(a))[1] for a in arrays])


# The int8 graph gives identical outputs whatever the batch; the head's float matrix
# product sums in another order for a batch than for one row (about 1e-5 apart).
HEAD_TOLERANCE = 1e-4


def test_batch_equals_one_by_one(model: TopicModel):
    """Batch size changes (interpreter resizes) must not change any score."""
    rng = np.random.default_rng(11)
    size = model.card.input_size
    arrays = rng.integers(0, 256, (5, size, size, 3), dtype=np.uint8)
    boxed = letterboxed(model, arrays)

    def rows(index):
        return model.predict_arrays(arrays[index], None if boxed is None else boxed[index])

    batch = rows(slice(None))
    single = np.concatenate([rows(slice(i, i + 1)) for i in range(len(arrays))])
    np.testing.assert_allclose(batch, single, atol=HEAD_TOLERANCE)
    np.testing.assert_allclose(rows(slice(0, 3)), batch[:3], atol=HEAD_TOLERANCE)


def test_a_face_model_needs_the_letterboxed_image(model: TopicModel):
    if model.face_detector is None:
        pytest.skip("the default model has no face detector")
    arrays = np.zeros((1, model.card.input_size, model.card.input_size, 3), np.uint8)
    with pytest.raises(ValueError, match="letterboxed"):
        model.predict_arrays(arrays)


def test_predict_arrays_validates_shape(model: TopicModel):
    assert model.predict_arrays(np.zeros((0, 224, 224, 3), np.uint8)).shape == (0, 28)
    with pytest.raises(ValueError, match="expected"):
        model.predict_arrays(np.zeros((224, 224, 3), np.uint8))
    with pytest.raises(ValueError, match="expected"):
        model.predict_arrays(np.zeros((1, 100, 100, 3), np.uint8))
