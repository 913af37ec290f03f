"""The live category graph: parents of Commons categories, asked of the wiki, cached.

This is the bot's back-end of `classifier.category_graph.CategoryGraph`. The heuristic
asks about a whole level of its walk at once; this answers from the store's cache
first and asks the wiki only for the rest, 50 category pages per request with
`prop=categories|categoryinfo`: parents without hidden ones (`clshow=!hidden`, as the
heuristic ignores them anyway), whether the category itself is hidden (categoryinfo's
`hidden`), and whether its page exists (a red link is a state of its own). Category
trees change slowly, so answers are cached for a configurable time; a request that
fails leaves its categories UNKNOWN (and uncached) rather than failing the file.

A cached answer is used only while its category page is unchanged: one cheap
`prop=revisions` request per 50 cached categories reads the time of each page's latest
edit (not `touched`, which every new member of a busy category moves), and a page
edited, created or deleted since it was cached is asked again. So a vandal's
re-parenting, once reverted, stops counting at the next lookup, not a week later.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime, timedelta

import pywikibot

from bot.store import Store
from bot.wiki_query import API_ERRORS, flag, query_pages
from classifier.category_graph import RED_LINK, UNKNOWN, CategoryInfo

log = logging.getLogger(__name__)

CATEGORY_PREFIX = "Category:"


def strip_namespace(title: str) -> str:
    return title.removeprefix(CATEGORY_PREFIX)


class LiveCategoryGraph:
    """Category descriptions from the wiki's API, cached in the bot's store."""

    def __init__(
        self, site: pywikibot.site.APISite, store: Store, max_age: timedelta, batch: int = 50
    ):
        self.site = site
        self.store = store
        self.max_age = max_age
        self.batch = batch

    def lookup(self, titles: Collection[str]) -> dict[str, CategoryInfo]:
        wanted = sorted(set(titles))
        found = self.store.cached_categories(wanted, self.max_age)
        for title in self._changed_since_cached(found):
            del found[title]
        missing = [t for t in wanted if t not in found]
        if missing:
            fetched = self._fetch(missing)
            self.store.cache_categories(fetched)
            found.update(fetched)
        return {t: found.get(t, UNKNOWN) for t in titles}

    def _changed_since_cached(self, cached: dict[str, CategoryInfo]) -> set[str]:
        """Cached categories whose page was edited, created or deleted since it was
        cached. A failed request trusts the cache (logged)."""
        if not cached:
            return set()
        fetched_at = self.store.category_fetched_at(cached)
        changed = set()
        try:
            pages = query_pages(
                self.site,
                "revisions",
                [CATEGORY_PREFIX + t for t in sorted(cached)],
                self.batch,
                rvprop="timestamp",
            )
            for page in pages:
                title = strip_namespace(page["title"])
                if title not in cached:
                    continue
                latest = [r["timestamp"] for r in page.get("revisions", ())]
                # second resolution on the wiki: an edit in the second of caching counts
                cached_at = fetched_at.get(title, datetime.max).replace(microsecond=0)
                edited = any(
                    datetime.strptime(t, "%Y-%m-%dT%H:%M:%SZ") >= cached_at for t in latest
                )
                if flag(page, "missing") == cached[title].exists or edited:
                    changed.add(title)
        except API_ERRORS as err:
            log.warning("checking %d cached categories for edits failed: %s", len(cached), err)
        return changed

    def _fetch(self, titles: list[str]) -> dict[str, CategoryInfo]:
        out: dict[str, CategoryInfo] = {}
        try:
            pages = query_pages(
                self.site,
                "categories|categoryinfo",
                [CATEGORY_PREFIX + t for t in titles],
                self.batch,
                clshow="!hidden",
                cllimit="max",
            )
            for page in pages:
                title = strip_namespace(page["title"])
                if flag(page, "missing"):
                    out[title] = RED_LINK
                    continue
                out[title] = CategoryInfo(
                    parents=tuple(
                        sorted(strip_namespace(c["title"]) for c in page.get("categories", ()))
                    ),
                    hidden=flag(page.get("categoryinfo", {}), "hidden"),
                )
        except API_ERRORS as err:
            log.warning("category lookup failed, %d categories left unknown: %s", len(titles), err)
        return out
