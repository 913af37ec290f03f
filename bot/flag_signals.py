"""The signals behind a vandalism-candidate flag: each a small pure function.

Every signal answers one question a Commons patroller asks of a new upload, and
returns a `Signal` (its points and a reason a person can check) or None when it does
not fire. The signals and their bounds follow what patrollers already use (Commons'
abuse filters and patrol pages, see notes/wikimedia.md): none of them is evidence of
vandalism on its own, which is why they only add up into a score (bot.flag_score)
and why the bot only ever lists a file for a human look.

Two kinds of evidence are kept apart on purpose:

* about the file itself: tiny, blank, a logo from a new account, categories that
  contradict the content, a near-copy of a file flagged before;
* about its context: a new account, a small JPEG, a JPEG without camera EXIF. These
  are common among good uploads too, so their default points stay below the lowest
  tier: context alone never makes a flag, except "a new account uploads a small JPEG",
  which is the pattern Commons' own filters tag.

Nudity is deliberately not a signal (it is in scope on Commons), and nothing here
looks at who or what a photo shows beyond the topic model's labels.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.wikitext import file_link

JPEG = "image/jpeg"

# Signal names: the keys of [flags.weights] in config.toml and of the stored breakdown.
NEW_ACCOUNT = "new_account"
TINY = "tiny"
SMALL_JPEG = "small_jpeg"
BLANK = "blank"
LOGO_NEW_ACCOUNT = "logo_new_account"
CATEGORY_MISMATCH = "category_mismatch"
NO_CAMERA_EXIF = "no_camera_exif"
NEAR_DUPLICATE = "near_duplicate"
TRUSTED_UPLOADER = "trusted_uploader"  # a discount: its points are subtracted
TRUSTED_UPLOADER_RIGHT = "autopatrol"
SIGNALS = (
    NEW_ACCOUNT,
    TINY,
    SMALL_JPEG,
    BLANK,
    LOGO_NEW_ACCOUNT,
    CATEGORY_MISMATCH,
    NO_CAMERA_EXIF,
    NEAR_DUPLICATE,
    TRUSTED_UPLOADER,
)
CONTEXT_SIGNALS = frozenset({NEW_ACCOUNT, SMALL_JPEG, NO_CAMERA_EXIF})
"""Signals about circumstances common among good uploads; the score needs more."""


@dataclass(frozen=True)
class Signal:
    """One fired signal: its name, the points it adds and why, in words."""

    name: str
    points: float
    reason: str


@dataclass(frozen=True)
class Account:
    """What the wiki says about an uploader (bot.uploader_info)."""

    name: str
    edits: int
    registered: datetime | None  # None: registered before MediaWiki kept the date (pre-2006)
    rights: frozenset[str] = frozenset()  # e.g. autopatrol, patrol


def is_new_account(
    account: Account | None, now: datetime, max_edits: int = 50, max_days: float = 180
) -> bool:
    """Commons' abuse filters call an account new under 50 edits or 180 days. An unknown
    account (an IP, or the user list could not be read) is not called new: a signal
    must rest on something the wiki said."""
    if account is None:
        return False
    young = (
        account.registered is not None
        and (now - account.registered).total_seconds() < max_days * 86400
    )
    return account.edits < max_edits or young


def new_account(
    account: Account | None,
    now: datetime,
    points: float,
    max_edits: int = 50,
    max_days: float = 180,
) -> Signal | None:
    """New accounts upload most copyright violations and test files; most of their
    uploads are fine too, hence context only."""
    if account is None or not is_new_account(account, now, max_edits, max_days):
        return None
    age = (
        "registration date unknown"
        if account.registered is None
        else f"registered {count((now - account.registered).days, 'day')} ago"
    )
    return Signal(NEW_ACCOUNT, points, f"new account: {count(account.edits, 'edit')}, {age}")


def tiny(
    width: int, height: int, points: float, min_side: int = 150, long_side: int = 400
) -> Signal | None:
    """An image under 150 px on its short side is too small to be of use on Commons:
    usually an icon, an avatar or a thumbnail copied from elsewhere. Not when its long
    side reaches `long_side`: a 542 x 130 wordmark or a banner is narrow by nature."""
    if min(width, height) >= min_side or min(width, height) <= 0:
        return None
    if max(width, height) >= long_side:
        return None
    return Signal(
        TINY, points, f"tiny: {width} x {height} pixels (the shorter side under {min_side})"
    )


def small_jpeg(
    mime: str,
    width: int,
    height: int,
    size_bytes: int,
    points: float,
    min_pixels: int = 2_000_000,
    min_bytes: int = 60_000,
) -> Signal | None:
    """A JPEG claims to be a photograph; one under 2 MP or 60 KB is what a web page
    serves, not what a camera makes (Commons' filter for small JPEGs by new users)."""
    if mime != JPEG:
        return None
    pixels = width * height
    if pixels >= min_pixels and size_bytes >= min_bytes:
        return None
    return Signal(
        SMALL_JPEG,
        points,
        f"a small JPEG for a photo: {width} x {height} pixels, "
        f"{size_bytes / 1000:.0f} KB (cameras make at least {min_pixels / 1e6:g} "
        f"megapixels and {min_bytes / 1000:g} KB)",
    )


def blank(spread: float | None, points: float, max_spread: float = 4.0) -> Signal | None:
    """A blank or nearly uniform image shows nothing: a failed or test upload.
    `spread` is the standard deviation of the luminance (0-255) of the thumbnail
    (bot.image_features); JPEG noise on a flat colour stays well under 4."""
    if spread is None or spread >= max_spread:
        return None
    return Signal(
        BLANK,
        points,
        f"blank or almost one flat colour (brightness varies by only {spread:.1f} of 255)",
    )


def logo_new_account(
    logo_score: float | None,
    logo_threshold: float | None,
    account_is_new: bool,
    points: float,
) -> Signal | None:
    """Logos are the commonest copyright deletion after freedom of panorama, and new
    accounts upload most of them. It fires only where the model has an operating point
    for Logos & Symbols: a model that cannot see logos (v1, the ImageNet-mapped one) never
    fires it, rather than guessing."""
    if logo_threshold is None or logo_score is None or not account_is_new:
        return None
    if logo_score < logo_threshold:
        return None
    return Signal(
        LOGO_NEW_ACCOUNT,
        points,
        f"looks like a logo or symbol (the model is {percent(logo_score)} sure) "
        "and comes from a new account",
    )


def category_mismatch(
    claimed: Iterable[str] | None,
    predicted: Iterable[str],
    probabilities: Mapping[str, float],
    thresholds: Mapping[str, float | None],
    points: float,
    absent_ratio: float = 0.2,
    specific: Collection[str] = (),
    confidence: float = 0.8,
) -> Signal | None:
    """The file's own categories claim topics the image clearly does not show, while it
    clearly shows another: a description that does not fit the content (a wrong file,
    or a joke). "Clearly" on both sides: every claimed topic the model can judge (one
    with an operating point) scores under `absent_ratio` of its threshold, and the
    model predicts a `specific` topic (a leaf of the taxonomy: Animals, not Nature)
    that the categories do not claim, with a probability of at least `confidence` as
    well as over its operating point. A broad or hesitant prediction is no contrary
    evidence: patrollers saw the Olympic flag listed on a weak guess. Claimed topics
    are closed under ancestors, so a cat filed under Plants does not fire: Nature,
    claimed too, is shown."""
    if claimed is None:
        return None
    claimed = sorted(set(claimed))
    judged = [label for label in claimed if thresholds.get(label) is not None]
    if not judged:
        return None
    if any(probabilities.get(label, 0.0) >= absent_ratio * thresholds[label] for label in judged):
        return None
    shown = [
        label
        for label in predicted
        if label not in claimed
        and label in specific
        and probabilities.get(label, 0.0) >= confidence
    ]
    if not shown:
        return None
    said = " or ".join(judged)
    seen = " and ".join(f"{label} ({percent(probabilities[label])} sure)" for label in shown)
    return Signal(
        CATEGORY_MISMATCH,
        points,
        f"the categories say {said}, but the image does not look like it; the model sees {seen}",
    )


def no_camera_exif(
    mime: str,
    width: int,
    height: int,
    has_camera_exif: bool | None,
    points: float,
    min_pixels: int = 2_000_000,
) -> Signal | None:
    """A large JPEG without camera make or model may have been taken from a web page
    that stripped it. Weak: EXIF is optional and easy to fake or remove, so this is
    context only (a small JPEG is covered by `small_jpeg` instead)."""
    if mime != JPEG or has_camera_exif is None or has_camera_exif:
        return None
    if width * height < min_pixels:
        return None
    return Signal(
        NO_CAMERA_EXIF, points, "a large JPEG that does not name the camera that took it (EXIF)"
    )


def is_established(account: Account, now: datetime, min_edits: int, min_days: float) -> bool:
    """At least `min_edits` edits over at least `min_days` since registering (an account
    older than MediaWiki's registration dates counts as old enough)."""
    aged = (
        account.registered is None
        or (now - account.registered).total_seconds() >= min_days * 86400
    )
    return account.edits >= min_edits and aged


def trusted_uploader(
    account: Account | None,
    points: float,
    now: datetime,
    established_edits: int = 1000,
    established_days: float = 730,
) -> Signal | None:
    """An uploader Commons trusts with `autopatrol` (their uploads skip patrol), or an
    established one (many edits over years), has earned a discount: their icons and
    wordmarks are far less often problems, and patrollers' time is better spent on
    others' uploads."""
    if account is None:
        return None
    if TRUSTED_UPLOADER_RIGHT in account.rights:
        reason = f"the uploader is trusted by Commons (has the {TRUSTED_UPLOADER_RIGHT} right)"
    elif is_established(account, now, established_edits, established_days):
        age = (
            "since before 2006"
            if account.registered is None
            else f"over {count((now - account.registered).days, 'day')}"
        )
        reason = f"the uploader is established: {count(account.edits, 'edit')} {age}"
    else:
        return None
    return Signal(TRUSTED_UPLOADER, -points, reason)


def hamming(a: str, b: str) -> int:
    """Differing bits of two hex-encoded hashes of the same length."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


def structured(dhash: str, min_bits: int = 8) -> bool:
    """Whether a difference hash has enough structure to identify an image: a blank or
    smooth image hashes to (almost) all zeros or all ones, like every other smooth one."""
    bits = int(dhash, 16).bit_count()
    return min_bits <= bits <= 64 - min_bits


def near_duplicate(
    dhash: str | None,
    flagged: Iterable[tuple[str, str]],
    points: float,
    max_distance: int = 6,
    min_bits: int = 8,
) -> Signal | None:
    """A copy or near-copy (perceptual hash within `max_distance` of 64 bits) of a file
    flagged before, and not found fine, is how deleted material comes back. Both hashes
    must be `structured`: a flagged blank upload must not make every smooth photo its
    near-copy. `flagged` holds (title, hash) pairs; the nearest one is named."""
    if dhash is None or not structured(dhash, min_bits):
        return None
    best: tuple[int, str] | None = None
    for title, other in flagged:
        if not structured(other, min_bits):
            continue
        distance = hamming(dhash, other)
        if distance <= max_distance and (best is None or distance < best[0]):
            best = (distance, title)
    if best is None:
        return None
    distance, title = best
    return Signal(
        NEAR_DUPLICATE,
        points,
        f"the same or almost the same picture as {file_link(title)}, which was flagged "
        f"before and not found fine ({distance} of 64 points of their outlines differ)",
    )


def percent(probability: float) -> str:
    """A model probability as people read it: 0.92 -> "92 %"."""
    return f"{probability:.0%}".replace("%", " %")


def count(n: int, noun: str) -> str:
    """A number with its noun: "1 edit", "3 edits"."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
