"""The committed default model v2 on real images that its builder did not render.

v2 adds learned outputs for drawn material (flags and maps, logos, diagrams, chemistry,
mathematics) to v1's ImageNet-mapped topics. Two promises are checked here without
TensorFlow, npm or RDKit, on images that ship in packages:

- the package photos keep v1's predictions: v1's scores, for every label that v2 did
  not learn and that is no ancestor of a learned one, are reproduced to within one step
  of the int8 output; every label v1 predicted is still predicted, except a learned label
  whose v1 score lies under the operating point v2 measured for it; anything added is
  explained by a learned output (a learned label that fired, or an ancestor whose
  threshold a learned descendant's score reaches) or by that one step where v1 sat just
  below a threshold. v1's sets and scores were recorded
  from the v1 model before it was replaced, in tests/data/default_model_v1_photo_labels.json;
- real logos from matplotlib, scikit-image and (when installed) Debian's opencv-doc are
  recognised as Logos & Symbols, and Debian's country-flag PNGs (iso-flags-png-320x240,
  drawn from other SVGs than the builder's) as Maps & Flags.

And the committed files are the ones the build described: the TFLite hash, and the real
logo scores recorded in model.json, reproduce.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from classifier.artifact import DEFAULT_MODEL_DIR, MODEL_FILE
from classifier.model import TopicModel

V1_LABELS = Path(__file__).parent / "data" / "default_model_v1_photo_labels.json"
LEARNED = {"Diagrams", "Mathematics", "Chemistry", "Maps & Flags", "Logos & Symbols"}
OUTPUT_STEP = 1 / 255  # a uint8 score over [0, 1]


@pytest.fixture(scope="module")
def model() -> TopicModel:
    return TopicModel.load()


def _real_logos() -> dict[str, bytes]:
    pytest.importorskip("skimage")
    from training.sample_images import real_logos

    return real_logos()


def test_it_is_v2_and_the_hash_is_the_built_one(model: TopicModel):
    assert model.version == "2.2.0"
    data = (DEFAULT_MODEL_DIR / MODEL_FILE).read_bytes()
    assert hashlib.sha256(data).hexdigest() == model.card.provenance["tflite_sha256"]
    assert set(model.card.provenance["learned_labels"]) == LEARNED


def _recorded_photos() -> tuple[dict, dict[str, bytes]]:
    pytest.importorskip("skimage")
    from training.sample_images import package_photos

    recorded = json.loads(V1_LABELS.read_text())
    photos = {n: b for n, b in package_photos().items() if n in recorded["predictions"]}
    assert len(photos) >= 20  # scikit-image, scikit-learn and matplotlib alone give 21
    return recorded, photos


def test_package_photos_keep_v1_scores_outside_the_learned_labels(model: TopicModel):
    """v2 is calibrated on v1's own representative images, so the shared int8 path is
    quantized identically: a photographic score moves by at most one step of the int8
    output (v2's output tensor has its own scale), never by what a changed path would do."""
    recorded, photos = _recorded_photos()
    affected = set(LEARNED)
    for label in LEARNED:
        affected.update(model.taxonomy.ancestors(label))
    untouched = [label for label in model.labels if label not in affected]
    assert len(untouched) >= 20
    worst = 0.0
    for name, result in zip(photos, model.predict_bytes(list(photos.values())), strict=True):
        before = recorded["probabilities"][name]
        for label in untouched:
            moved = abs(result.probabilities[label] - before[label])
            worst = max(worst, moved)
            assert moved <= OUTPUT_STEP + 1e-6, (name, label, moved)
    print(f"largest move of a photographic score: {worst:.5f}")


def test_package_photos_keep_v1_predictions_and_add_only_learned_ones(model: TopicModel):
    recorded, photos = _recorded_photos()
    added_anywhere = {}
    for point in model.operating_points:
        results = model.predict_bytes(list(photos.values()), point)
        for name, result in zip(photos, results, strict=True):
            before = set(recorded["predictions"][name][point])
            after = set(result.predictions)
            thresholds = model.operating_points[point]
            for label in before - after:
                # only a learned label, whose operating point v2 measured on renders instead
                # of v1's hand-set one, may drop out, and only by that: its score did not fall
                v1_score = recorded["probabilities"][name][label]
                assert label in LEARNED and v1_score < thresholds[label], (point, name, label)
                assert result.probabilities[label] >= v1_score - OUTPUT_STEP, (name, label)
            fired = after & LEARNED
            above_fired = {a for label in fired for a in model.taxonomy.ancestors(label)}
            for label in after - before - fired - above_fired:
                learned_below = LEARNED & set(model.taxonomy.descendants(label))
                best = max((result.probabilities[x] for x in learned_below), default=0.0)
                v1_score = recorded["probabilities"][name][label]
                rounding = (
                    abs(result.probabilities[label] - v1_score) <= OUTPUT_STEP + 1e-6
                    and v1_score >= thresholds[label] - OUTPUT_STEP
                )
                # a learned descendant reaches the label's threshold, or v1 sat one
                # output step below it (text_motion's STEM: 0.4990 -> 0.5029)
                assert best >= thresholds[label] or rounding, (point, name, label)
            if after - before:
                added_anywhere[(point, name)] = sorted(after - before)
    print(added_anywhere)  # the learned labels' false alarms and finds among photos


TUX = "opencv/LinuxLogo"


@pytest.fixture(scope="module")
def logo_results(model: TopicModel) -> dict[str, dict]:
    """logo -> operating point -> prediction, for the package logos."""
    logos = _real_logos()
    out = {n: {} for n in logos}
    for point in model.operating_points:
        for name, r in zip(logos, model.predict_bytes(list(logos.values()), point), strict=True):
            out[name][point] = r
    print({n: round(r["conservative"].probabilities["Logos & Symbols"], 3) for n, r in out.items()})
    return out


def test_real_logos_are_recognised(logo_results: dict[str, dict]):
    """All six at the broad point; at the default point all but Tux (a known miss, below)."""
    for point in ("conservative", "broad"):
        missed = {
            n for n, r in logo_results.items() if "Logos & Symbols" not in r[point].predictions
        }
        assert missed <= ({TUX} if point == "conservative" else set()), point


@pytest.mark.xfail(
    strict=True,
    reason="Tux (a shaded mascot, unlike the flat brand marks of the renders) scores 0.627 for "
    "Logos & Symbols, under the default point's 0.641 (2.0.0: 0.4717, exactly its threshold)",
)
def test_known_miss_tux_at_the_default_point(logo_results: dict[str, dict]):
    if TUX not in logo_results:
        pytest.skip("Debian's opencv-doc is not installed")
    assert "Logos & Symbols" in logo_results[TUX]["conservative"].predictions


def test_recorded_real_logo_scores_are_reproduced(model: TopicModel):
    recorded = model.card.metrics["real_logos"]
    logos = {n: b for n, b in _real_logos().items() if n in recorded}
    assert {"matplotlib/logo2", "skimage/logo"} <= set(logos)
    for name, result in zip(logos, model.predict_bytes(list(logos.values())), strict=True):
        score = result.probabilities["Logos & Symbols"]
        assert score == pytest.approx(recorded[name]["score"], abs=0.02), name


def test_real_flags_are_recognised(model: TopicModel):
    """Debian's country flags: at least 95 % called Maps & Flags at the default point
    (the build measured the share and lists the misses in model.json)."""
    from training.sample_images import real_flags

    flags = real_flags()
    if not flags:
        pytest.skip("Debian's iso-flags-png-320x240 is not installed")
    results = model.predict_bytes(list(flags.values()))
    missed = sorted(
        name for name, r in zip(flags, results, strict=True) if "Maps & Flags" not in r.predictions
    )
    share = 1 - len(missed) / len(flags)
    print(f"{len(flags)} flags, {share:.3f} recognised; missed {missed}")
    assert share >= 0.95, missed
    recorded = model.card.metrics["real_flags"]
    assert recorded["images"] == len(flags)
    assert missed == recorded[model.default_operating_point]["missed"]
