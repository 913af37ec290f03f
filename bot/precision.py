"""Measured precision per label, from what reviewers decided.

The share of a label's reviewed suggestions that reviewers accepted is its measured
precision: the number a WikiProject should trust, rather than the model card's, which
was measured on training-time data. Counts are small at first, so each share comes with
a 95 % Wilson score interval (it stays inside [0, 1] and behaves at 0 and n, unlike the
normal approximation). A label whose measured precision falls under the configured
floor, once it has enough reviews, is held back from the worklists until the model
changes; the reason says so in numbers. Confirmation by categories (the file's own
categories later implying the topic) is a second, implicit signal, kept apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Z_95 = 1.959963984540054  # two-sided 95 % normal quantile


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of a proportion; (0.0, 1.0) when nothing was counted."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class LabelPrecision:
    """A label's review counts and its confirmations by categories."""

    label: str
    accepted: int
    rejected: int
    confirmed: int = 0  # suggestions whose file's categories later implied the label
    confirmable: int = 0  # suggestions whose categories did not imply it when suggested

    @property
    def reviewed(self) -> int:
        return self.accepted + self.rejected

    @property
    def precision(self) -> float | None:
        return self.accepted / self.reviewed if self.reviewed else None

    @property
    def interval(self) -> tuple[float, float]:
        return wilson_interval(self.accepted, self.reviewed)

    def held_back_reason(self, floor: float, min_reviews: int) -> str | None:
        """Why the label is kept off the worklists, or None when it is not."""
        precision = self.precision
        if self.reviewed < min_reviews or precision is None or precision >= floor:
            return None
        low, high = self.interval
        return (
            f"measured precision {precision:.0%} ({self.accepted} of {self.reviewed} reviews "
            f"accepted; 95 % interval {low:.0%}-{high:.0%}) is under the floor {floor:.0%}"
        )
