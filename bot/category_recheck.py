"""The implicit review signal: suggestions that the file's own categories later confirm.

A suggestion whose topic the file's categories did not imply when it was made (the
"new" mark) is confirmed when, on a later pass, they do: a person categorised the file
into that topic without ever seeing the suggestion. Each pass re-reads the categories
of a bounded number of such files, suggested within a bounded look-back
([review] recheck_days and recheck_per_pass), one metadata request per batch of titles,
and marks what they now imply (`Store.confirm_by_categories`). Successive passes go
round the whole look-back (a keyset position kept between passes), so an old suggestion
is not starved by new ones. A file whose metadata could not be read, or whose category
walk met unknown categories, is simply tried again on a later round.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import pywikibot

from bot.metadata import FileInfo, fetch_metadata
from bot.store import Store
from classifier.category_heuristic import TopicHeuristic

log = logging.getLogger(__name__)


def implied_topics(categories: Iterable[str], topics: TopicHeuristic) -> tuple[str, ...] | None:
    """Topics the categories imply, closed under ancestors; None when unknown (the walk
    met categories whose parents are unknown)."""
    result = topics.label(categories)
    if result.touched_unknown:
        return None
    return topics.taxonomy.close_under_ancestors(result.labels())


class CategoryRecheck:
    """Re-reads the categories of recently suggested files, a bounded batch per pass."""

    def __init__(
        self,
        site: pywikibot.site.APISite,
        store: Store,
        topics: TopicHeuristic,
        lookback: timedelta,
        per_pass: int,
        thumb_width: int,
        batch: int = 50,
    ):
        self.site, self.store, self.topics = site, store, topics
        self.lookback, self.per_pass = lookback, per_pass
        self.thumb_width, self.batch = thumb_width, batch
        self.after_id = 0  # where the next pass goes on in the look-back

    def run(self) -> int:
        """One round: returns how many suggestions were newly confirmed."""
        since = datetime.now(UTC).replace(tzinfo=None) - self.lookback
        candidates = self.store.confirmation_candidates(since, self.per_pass, self.after_id)
        # a short batch is the end of the look-back: the next pass starts again from its oldest
        self.after_id = candidates[-1][0] if len(candidates) == self.per_pass else 0
        if not candidates:
            return 0
        titles = [title for _, title in candidates]
        metadata = fetch_metadata(self.site, titles, self.thumb_width, self.batch)
        claimed = {
            title: implied_topics(meta.categories, self.topics)
            for title, meta in metadata.items()
            if isinstance(meta, FileInfo)
        }
        confirmed = self.store.confirm_by_categories(claimed)
        log.info(
            "categories re-read for %d files: %d suggestions confirmed by categories",
            len(titles),
            confirmed,
        )
        return confirmed
