"""Who wrote a control page: its latest revisions with their authors, and which authors
hold a right that makes their word count.

The bot's controls (the kill switch, the review page of flags) are wiki pages that
anyone could edit; what they say counts only when it comes from an account holding a
configured right (by default `patrol` or `autopatrol`, which Commons gives to
patrollers and trusted uploaders). The rights are read with `list=users&usprop=rights`
(bot.uploader_info), so an IP, an unknown or hidden name, or a failed request is never
trusted.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime

import pywikibot

from bot.uploader_info import fetch_accounts


@dataclass(frozen=True)
class Revision:
    revid: int
    user: str | None  # None: hidden by an administrator
    timestamp: datetime  # aware, UTC
    text: str


def recent_revisions(site: pywikibot.site.APISite, title: str, limit: int) -> list[Revision]:
    """The page's latest `limit` revisions, newest first ([] when it does not exist).
    API errors propagate: the caller decides what an unreadable control means."""
    answer = site.simple_request(
        action="query",
        prop="revisions",
        titles=title,
        rvprop="ids|user|timestamp|content",
        rvslots="main",
        rvlimit=limit,
        formatversion=2,
    ).submit()
    pages = answer.get("query", {}).get("pages", [])
    if not pages:
        return []
    return [
        Revision(
            revid=int(r["revid"]),
            user=None if r.get("userhidden") else r.get("user"),
            timestamp=datetime.strptime(r["timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC),
            text=r.get("slots", {}).get("main", {}).get("content", ""),
        )
        for r in pages[0].get("revisions", [])
    ]


def reverted_revisions(revisions: list[Revision]) -> set[int]:
    """Revisions (of a newest-first list) that a later one undid: a later revision whose
    text is the text just before them, as an undo, a rollback or a manual revert leaves.
    (MediaWiki's own `mw-reverted` tag arrives later, from its job queue.)"""
    undone = set()
    for i, revision in enumerate(revisions[:-1]):
        before = revisions[i + 1].text
        if any(later.text == before for later in revisions[:i]):
            undone.add(revision.revid)
    return undone


def trusted_users(
    site: pywikibot.site.APISite, names: Collection[str | None], rights: Collection[str]
) -> set[str]:
    """Those of `names` whose account holds at least one of `rights`."""
    wanted = set(rights)
    accounts = fetch_accounts(site, [n for n in names if n])
    return {name for name, account in accounts.items() if account.rights & wanted}
