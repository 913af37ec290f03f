"""Keeping the flags page honest: apply what trusted reviewers said, withdraw what the
wiki deleted, then publish what is left.

How a reviewer settles a flag: on the review page (`[flags] review_page`, by default
`<prefix>/Flags/Reviewed`), a line that starts with a link to the flagged file and then
says `fine` or `not fine`, for example

    * [[:File:Example.jpg]] fine: own work, EXIF checked ~~~~
    * [[:File:Other.jpg]] not fine: copy of https://example.org/logo ~~~~

Everything after the verdict is for people. Lines in any other shape, and anything
inside `<!-- comments -->`, `<nowiki>` or `<pre>`, do not count, nor does a page that
is a redirect. `fine` withdraws the flag; `not fine` keeps it listed, with the reviewer
named.

Whose word counts: the bot reads the page's latest revisions with their authors, and
takes the newest revision saved by an account holding one of `[flags] review_rights`
(default `patrol` or `autopatrol`); later edits by anyone else, an IP or a new account,
change nothing until a trusted reviewer saves the page (whoever saves it vouches for
its lines). A line counts only for a file already flagged when that revision was
saved, so no one can clear a file ahead of its upload. The store records who reviewed
each flag and in which revision. If that revision is later reverted (a later revision
brings back the text from before it: an undo, a rollback, a manual revert) and the
trusted version no longer says the same, the flag is listed again; removing old lines
without a revert (archiving) changes nothing.

A flag whose file no longer exists becomes `deleted`; its perceptual hash still counts
for the near-duplicate signal, since re-uploading deleted material is exactly what that
signal is for.
"""

from __future__ import annotations

import logging
import re

import pywikibot

from bot.config import FlagsConfig
from bot.flag_score import TIERS
from bot.flags_report import FlagsPage, capped, render_flags_page
from bot.page_history import Revision, recent_revisions, reverted_revisions, trusted_users
from bot.publisher import Publisher, PublishResult
from bot.report import ReportPage
from bot.store import FLAG_DELETED, FLAG_FINE, FLAG_KEPT, FLAG_LISTED, FlagReview, Store
from bot.wiki_query import API_ERRORS, flag, query_pages

log = logging.getLogger(__name__)

REVISIONS_READ = 50
"""Revisions of the review page read per run: enough to find a trusted one under a
burst of vandalism, and to see recent reverts."""

INERT = re.compile(
    r"<!--.*?(?:-->|\Z)|<nowiki\s*>.*?(?:</nowiki\s*>|\Z)|<pre\s*>.*?(?:</pre\s*>|\Z)",
    re.IGNORECASE | re.DOTALL,
)
REDIRECT = re.compile(r"\s*#redirect\b", re.IGNORECASE)
REVIEW_LINE = re.compile(
    r"^\*+\s*\[\[\s*:?\s*(?:file|image)\s*:\s*([^\]|#\n]+?)\s*(?:\|[^\]\n]*)?\]\]"
    r"\s*[:,\-\u2013\u2014]?\s*(not\s+fine|fine)\b",
    re.IGNORECASE | re.MULTILINE,
)


def file_title(name: str) -> str:
    """A file name as a link writes it -> the title as the wiki spells it (spaces,
    first letter upper case, the File namespace)."""
    name = " ".join(name.replace("_", " ").split())
    return f"File:{name[:1].upper()}{name[1:]}"


def review_lines(text: str) -> dict[str, str]:
    """File title -> FLAG_FINE or FLAG_KEPT, from the review page's wikitext (the last
    line about a file wins)."""
    if REDIRECT.match(text):
        return {}
    verdicts = {}
    for match in REVIEW_LINE.finditer(INERT.sub("", text)):
        fine = match.group(2).lower() == "fine"
        verdicts[file_title(match.group(1))] = FLAG_FINE if fine else FLAG_KEPT
    return verdicts


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


def trusted_revisions(
    site: pywikibot.site.APISite, title: str, rights: tuple[str, ...]
) -> tuple[Revision | None, list[Revision]]:
    """The newest revision of the review page by a trusted account (None: none among
    the latest REVISIONS_READ, or unreadable), and the revisions read."""
    try:
        revisions = recent_revisions(site, title, REVISIONS_READ)
        trusted = trusted_users(site, {r.user for r in revisions}, rights)
    except API_ERRORS as err:
        log.warning("reading the review page %s failed: %s", title, err)
        return None, []
    stable = next((r for r in revisions if r.user in trusted), None)
    if revisions and stable is not None and stable is not revisions[0]:
        log.info(
            "review page: %d newer edit(s) by accounts without %s ignored",
            revisions.index(stable),
            " or ".join(rights),
        )
    return stable, revisions


def apply_reviews(
    store: Store, site: pywikibot.site.APISite, review_page: str, rights: tuple[str, ...]
) -> dict[str, int]:
    """Apply the trusted reviews and restore reverted ones; returns how many flags each
    changed. Reads only the flags the review page names."""
    stable, revisions = trusted_revisions(site, review_page, rights)
    verdicts = review_lines(stable.text) if stable else {}
    reverted = reverted_revisions(revisions)
    undone = [f for f in store.flags_reviewed_in(reverted) if verdicts.get(f.title) != f.state]
    restored = store.restore_flags([f.title for f in undone])
    reviewed = 0
    if stable is not None and verdicts:
        saved_at = stable.timestamp.replace(tzinfo=None)
        reviewed = store.review_flags(
            FlagReview(f.title, verdicts[f.title], stable.user, stable.revid)
            for f in store.flag_rows(FLAG_LISTED, titles=verdicts)
            if f.created_at is not None and f.created_at <= saved_at
        )
    return {"reviewed": reviewed, "restored": restored}


def flags_page(store: Store, cap: int) -> FlagsPage:
    """The rows the flags page shows, read from the store's stream of listed flags."""
    return capped(store.listed_flags(TIERS), cap)


def publish_flags(
    store: Store,
    publisher: Publisher,
    site: pywikibot.site.APISite,
    config: FlagsConfig,
    page_title: str,
    review_page: str,
    batch: int = 50,
    tool_url: str = "",
) -> list[PublishResult]:
    """Settle what reviewers and the wiki said, render the flags page from the listed
    flags (linking each file to the review tool at `tool_url`, if any) and hand it to
    the publisher (kill switch, {{nobots}}, prefix and dry run are
    its business). Only the files the page would show are checked for deletion: a
    deleted file further down is withdrawn when it comes up, and checking every listed
    flag would cost a request per fifty flags ever listed."""
    changed = apply_reviews(store, site, review_page, config.review_rights)
    page = flags_page(store, config.per_uploader_cap)
    listed = [row.title for row in page.listed]
    gone = missing_titles(site, listed, batch) if listed else set()
    changed[FLAG_DELETED] = store.withdraw_flags(gone, FLAG_DELETED)
    if changed[FLAG_DELETED]:
        page = flags_page(store, config.per_uploader_cap)
    if any(changed.values()):
        log.info(
            "flags: %d reviewed, %d restored after a revert, %d deleted",
            changed["reviewed"],
            changed["restored"],
            changed[FLAG_DELETED],
        )
    text = render_flags_page(page, review_page, config.embed_thumbnails, tool_url)
    return publisher.publish([ReportPage(page_title, text, ())])
