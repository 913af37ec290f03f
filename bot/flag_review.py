"""Keeping the flags page honest: withdraw what reviewers cleared or the wiki deleted,
then publish what is left.

How a reviewer clears a flag: add a line that links the file to the review page
(`[flags] review_page`, by default `<prefix>/Flags/Reviewed`), for example

    * [[:File:Example.jpg]] fine: own work, EXIF checked ~~~~

Every link to a file on that page counts; the rest of the line is for people. The bot
only ever reads that page. A flag cleared there becomes `fine` and is never listed
again, even if the line is later removed: a reviewer's judgement is not undone by a
page edit. On Commons the page should be semi-protected, since an uploader could
otherwise clear their own files. A flag whose file no longer exists becomes `deleted`;
its perceptual hash still counts for the near-duplicate signal, since re-uploading
deleted material is exactly what that signal is for.
"""

from __future__ import annotations

import logging
import re

import pywikibot

from bot.config import FlagsConfig
from bot.flags_report import render_flags_page
from bot.publisher import Publisher, PublishResult
from bot.report import ReportPage
from bot.store import FLAG_ACTIVE, FLAG_DELETED, FLAG_FINE, Store
from bot.wiki_query import API_ERRORS, flag, query_pages

log = logging.getLogger(__name__)

FILE_LINK = re.compile(r"\[\[\s*:?\s*(?:file|image)\s*:\s*([^\]|#\n]+)", re.IGNORECASE)


def file_title(name: str) -> str:
    """A file name as a link writes it -> the title as the wiki spells it (spaces,
    first letter upper case, the File namespace)."""
    name = " ".join(name.replace("_", " ").split())
    return f"File:{name[:1].upper()}{name[1:]}"


def reviewed_titles(text: str) -> set[str]:
    """Files linked from the review page's wikitext."""
    return {file_title(m.group(1)) for m in FILE_LINK.finditer(text) if m.group(1).strip()}


def missing_titles(site: pywikibot.site.APISite, titles: list[str], batch: int = 50) -> set[str]:
    """Which of `titles` the wiki no longer has. A failed request answers "none" (and
    is logged): a flag is only withdrawn on the wiki's word."""
    try:
        return {
            page["title"]
            for page in query_pages(site, "info", titles, batch)
            if flag(page, "missing")
        }
    except API_ERRORS as err:
        log.warning("checking whether %d flagged files still exist failed: %s", len(titles), err)
        return set()


def read_review_page(site: pywikibot.site.APISite, title: str) -> str | None:
    """The review page's text ("" when it does not exist yet), None when unreadable."""
    try:
        page = pywikibot.Page(site, title)
        return page.text if page.exists() else ""
    except API_ERRORS as err:
        log.warning("reading the review page %s failed: %s", title, err)
        return None


def refresh_flags(
    store: Store, site: pywikibot.site.APISite, review_page: str, batch: int = 50
) -> dict[str, int]:
    """Withdraw active flags that a reviewer cleared or whose file is gone; returns how
    many of each."""
    active = [row.title for row in store.flag_rows((FLAG_ACTIVE,))]
    if not active:
        return {FLAG_FINE: 0, FLAG_DELETED: 0}
    text = read_review_page(site, review_page)
    fine = reviewed_titles(text) & set(active) if text else set()
    cleared = store.withdraw_flags(fine, FLAG_FINE)
    rest = [t for t in active if t not in fine]
    deleted = store.withdraw_flags(missing_titles(site, rest, batch), FLAG_DELETED) if rest else 0
    if cleared or deleted:
        log.info("flags withdrawn: %d found fine, %d deleted", cleared, deleted)
    return {FLAG_FINE: cleared, FLAG_DELETED: deleted}


def publish_flags(
    store: Store,
    publisher: Publisher,
    site: pywikibot.site.APISite,
    config: FlagsConfig,
    page_title: str,
    review_page: str,
    batch: int = 50,
) -> list[PublishResult]:
    """Withdraw what is settled, render the flags page from the active flags and hand it
    to the publisher (kill switch, {{nobots}}, prefix and dry run are its business)."""
    refresh_flags(store, site, review_page, batch)
    text = render_flags_page(store.flag_rows((FLAG_ACTIVE,)), review_page, config.per_uploader_cap)
    return publisher.publish([ReportPage(page_title, text, ())])
