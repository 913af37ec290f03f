"""The live category graph: parents of Commons categories, asked of the wiki, cached.

This is the bot's back-end of `classifier.category_graph.CategoryGraph`. The heuristic
asks about a whole level of its walk at once; this answers from the store's cache
first and asks the wiki only for the rest, 50 category pages per request with
`prop=categories|categoryinfo`: parents without hidden ones (`clshow=!hidden`, as the
heuristic ignores them anyway), whether the category itself is hidden (categoryinfo's
`hidden`), and whether its page exists (a red link is a state of its own). Category
trees change slowly, so answers are cached for a configurable time; a request that
fails leaves its categories UNKNOWN (and uncached) rather than failing the file.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import timedelta

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
        missing = [t for t in wanted if t not in found]
        if missing:
            fetched = self._fetch(missing)
            self.store.cache_categories(fetched)
            found.update(fetched)
        return {t: found.get(t, UNKNOWN) for t in titles}

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
