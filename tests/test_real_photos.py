"""The default model on real photographs that ship with scikit-image, scikit-learn and
matplotlib: what it says must be what a person would say.

Only what a person would agree with is asserted. Where the model is wrong or says
nothing, the test asserts that it does not say something clearly wrong, and a strict
xfail records the miss (it turns into a failure the day a better model fixes it, so the
model card's honesty notes can be updated). The scores seen when this was written are
in the comments; run with `-s` to print the current ones.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from classifier.model import Prediction, TopicModel
from classifier.taxonomy import load_taxonomy

SKIMAGE = ("coffee", "chelsea", "astronaut", "rocket", "camera", "horse", "coins",
           "hubble_deep_field")


def _png(array: np.ndarray) -> bytes:
    if array.dtype != np.uint8:  # the horse is a boolean silhouette
        array = (255 * (array.astype(np.float64) / max(float(array.max()), 1e-9))).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def _photos() -> dict[str, bytes]:
    skimage_data = pytest.importorskip("skimage.data")
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    matplotlib = pytest.importorskip("matplotlib")
    photos = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in SKIMAGE:
            photos[name] = _png(getattr(skimage_data, name)())
    china, flower = sklearn_datasets.load_sample_images().images
    photos["china"], photos["flower"] = _png(china), _png(flower)
    hopper = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    if hopper.is_file():
        photos["grace_hopper"] = hopper.read_bytes()
    return photos


@pytest.fixture(scope="module")
def results() -> dict[str, dict[str, Prediction]]:
    """name -> operating point -> prediction, printed as a table for `-s` runs."""
    model = TopicModel.load()
    photos = _photos()
    out: dict[str, dict[str, Prediction]] = {n: {} for n in photos}
    for point in model.operating_points:
        for name, result in zip(photos, model.predict_bytes(list(photos.values()), point),
                                strict=True):
            assert isinstance(result, Prediction), (name, result)
            out[name][point] = result
    for name, by_point in out.items():
        default = by_point[model.default_operating_point]
        top = sorted(default.probabilities.items(), key=lambda kv: -kv[1])[:5]
        print(f"\n{name:18s} {list(default.predictions)}  "
              + ", ".join(f"{k} {v:.3f}" for k, v in top))
    return out


DEFAULT_POINT = TopicModel.load().default_operating_point


def labels(results, name: str, point: str = DEFAULT_POINT) -> set[str]:
    return set(results[name][point].predictions)


TOP_LEVEL = {"STEM", "Places", "Society", "Culture", "Logos & Symbols"}

# What a person says, at the default operating point (model 3.0.0: `precise`).
# Scores when written (3.0.0): coffee Food 0.96; chelsea Animals 0.95; horse (a
# silhouette) Animals 0.81; china (a temple) Architecture 0.76; rocket (a launch pad)
# Technology & Engineering 0.57, from ImageNet's missile classes; Grace Hopper People 0.94,
# the astronaut People 0.99 and the cameraman People 0.94, from the face detector and the
# head (2.2.0 called the astronaut Sports and had the cameraman empty).
EXPECTED = {
    "coffee": ({"Culture"}, {"Food"}),
    "chelsea": ({"STEM"}, {"Nature", "Animals"}),
    "horse": ({"STEM"}, {"Nature", "Animals"}),
    "china": ({"Places"}, {"Architecture"}),
    "rocket": ({"STEM"}, {"Technology & Engineering"}),
    "grace_hopper": ({"Society"}, {"People"}),
    "astronaut": ({"Society"}, {"People"}),
    "camera": ({"Society"}, {"People"}),
}
# The leaf a person would name; it must have the highest leaf score even where it stays
# under its threshold.
LEAF = {"coffee": "Food", "chelsea": "Animals", "horse": "Animals", "china": "Architecture",
        "flower": "Plants", "rocket": "Technology & Engineering", "grace_hopper": "People",
        "astronaut": "People", "camera": "People"}


def _installed(results, name: str) -> None:
    if name not in results:
        pytest.skip(f"{name} is not installed here")


@pytest.mark.parametrize("name", list(EXPECTED))
def test_what_a_person_would_say(results, name: str):
    _installed(results, name)
    roots, labels_ = EXPECTED[name]
    got = labels(results, name)
    assert got & TOP_LEVEL == roots, got
    assert labels_ <= got, got


@pytest.mark.parametrize("name", list(LEAF))
def test_the_right_leaf_has_the_highest_leaf_score(results, name: str):
    """Not just over the threshold: no other leaf competes (flower: Plants 0.49, Animals 0.28)."""
    _installed(results, name)
    taxonomy = load_taxonomy()
    result = results[name][DEFAULT_POINT]
    leaves = {k: v for k, v in result.probabilities.items() if taxonomy.is_leaf(k)}
    assert max(leaves, key=leaves.get) == LEAF[name]


# Labels that would be clearly wrong for each photo, at either operating point unless
# noted. These hold for the photos the model gets wrong or leaves empty too.
LIVING = {"Nature", "Animals", "Plants"}
CLEARLY_WRONG = {
    "coffee": LIVING | {"Places", "Sports", "Transportation", "Music"},
    "chelsea": {"Places", "Food", "Plants", "Sports", "Transportation", "Music", "Culture"},
    # the broad point says Culture (0.676) for the horse silhouette: a known miss below
    "horse": {"Food", "Plants", "Music", "Maps & Flags", "Places"},
    "china": LIVING | {"Food", "Sports", "Music", "Transportation"},
    "flower": {"Places", "Society", "Sports", "Music", "Transportation", "Animals"},
    "astronaut": LIVING | {"Food", "Places", "Music", "Culture"},
    "rocket": LIVING | {"Food", "Music", "Sports", "People", "Culture"},
    "camera": LIVING | {"Food", "Sports", "Places"},
    "coins": LIVING | {"Food", "Places", "Transportation", "Music"},
    "grace_hopper": LIVING | {"Food", "Places", "Sports", "Transportation"},
    # the broad point says Animals (0.43) for the Hubble deep field; only the default is held
    "hubble_deep_field": {"Food", "Sports", "Music", "People", "Architecture"},
}


@pytest.mark.parametrize("name", list(CLEARLY_WRONG))
def test_nothing_clearly_wrong(results, name: str):
    _installed(results, name)
    for point in (DEFAULT_POINT, "broad"):
        got = labels(results, name, point)
        assert not (got & CLEARLY_WRONG[name]), (point, got)


def test_hubble_deep_field_not_an_animal_at_the_default_point(results):
    assert "Animals" not in labels(results, "hubble_deep_field")


def test_horse_silhouette_not_a_place_at_the_default_point(results):
    assert not labels(results, "horse") & {"Places", "Maps & Flags"}


def test_flower_not_an_animal_at_the_default_point(results):
    assert "Animals" not in labels(results, "flower")


def test_horse_silhouette_not_a_culture_at_the_default_point(results):
    assert "Culture" not in labels(results, "horse")


# Known misses (see the model card's limitations): strict, so a model that gets them right
# makes these fail and the notes get updated.
@pytest.mark.xfail(
    strict=True,
    reason="flower: Nature 0.767 is under 3.0.0's precise threshold for Nature (0.80, chosen "
    "on Commons images; 2.x's 0.5 said Nature): a regression against 2.2.0",
)
def test_known_miss_flower_nature(results):
    assert "Nature" in labels(results, "flower")


@pytest.mark.xfail(
    strict=True, reason="flower: Plants 0.491 at the default point (2.x's 0.5, kept for Plants: "
    "3 Commons examples are too few to fit it)"
)
def test_known_miss_flower_plants(results):
    assert "Plants" in labels(results, "flower")


@pytest.mark.xfail(
    strict=True,
    reason="horse silhouette: Culture 0.676 at the broad point (0.24): the head's Culture "
    "reads a black silhouette on white as a drawing",
)
def test_known_miss_horse_silhouette_broad(results):
    assert "Culture" not in labels(results, "horse", "broad")
