"""Each flag signal on constructed inputs, at and around its boundaries; the score and
tiers; the pixel features on real and constructed images."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from PIL import Image

from bot.config import ConfigError, FlagLimits, FlagsConfig, FlagWeights, parse_config
from bot.flag_score import LIKELY, MAY, VERY_LIKELY, Evidence, assess, tier_of
from bot.flag_signals import (
    CONTEXT_SIGNALS,
    SIGNALS,
    Account,
    blank,
    category_mismatch,
    hamming,
    is_new_account,
    logo_new_account,
    near_duplicate,
    new_account,
    no_camera_exif,
    small_jpeg,
    tiny,
    trusted_uploader,
)
from bot.image_features import image_features
from bot.uploader_info import parse_account
from tests.wiki_fixtures import sample_images, variant

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def account(edits: int, days: float | None) -> Account:
    return Account("U", edits, None if days is None else NOW - timedelta(days=days))


# -- new account -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("edits", "days", "new"),
    [
        (49, 1000, True),  # under 50 edits
        (50, 1000, False),
        (5000, 179.99, True),  # under 180 days
        (5000, 180, False),
        (0, None, True),  # no registration date: old, but no edits
        (50, None, False),  # registered before MediaWiki kept the date
    ],
)
def test_new_account_boundaries(edits, days, new):
    assert is_new_account(account(edits, days), NOW) is new
    signal = new_account(account(edits, days), NOW, 1.5)
    assert (signal is not None) is new
    if signal:
        assert signal.points == 1.5 and f"{edits} edits" in signal.reason


def test_unknown_account_is_not_new():
    assert new_account(None, NOW, 1.5) is None


def test_parse_account_from_the_api():
    assert parse_account(
        {"userid": 3, "name": "A", "editcount": 7, "registration": "2024-04-30T12:00:00Z"}
    ) == Account("A", 7, datetime(2024, 4, 30, 12, tzinfo=UTC))
    assert parse_account({"name": "B", "editcount": 9, "registration": None}).registered is None
    assert parse_account({"name": "Nobody", "missing": True}) is None
    assert parse_account({"name": "127.0.0.1", "invalid": True}) is None


# -- size ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "fires"),
    [
        ((60, 40), True),
        ((48, 48), True),
        ((149, 399), True),
        ((149, 400), False),  # a long side like a wordmark's or a banner's
        ((542, 130), False),  # the wordmark patrollers were shown as "tiny"
        ((2000, 149), False),
        ((150, 150), False),
    ],
)
def test_tiny_boundary(size, fires):
    assert (tiny(*size, 4.0) is not None) is fires


def test_tiny_reason_names_the_size():
    assert tiny(60, 40, 4.0).reason.startswith("tiny: 60 x 40 pixels")


@pytest.mark.parametrize(
    ("mime", "width", "height", "size", "fires"),
    [
        ("image/jpeg", 2000, 1000, 60_000, False),  # exactly 2 MP and 60 KB: not small
        ("image/jpeg", 1999, 1000, 900_000, True),  # under 2 MP
        ("image/jpeg", 4000, 3000, 59_999, True),  # under 60 KB
        ("image/png", 100, 100, 1_000, False),  # only JPEGs claim to be photographs
    ],
)
def test_small_jpeg_boundaries(mime, width, height, size, fires):
    assert (small_jpeg(mime, width, height, size, 1.5) is not None) is fires


# -- blank -----------------------------------------------------------------------------


def test_blank_boundary():
    assert blank(3.99, 5.0) is not None
    assert blank(4.0, 5.0) is None
    assert blank(None, 5.0) is None  # no features: does not fire


def _encode(array: np.ndarray, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format=fmt, **kw)
    return buf.getvalue()


def test_features_tell_blank_from_drawings_and_photos():
    white = np.full((300, 400, 3), 255, np.uint8)
    assert image_features(_encode(white)).spread == 0
    grey_jpeg = np.full((300, 400, 3), 128, np.uint8)
    assert image_features(_encode(grey_jpeg, "JPEG", quality=60)).spread < 1
    noisy = np.clip(128 + np.random.default_rng(0).normal(0, 6, (300, 400, 3)), 0, 255)
    assert image_features(_encode(noisy.astype(np.uint8), "JPEG")).spread < 4  # sensor noise
    drawing = white.copy()
    drawing[100:130, 100:140] = 0  # 1 % of the page is ink
    assert image_features(_encode(drawing)).spread > 20
    photo = sample_images()["Chelsea the cat.jpg"]
    assert image_features(photo).spread > 20


def test_dhash_is_stable_under_recompression_and_differs_between_photos():
    photos = sample_images()
    cat = photos["Chelsea the cat.jpg"]
    small = Image.open(io.BytesIO(cat)).resize((226, 150))
    buf = io.BytesIO()
    small.save(buf, format="JPEG", quality=50)
    a, b = image_features(cat).dhash, image_features(buf.getvalue()).dhash
    assert len(a) == 16 and hamming(a, b) <= 6
    assert hamming(a, image_features(variant(cat, 1)).dhash) <= 6  # a small patch
    assert hamming(a, image_features(photos["Coffee cup.jpg"]).dhash) > 16


# -- logo from a new account -----------------------------------------------------------


def test_logo_needs_an_operating_point_a_score_over_it_and_a_new_account():
    assert logo_new_account(0.81, 0.8, True, 3.5).points == 3.5
    assert logo_new_account(0.8, 0.8, True, 3.5) is not None  # at the threshold
    assert logo_new_account(0.79, 0.8, True, 3.5) is None
    assert logo_new_account(0.99, 0.8, False, 3.5) is None  # established uploader
    assert logo_new_account(0.99, None, True, 3.5) is None  # the model cannot see logos


# -- categories that contradict the content --------------------------------------------

THRESHOLDS = {"Places": 0.5, "Architecture": 0.5, "STEM": 0.5, "Nature": 0.5,
              "Animals": 0.5, "Plants": 0.5, "Events": None}  # fmt: skip
CAT = {"STEM": 0.92, "Nature": 0.92, "Animals": 0.92, "Places": 0.01, "Architecture": 0.01}


LEAVES = frozenset({"Animals", "Plants", "Architecture"})  # "specific" topics


def _mismatch(claimed, shown, probabilities=CAT, specific=LEAVES, confidence=0.8):
    return category_mismatch(
        claimed, shown, probabilities, THRESHOLDS, 3.0, 0.2, specific, confidence
    )


def test_cat_in_a_buildings_category_is_a_mismatch_in_plain_words():
    signal = _mismatch(("Places", "Architecture"), ("STEM", "Nature", "Animals"))
    assert signal is not None
    assert signal.reason == (
        "the categories say Architecture or Places, but the image does not look like it; "
        "the model sees Animals (92 % sure)"
    )


def test_mismatch_boundaries_and_restraint():
    shown = ("STEM", "Nature", "Animals")
    claimed = ("Places", "Architecture")
    # a claimed topic at a fifth of its threshold is not "clearly absent"
    assert _mismatch(claimed, shown, dict(CAT, Places=0.1)) is None
    assert _mismatch(claimed, shown, dict(CAT, Places=0.0999)) is not None
    # nothing clearly shown: no mismatch
    assert _mismatch(claimed, ()) is None
    # a cat filed under Plants: Nature (claimed too) is shown
    plants = ("STEM", "Nature", "Plants")
    assert _mismatch(plants, shown, dict(CAT, Plants=0.0)) is None
    # topics the model cannot judge, or unknown categories: no signal
    assert _mismatch(("Events",), shown) is None
    assert _mismatch(None, shown) is None
    assert _mismatch((), shown) is None


def test_mismatch_needs_a_confident_specific_contrary_prediction():
    """Patrollers' false alarms: the contrary topic must be specific (a leaf, not a
    broad topic like Nature) and predicted with confidence, not just over its point."""
    claimed = ("Places", "Architecture")
    # over its operating point (0.5) but hesitant: no signal
    hesitant = dict(CAT, Animals=0.79)
    assert _mismatch(claimed, ("STEM", "Nature", "Animals"), hesitant) is None
    assert _mismatch(claimed, ("STEM", "Nature", "Animals"), dict(CAT, Animals=0.8)) is not None
    # only broad topics shown, however sure: no signal
    assert _mismatch(claimed, ("STEM", "Nature")) is None
    # without the taxonomy's leaves nothing counts as specific
    assert _mismatch(claimed, ("STEM", "Nature", "Animals"), specific=frozenset()) is None


# -- EXIF ------------------------------------------------------------------------------


def test_no_camera_exif_only_on_large_jpegs_with_metadata_known():
    assert no_camera_exif("image/jpeg", 2000, 1000, False, 1.0) is not None  # 2 MP
    assert no_camera_exif("image/jpeg", 1999, 1000, False, 1.0) is None  # small: small_jpeg
    assert no_camera_exif("image/jpeg", 4000, 3000, True, 1.0) is None
    assert no_camera_exif("image/jpeg", 4000, 3000, None, 1.0) is None
    assert no_camera_exif("image/png", 4000, 3000, False, 1.0) is None


# -- near duplicates -------------------------------------------------------------------


def test_near_duplicate_boundary_and_nearest_named():
    h = "0f0f0f0f0f0f0f0f"
    six_off = f"{int(h, 16) ^ 0b111111:016x}"
    seven_off = f"{int(h, 16) ^ 0b1111111:016x}"
    assert near_duplicate(h, [("File:A.jpg", six_off)], 3.0) is not None
    assert near_duplicate(h, [("File:A.jpg", seven_off)], 3.0) is None
    both = near_duplicate(h, [("File:Far.jpg", six_off), ("File:Same.jpg", h)], 3.0)
    assert "[[:File:Same.jpg|" in both.reason and "0 of 64" in both.reason
    assert near_duplicate(None, [("File:A.jpg", h)], 3.0) is None
    assert near_duplicate(h, [], 3.0) is None


def test_smooth_images_are_nobodys_near_duplicate():
    """A flagged blank upload hashes to 0; a smooth photo to nearly 0: no match, either
    way round, while structured hashes still match."""
    blank, smooth, sky = "0" * 16, "0000000000000101", "ffffffffffff7fff"
    assert near_duplicate(smooth, [("File:Blank.png", blank)], 3.0) is None
    assert near_duplicate(blank, [("File:Smooth.jpg", smooth)], 3.0) is None
    assert near_duplicate(sky, [("File:Sky.jpg", "ffffffffffffffff")], 3.0) is None
    photo = "5a3c0f0f96e1c3a5"
    assert near_duplicate(photo, [("File:Blank.png", blank), ("File:Photo.jpg", photo)], 3.0)


def test_an_autopatrolled_uploader_is_discounted():
    patroller = replace(account(300, 400), rights=frozenset({"autopatrol", "edit"}))
    icon = assess(evidence(width=48, height=48, mime="image/png"), FlagsConfig())
    assert icon.tier == MAY
    trusted = assess(evidence(width=48, height=48, mime="image/png", account=patroller),
                     FlagsConfig())  # fmt: skip
    assert [s.name for s in trusted.signals] == ["tiny", "trusted_uploader"]
    assert trusted.score == 1.0 and trusted.tier is None
    assert assess(evidence(account=patroller), FlagsConfig()).signals == ()  # no discount alone


@pytest.mark.parametrize(
    ("edits", "days", "discounted"),
    [(1000, 730, True), (5000, None, True), (999, 3000, False), (9000, 729, False)],
)
def test_an_established_uploader_is_discounted(edits, days, discounted):
    icon = evidence(width=48, height=48, mime="image/png", account=account(edits, days))
    result = assess(icon, FlagsConfig())
    names = ["tiny", "trusted_uploader"] if discounted else ["tiny"]
    assert [s.name for s in result.signals] == names
    assert result.tier == (None if discounted else MAY)
    config = FlagsConfig(limits=replace(FlagLimits(), established_edits=20_000))
    assert [s.name for s in assess(icon, config).signals] == ["tiny"]


# -- score and tiers -------------------------------------------------------------------


def evidence(**changes) -> Evidence:
    base = Evidence(
        mime="image/jpeg",
        width=4000,
        height=3000,
        size_bytes=4_000_000,
        has_camera_exif=True,
        account=account(300, 400),  # neither new nor established
        spread=50.0,
        dhash="0123456789abcdef",
        claimed=("STEM", "Nature", "Animals"),
        predicted=("STEM", "Nature", "Animals"),
        probabilities=CAT,
        thresholds=THRESHOLDS,
        flagged=[],
        now=NOW,
        specific=LEAVES,
    )
    return replace(base, **changes)


def test_an_ordinary_photo_by_an_established_account_is_not_flagged():
    assert assess(evidence(), FlagsConfig()).signals == ()
    small = assess(evidence(width=640, height=480, size_bytes=90_000), FlagsConfig())
    assert [s.name for s in small.signals] == ["small_jpeg"] and small.tier is None


def test_context_signals_alone_stay_under_the_lowest_tier():
    weights, tiers = FlagWeights(), FlagsConfig().tiers
    assert set(SIGNALS) == {f for f in vars(weights)}
    for name in CONTEXT_SIGNALS:
        assert getattr(weights, name) < tiers.may_have_problems
    # the one context pair that does flag: Commons' "small JPEG by a new account"
    pair = assess(evidence(account=account(3, 1), width=640, height=480), FlagsConfig())
    assert [s.name for s in pair.signals] == ["new_account", "small_jpeg"]
    assert pair.tier == MAY and pair.score == 3.0
    exif = assess(evidence(account=account(3, 1), has_camera_exif=False), FlagsConfig())
    assert exif.score == 2.5 and exif.tier is None  # missing EXIF never decides


def test_scores_add_up_into_tiers():
    tiers = FlagsConfig().tiers
    assert [tier_of(s, tiers) for s in (2.99, 3.0, 4.99, 5.0, 6.99, 7.0)] == [
        None, MAY, MAY, LIKELY, LIKELY, VERY_LIKELY,
    ]  # fmt: skip
    blank_by_newcomer = assess(
        evidence(account=account(0, 0), spread=0.0, width=60, height=40, mime="image/png"),
        FlagsConfig(),
    )
    assert [s.name for s in blank_by_newcomer.signals] == ["new_account", "tiny", "blank"]
    assert blank_by_newcomer.score == 10.5 and blank_by_newcomer.tier == VERY_LIKELY


def test_tiny_jpeg_is_not_also_counted_as_small():
    result = assess(evidence(width=60, height=40, size_bytes=2_000), FlagsConfig())
    assert [s.name for s in result.signals] == ["tiny"]


def test_a_switched_off_signal_is_not_computed():
    off = FlagsConfig(weights=FlagWeights(tiny=0.0))
    assert assess(evidence(width=60, height=40, mime="image/png"), off).signals == ()


def test_flag_config_is_validated():
    config = parse_config("[flags.weights]\nblank = 6\n[flags.tiers]\nmay_have_problems = 2.5\n")
    assert config.flags.weights.blank == 6.0 and config.flags.tiers.may_have_problems == 2.5
    with pytest.raises(ConfigError, match="must rise"):
        parse_config("[flags.tiers]\nlikely_have_problems = 9\n")
    with pytest.raises(ConfigError, match="never enough alone"):
        parse_config("[flags.weights]\nno_camera_exif = 3\n")
    with pytest.raises(ConfigError, match="unknown key"):
        parse_config("[flags.weights]\nnudity = 1\n")
    with pytest.raises(ConfigError, match="must be 0 or more"):
        parse_config("[flags.weights]\ntiny = -1\n")


JARGON = re.compile(r"\bpx\b|\bMP\b|luminance|spread|operating point|\bbits?\b|dhash|\b0\.\d")


def test_every_reason_is_in_plain_words():
    """Patrollers read the reasons: no model scores as decimals, no pixel statistics,
    no hash arithmetic, and numbers agree with their nouns."""
    new = account(1, 1)
    near = "5a3c0f0f96e1c3a5"
    reasons = [
        new_account(new, NOW, 1.5).reason,
        tiny(60, 40, 4.0).reason,
        small_jpeg("image/jpeg", 640, 480, 40_000, 1.0).reason,
        blank(1.2, 5.0).reason,
        logo_new_account(0.93, 0.8, True, 3.5).reason,
        _mismatch(("Places", "Architecture"), ("STEM", "Nature", "Animals")).reason,
        no_camera_exif("image/jpeg", 4000, 3000, False, 1.0).reason,
        near_duplicate(near, [("File:Same.jpg", near)], 3.0).reason,
        trusted_uploader(replace(account(5000, 2000), rights=frozenset({"autopatrol"})), 3, NOW)
        .reason,
        trusted_uploader(account(5000, 2000), 3, NOW).reason,
    ]
    for reason in reasons:
        assert not JARGON.search(reason), reason
    assert "1 edit," in reasons[0] and "1 day ago" in reasons[0]
    assert "93 % sure" in reasons[4]
    assert reasons[-1] == "the uploader is established: 5000 edits over 2000 days"
