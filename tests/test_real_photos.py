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


def labels(results, name: str, point: str = "conservative") -> set[str]:
    return set(results[name][point].predictions)


TOP_LEVEL = {"STEM", "Places", "Society", "Culture", "Logos & Symbols"}

# What a person says, at the default (conservative) operating point.
# Scores when written (model 2.2.0): coffee Food 0.96; chelsea Animals 0.95; horse (a
# silhouette) Animals 0.81; china (a temple) Architecture 0.76; flower Nature 0.77 but
# Plants 0.491 (float reference 0.481: the float model misses it too; a known miss below);
# rocket (a launch pad) Technology & Engineering 0.57, from ImageNet's missile classes;
# Grace Hopper (in uniform) People 0.63, from the military-uniform, suit and tie classes.
EXPECTED = {
    "coffee": ({"Culture"}, {"Food"}),
    "chelsea": ({"STEM"}, {"Nature", "Animals"}),
    "horse": ({"STEM"}, {"Nature", "Animals"}),
    "china": ({"Places"}, {"Architecture"}),
    "flower": ({"STEM"}, {"Nature"}),
    "rocket": ({"STEM"}, {"Technology & Engineering"}),
    "grace_hopper": ({"Society"}, {"People"}),
}
# The leaf a person would name; it must have the highest leaf score even where it stays
# under its threshold.
LEAF = {"coffee": "Food", "chelsea": "Animals", "horse": "Animals", "china": "Architecture",
        "flower": "Plants", "rocket": "Technology & Engineering", "grace_hopper": "People"}


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
    result = results[name]["conservative"]
    leaves = {k: v for k, v in result.probabilities.items() if taxonomy.is_leaf(k)}
    assert max(leaves, key=leaves.get) == LEAF[name]


# Labels that would be clearly wrong for each photo, at either operating point unless
# noted. These hold for the photos the model gets wrong or leaves empty too.
LIVING = {"Nature", "Animals", "Plants"}
CLEARLY_WRONG = {
    "coffee": LIVING | {"Places", "Sports", "Transportation", "Music"},
    "chelsea": {"Places", "Food", "Plants", "Sports", "Transportation", "Music", "Culture"},
    # the broad point says Maps & Flags and Places (0.109) for the horse silhouette: a known
    # miss of the learned head below
    "horse": {"Food", "Plants", "Music", "Culture"},
    "china": LIVING | {"Food", "Sports", "Music", "Transportation"},
    # the broad point says Animals (0.280; float 0.287) for the flower: a known miss below
    "flower": {"Places", "Society", "Sports", "Music", "Transportation"},
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
    for point in ("conservative", "broad"):
        got = labels(results, name, point)
        assert not (got & CLEARLY_WRONG[name]), (point, got)


def test_hubble_deep_field_not_an_animal_at_the_default_point(results):
    assert "Animals" not in labels(results, "hubble_deep_field")


def test_horse_silhouette_not_a_place_at_the_default_point(results):
    assert not labels(results, "horse") & {"Places", "Maps & Flags"}


def test_flower_not_an_animal_at_the_default_point(results):
    assert "Animals" not in labels(results, "flower")


# Known misses of the ImageNet-class model (see the model card's limitations): strict, so
# a model that gets them right makes these fail and the notes get updated.
@pytest.mark.xfail(
    strict=True,
    reason="astronaut: Society/Sports (Sports 0.56, from ImageNet bobsled and football helmet), "
    "not Space/People",
)
def test_known_miss_astronaut(results):
    got = labels(results, "astronaut")
    assert "Sports" not in got and got & {"Space", "People"}


@pytest.mark.xfail(
    strict=True, reason="horse silhouette: Maps & Flags at the broad point (0.109; threshold 0.045)"
)
def test_known_miss_horse_silhouette_broad(results):
    assert not labels(results, "horse", "broad") & {"Places", "Maps & Flags"}


@pytest.mark.xfail(
    strict=True, reason="flower: Plants 0.491 at the default point (0.5); float model: 0.481"
)
def test_known_miss_flower_plants(results):
    assert "Plants" in labels(results, "flower")


@pytest.mark.xfail(strict=True, reason="flower: Animals at the broad point (0.280, float 0.287)")
def test_known_miss_flower_broad(results):
    assert "Animals" not in labels(results, "flower", "broad")
