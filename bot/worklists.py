"""Every worklist page from the store: the index, one page per topic, needs-categories.

Each page asks the store only for what it can show: the newest `max_files` rows of its
own label (an indexed, LIMITed query), grouped counts for the index, the newest
uncategorized uploads. So rendering costs the same whether the store holds a day of
Commons uploads or a year of them (scripts/bench_worklists.py measures it).

Reviewed precision on the index comes from `Store.label_review_counts()` ({label:
(accepted, rejected)}) of the current model's suggestions, the reviews people made in
the review tool. A label held back for a low measured precision lists no files, and its
page and index row say why.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from bot.index_page import render_index
from bot.report import PageStyle, ReportPage, render_needs_categories, render_topic_page
from bot.store import LabelCounts, Store
from classifier.taxonomy import Taxonomy

NEW_WINDOW = timedelta(days=7)  # "new this week" on the index


def render_worklists(
    store: Store,
    taxonomy: Taxonomy,
    style: PageStyle,
    flags_page: str | None,
    now: datetime,
    held_back: Mapping[str, str],
    model_version: str | None = None,
) -> list[ReportPage]:
    """Each topic's page, narrower topics before broader ones, then needs-categories,
    then the index: a page is saved after the pages it links to exist, so the wiki
    renders those links blue at once. The index's reviewed precision counts the reviews
    of `model_version`'s suggestions (None: every model's), the same reviews that hold
    a label back."""
    counts = store.label_counts(now - NEW_WINDOW)
    pages = []
    for label in reversed(taxonomy.labels):  # the taxonomy lists a parent before its children
        rows = [] if label in held_back else store.worklist(label, style.max_files)
        awaiting = counts.get(label, LabelCounts(0, 0)).awaiting
        pages.append(
            render_topic_page(label, rows, awaiting, taxonomy, style, held_back.get(label))
        )
    pages.append(render_needs_categories(store.uncategorized(style.max_files), taxonomy, style))
    pages.append(
        render_index(
            style.prefix,
            taxonomy,
            counts,
            store.unsuggested_count(),
            store.label_review_counts(model_version),
            flags_page,
            style.tool_url,
            held_back,
        )
    )
    return pages
