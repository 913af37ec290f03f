"""Learning which files the wiki deleted, so that they leave every worklist page.

The delete log (`list=logevents&letype=delete`, File namespace) is read from a stored
cursor, oldest first, like the upload log: one request covers hundreds of deletions,
whatever the number of files the pages show. Each deletion marks the uploads of that
title made before it (a later re-upload under the same name is a new file) and
withdraws their suggestions that nobody has reviewed; the store keeps the rows. The
first run starts at the oldest upload the store holds. A log that cannot be read is
reported and tried again at the next publish, from the same cursor.
"""

from __future__ import annotations

import itertools
import logging

import pywikibot

from bot.store import DELETIONS_CURSOR, Cursor, Store

FILE_NAMESPACE = 6
CHUNK = 500  # deletions recorded per transaction

log = logging.getLogger(__name__)


def learn_deletions(site: pywikibot.site.APISite, store: Store) -> int:
    """Record the file deletions logged since the cursor; returns how many of them were
    files the store knew. Raises the API's errors (the caller reports them)."""
    after = store.cursor(DELETIONS_CURSOR)
    if after is None:
        oldest = store.oldest_upload()
        if oldest is None:
            return 0
        after = Cursor(oldest, 0)
    events = (
        entry
        for entry in site.logevents(
            logtype="delete", start=after.timestamp, reverse=True, namespace=FILE_NAMESPACE
        )
        if entry.action() == "delete"
        and not Cursor(entry.timestamp().isoformat(), entry.logid()) <= after
    )
    known = 0
    while chunk := list(itertools.islice(events, CHUNK)):
        last = chunk[-1]
        known += store.mark_deleted(
            ((e.data.get("title", ""), e.timestamp().isoformat()) for e in chunk),
            Cursor(last.timestamp().isoformat(), last.logid()),
        )
    if known:
        log.info("%d deleted file(s) leave the worklists", known)
    return known
