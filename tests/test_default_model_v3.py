"""The committed default model v3: its files, its face detector, and what it must keep doing.

v3 = v2's int8 graph (now also giving the pooled features), MediaPipe's BlazeFace read
as signals (`classifier.detectors`), and a linear head fitted on people-labelled Commons
images (`classifier.head`). Checked here without TensorFlow, on files and images that
ship in packages:

- every file the model reads is the one model.json records; a damaged, missing or
  misshapen one is refused by name when the model loads, never a wrong prediction;
- the face detector finds a real face, stays quiet on a photo without one, and costs the
  same bounded work on a thousand faces, a tiny image or a strip;
- the real flags and logos, and the package photos, get what the build recorded;
- `python -m training.evaluate_commons` reports the build's cross-validated figures.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from classifier.artifact import CARD_FILE, DEFAULT_MODEL_DIR, ModelArtifactError
from classifier.detectors import FACE_SIGNALS, MAX_COUNTED_FACES, face_signals, ssd_anchors
from classifier.model import TopicModel

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def model() -> TopicModel:
    return TopicModel.load()


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def _astronaut() -> np.ndarray:
    data = pytest.importorskip("skimage.data")
    return data.astronaut()


def test_it_is_v3_with_every_file_recorded(model: TopicModel):
    assert model.version.startswith("3.")
    assert set(model.card.files) == {"model.tflite", "face_detector.tflite", "head.npz"}
    assert model.face_detector is not None and model.head is not None
    licence = (DEFAULT_MODEL_DIR / "LICENSE-face-detector.txt").read_text()
    assert "Apache License" in licence and "mediapipe" in licence


@pytest.mark.parametrize("name", ["face_detector.tflite", "head.npz", "model.tflite"])
def test_a_damaged_file_is_refused_by_name(tmp_path: Path, name: str):
    target = tmp_path / "model"
    shutil.copytree(DEFAULT_MODEL_DIR, target)
    data = bytearray((target / name).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (target / name).write_bytes(bytes(data))
    with pytest.raises(ModelArtifactError, match=name.replace(".", r"\.") + ".*sha256"):
        TopicModel.load(target)


def test_a_missing_file_is_refused_by_name(tmp_path: Path):
    target = tmp_path / "model"
    shutil.copytree(DEFAULT_MODEL_DIR, target)
    (target / "face_detector.tflite").unlink()
    with pytest.raises(ModelArtifactError, match=r"face_detector\.tflite: missing"):
        TopicModel.load(target)


def test_a_head_of_the_wrong_shape_is_refused(tmp_path: Path):
    """Even with its checksum updated (a hand-made head), the shapes must match model.json."""
    from classifier.artifact import file_sha256

    target = tmp_path / "model"
    shutil.copytree(DEFAULT_MODEL_DIR, target)
    np.savez(target / "head.npz", weights=np.zeros((10, 28), np.float32),
             bias=np.zeros(28, np.float32))
    card = json.loads((target / CARD_FILE).read_text())
    card["files"]["head.npz"]["sha256"] = file_sha256(target / "head.npz")
    (target / CARD_FILE).write_text(json.dumps(card))
    with pytest.raises(ModelArtifactError, match=r"head\.npz: weights \(10, 28\)"):
        TopicModel.load(target)


def test_a_head_without_a_face_detector_predicts(tmp_path: Path, model: TopicModel):
    """Format 2 allows a head with no detector: its face block is empty, not an error."""
    from classifier.artifact import file_sha256

    target = tmp_path / "model"
    shutil.copytree(DEFAULT_MODEL_DIR, target)
    (target / "face_detector.tflite").unlink()
    card = json.loads((target / CARD_FILE).read_text())
    del card["detectors"], card["files"]["face_detector.tflite"]
    card["head"]["inputs"] = [b for b in card["head"]["inputs"] if b["kind"] != "face"]
    np.savez(target / "head.npz", weights=model.head.weights[: -len(FACE_SIGNALS)],
             bias=model.head.bias)
    card["files"]["head.npz"]["sha256"] = file_sha256(target / "head.npz")
    (target / CARD_FILE).write_text(json.dumps(card))
    faceless = TopicModel.load(target)
    assert faceless.face_detector is None and faceless.head is not None
    [result] = faceless.predict_bytes([_png(_astronaut())])
    assert all(0.0 <= v <= 1.0 for v in result.probabilities.values())


def test_a_detector_with_other_anchors_is_refused(tmp_path: Path):
    target = tmp_path / "model"
    shutil.copytree(DEFAULT_MODEL_DIR, target)
    card = json.loads((target / CARD_FILE).read_text())
    card["detectors"]["face"]["anchors_per_cell"] = [1, 1]
    (target / CARD_FILE).write_text(json.dumps(card))
    with pytest.raises(ModelArtifactError, match="anchors"):
        TopicModel.load(target)


def test_the_detector_finds_a_real_face_and_not_a_cup(model: TopicModel):
    astronaut = _astronaut()
    from skimage import data

    found = {}
    for name, array in (("astronaut", astronaut), ("coffee", data.coffee())):
        _, boxed = model.prepare(Image.fromarray(array))
        found[name] = dict(zip(FACE_SIGNALS, model.face_signals(boxed[None])[0], strict=True))
    assert found["astronaut"]["face_max_score"] > 0.7
    assert found["astronaut"]["face_count"] * MAX_COUNTED_FACES == 1
    assert found["coffee"]["face_max_score"] < 0.5
    assert found["coffee"]["face_count"] == 0


def test_a_portrait_is_people_at_the_default_point(model: TopicModel):
    """What 2.x could not do: a face is People (2.2.0 called the astronaut Sports)."""
    result = model.predict_bytes([_png(_astronaut())])[0]
    assert "People" in result.predictions, result.probabilities


def test_signals_are_bounded_whatever_the_detector_says():
    """Every anchor firing (a crowd, or an adversarial image) still gives capped signals,
    and the work does not grow with the number of detections."""
    anchors = ssd_anchors(128, [8, 16], [2, 6])
    from classifier.detectors import FaceDetectorSpec

    spec = FaceDetectorSpec("x", 128, [8, 16], [2, 6], score_threshold=0.5)
    rng = np.random.default_rng(0)
    boxes = np.concatenate([rng.normal(0, 40, (len(anchors), 2)),
                            rng.uniform(1, 20, (len(anchors), 2)),
                            np.zeros((len(anchors), 12))], axis=1).astype(np.float32)
    signals = face_signals(np.full(len(anchors), 50.0), boxes, anchors, spec)
    assert signals[FACE_SIGNALS.index("face_count")] == 1.0  # MAX_COUNTED_FACES of them
    assert np.all((signals >= 0) & (signals <= 1))
    none = face_signals(np.full(len(anchors), -50.0), boxes, anchors, spec)
    assert none[FACE_SIGNALS.index("face_count")] == 0


def _crowd(faces_per_side: int = 32) -> bytes:
    """A mosaic of 1,024 small copies of the astronaut's face: a crowd photo's worst case."""
    face = Image.fromarray(_astronaut()[20:220, 130:330]).resize((24, 24))
    tile = faces_per_side * 24
    canvas = Image.new("RGB", (tile, tile))
    for y in range(faces_per_side):
        for x in range(faces_per_side):
            canvas.paste(face, (x * 24, y * 24))
    buffer = io.BytesIO()
    canvas.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


@pytest.mark.parametrize("kind", ["crowd", "tiny", "strip", "blank"])
def test_awkward_images_are_predicted(model: TopicModel, kind: str):
    """A crowd of faces, a 2x3 image, a 3000x8 strip and a blank page each get an ordinary
    prediction (no error, scores in range). Their cost is printed; the bound itself is by
    construction (fixed input sizes and anchors) and checked in
    scripts/benchmark_classifier.py, not timed here."""
    images = {
        "crowd": _crowd,
        "tiny": lambda: _png(np.full((3, 2, 3), 90, np.uint8)),
        "strip": lambda: _png(np.tile(np.arange(3000, dtype=np.uint8)[None, :, None], (8, 1, 3))),
        "blank": lambda: _png(np.full((400, 300, 3), 255, np.uint8)),
    }
    data = images[kind]()
    start = time.perf_counter()
    (result,) = model.predict_bytes([data])
    print(f"\n{kind}: {1000 * (time.perf_counter() - start):.1f} ms, {result.predictions}")
    assert all(0.0 <= v <= 1.0 for v in result.probabilities.values())


def test_real_flags_and_logos_get_what_the_build_recorded(model: TopicModel):
    pytest.importorskip("skimage")
    from training.sample_images import real_flags, real_logos

    for key, group, label in (("real_flags", real_flags(), "Maps & Flags"),
                              ("real_logos", real_logos(), "Logos & Symbols")):
        recorded = model.card.metrics[key]
        if len(group) != recorded["images"]:
            pytest.skip(f"{key}: {len(group)} images here, the build had {recorded['images']}")
        for point in model.operating_points:
            results = model.predict_bytes(list(group.values()), point)
            missed = sorted(n for n, r in zip(group, results, strict=True)
                            if label not in r.predictions)
            assert missed == recorded[point]["missed"], (key, point)
    assert model.card.metrics["real_flags"][model.default_operating_point]["found"] >= 0.9
    assert model.card.metrics["real_logos"][model.default_operating_point]["found"] >= 0.8


def test_package_photos_get_what_the_build_recorded(model: TopicModel):
    pytest.importorskip("skimage")
    from training.build_default_model_v3 import photo_regression
    from training.sample_images import package_photos

    photos = package_photos()
    recorded = model.card.metrics["package_photos"]
    measured = photo_regression(model, photos)
    for point in model.operating_points:
        if measured[point]["photos"] != recorded[point]["photos"]:
            pytest.skip("other package photos here than at build time (opencv-doc?)")
        assert measured[point] == recorded[point], point


def test_evaluate_commons_reports_the_cross_validated_figures(model: TopicModel):
    from training import commons_dev

    if not (commons_dev.DEFAULT_DIR / "labels.csv").is_file():
        pytest.skip(f"{commons_dev.DEFAULT_DIR} is not here")
    run = subprocess.run([sys.executable, "-m", "training.evaluate_commons"], cwd=REPO,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    last = json.loads(run.stdout.strip().splitlines()[-1])
    recorded = model.card.metrics["commons_dev_cross_validated"][model.default_operating_point]
    assert last["model_version"] == model.version and last["cross_validated"] is True
    assert (last["micro_f1"], last["macro_f1"]) == (recorded["micro_f1"], recorded["macro_f1"])
    assert "worst labels" in run.stdout


def test_evaluate_commons_says_clearly_when_the_folder_is_absent(tmp_path: Path):
    run = subprocess.run([sys.executable, "-m", "training.evaluate_commons", str(tmp_path)],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert "labels.csv: not found" in run.stderr
