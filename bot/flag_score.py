"""Signals added into one score, and the score put into a tier, as Huggle and ORES do.

Huggle orders its review queue by an additive score whose breakdown a patroller can
read; ORES names its review filters "may have problems", "likely have problems" and
"very likely have problems". A flag here is both: the fired signals with their points
and reasons, their sum, and the tier the sum reaches. A sum under the lowest tier is
no flag at all. Weights, bounds and tiers come from [flags] in config.toml.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.config import FlagsConfig, FlagTiers
from bot.flag_signals import (
    BLANK,
    CATEGORY_MISMATCH,
    LOGO_NEW_ACCOUNT,
    NEAR_DUPLICATE,
    NEW_ACCOUNT,
    NO_CAMERA_EXIF,
    SMALL_JPEG,
    TINY,
    TRUSTED_UPLOADER,
    Account,
    Signal,
    blank,
    category_mismatch,
    is_new_account,
    logo_new_account,
    near_duplicate,
    new_account,
    no_camera_exif,
    small_jpeg,
    tiny,
    trusted_uploader,
)

MAY = "may have problems"
LIKELY = "likely have problems"
VERY_LIKELY = "very likely have problems"
TIERS = (VERY_LIKELY, LIKELY, MAY)  # strongest first, as the report lists them

LOGOS = "Logos & Symbols"


@dataclass(frozen=True)
class Evidence:
    """What is known about one classified upload when its flag is decided."""

    mime: str
    width: int
    height: int
    size_bytes: int
    has_camera_exif: bool | None  # None: the wiki gave no metadata to tell
    account: Account | None
    spread: float | None
    dhash: str | None
    claimed: tuple[str, ...] | None  # topics the file's categories imply; None: unknown
    predicted: tuple[str, ...]
    probabilities: Mapping[str, float]
    thresholds: Mapping[str, float | None]  # the model's operating point in use
    flagged: Iterable[tuple[str, str]]  # (title, dhash) of earlier flags not found fine
    now: datetime
    specific: frozenset[str] = frozenset()  # the taxonomy's leaves: contrary evidence


@dataclass(frozen=True)
class Assessment:
    signals: tuple[Signal, ...]
    score: float
    tier: str | None  # None: under the lowest tier, no flag


def tier_of(score: float, tiers: FlagTiers) -> str | None:
    if score >= tiers.very_likely_have_problems:
        return VERY_LIKELY
    if score >= tiers.likely_have_problems:
        return LIKELY
    if score >= tiers.may_have_problems:
        return MAY
    return None


def fired_signals(e: Evidence, config: FlagsConfig) -> list[Signal]:
    """Every enabled signal that fires, in a fixed order. `small_jpeg` is left out
    when `tiny` fired: both would count the same smallness twice; `trusted_uploader`,
    last, subtracts its points when anything else fired."""
    w, lim = config.weights, config.limits
    is_new = is_new_account(e.account, e.now, lim.new_account_edits, lim.new_account_days)
    candidates = {
        NEW_ACCOUNT: lambda: new_account(
            e.account, e.now, w.new_account, lim.new_account_edits, lim.new_account_days
        ),
        TINY: lambda: tiny(e.width, e.height, w.tiny, lim.tiny_side, lim.tiny_long_side),
        SMALL_JPEG: lambda: small_jpeg(
            e.mime,
            e.width,
            e.height,
            e.size_bytes,
            w.small_jpeg,
            lim.small_jpeg_pixels,
            lim.small_jpeg_bytes,
        ),
        BLANK: lambda: blank(e.spread, w.blank, lim.blank_spread),
        LOGO_NEW_ACCOUNT: lambda: logo_new_account(
            e.probabilities.get(LOGOS), e.thresholds.get(LOGOS), is_new, w.logo_new_account
        ),
        CATEGORY_MISMATCH: lambda: category_mismatch(
            e.claimed,
            e.predicted,
            e.probabilities,
            e.thresholds,
            w.category_mismatch,
            lim.mismatch_absent_ratio,
            e.specific,
            lim.mismatch_confidence,
        ),
        NO_CAMERA_EXIF: lambda: no_camera_exif(
            e.mime, e.width, e.height, e.has_camera_exif, w.no_camera_exif, lim.small_jpeg_pixels
        ),
        NEAR_DUPLICATE: lambda: near_duplicate(
            e.dhash, e.flagged, w.near_duplicate, lim.duplicate_bits, lim.duplicate_min_bits
        ),
        TRUSTED_UPLOADER: lambda: trusted_uploader(
            e.account, w.trusted_uploader, e.now, lim.established_edits, lim.established_days
        ),
    }
    fired: list[Signal] = []
    for name, compute in candidates.items():
        if getattr(w, name) <= 0:
            continue  # switched off
        if name == SMALL_JPEG and any(s.name == TINY for s in fired):
            continue
        if name == TRUSTED_UPLOADER and not fired:
            continue  # a discount on nothing is noise on the page
        signal = compute()
        if signal is not None:
            fired.append(signal)
    return fired


def assess(evidence: Evidence, config: FlagsConfig) -> Assessment:
    signals = tuple(fired_signals(evidence, config))
    score = round(sum(s.points for s in signals), 3)
    return Assessment(signals, score, tier_of(score, config.tiers))
