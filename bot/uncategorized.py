"""Keeping the "needs categories" worklist true: its files are asked again, each time.

Whether an upload has a visible category is recorded when the bot first sees it, but
people categorize files afterwards, which is the point of the list. So before the page
is rendered, the files it would show (at most the page's `max_files`, 50 titles per
request) are asked for their visible categories again (`clshow=!hidden`, as at upload
time), and those that have gained one leave the list. A request that fails leaves the
stored answer as it was; the page is still published.
"""

from __future__ import annotations

import logging

import pywikibot

from bot.store import Store
from bot.wiki_query import API_ERRORS, flag, query_pages

log = logging.getLogger(__name__)


def recheck_uncategorized(
    site: pywikibot.site.APISite, store: Store, limit: int, batch: int = 50
) -> int:
    """Re-read the visible categories of the files the list would show; returns how many
    now have one."""
    titles = [f.title for f in store.uncategorized(limit)]
    if not titles:
        return 0
    counts: dict[str, int] = {}
    try:
        for page in query_pages(site, "categories", titles, batch, clshow="!hidden", cllimit="max"):
            if not flag(page, "missing"):  # deletions come from the delete log
                counts[page["title"]] = len(page.get("categories", ()))
    except API_ERRORS as err:
        log.warning("re-reading the categories of %d files failed: %s", len(titles), err)
        return 0
    categorized = {title: n for title, n in counts.items() if n}
    store.set_visible_categories(categorized)
    if categorized:
        log.info("%d file(s) got categories and leave the needs-categories list", len(categorized))
    return len(categorized)
