"""Where the work comes from: the upload log, oldest first, after the stored cursor.

The upload log (not recent changes, not allimages) is the record of every upload,
re-upload and revert, in (timestamp, log id) order. MediaWiki's `lestart` is inclusive
and has one-second resolution while many uploads share a second, so the pass asks from
the cursor's second and skips what is at or before the cursor's log id.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pywikibot

from bot.store import Cursor


@dataclass(frozen=True)
class Upload:
    """One upload log event."""

    logid: int
    timestamp: str  # "2024-05-01T12:00:00Z"
    title: str  # with the namespace: "File:Example.jpg"
    user: str | None
    action: str  # upload, overwrite or revert

    @property
    def cursor(self) -> Cursor:
        return Cursor(self.timestamp, self.logid)


def start_cursor(since: str | None, lookback_hours: float, now: datetime | None = None) -> Cursor:
    """The cursor of a first run: `--since`, or the configured look-back from now."""
    if since:
        return Cursor(pywikibot.Timestamp.fromISOformat(since).isoformat(), 0)
    start = (now or datetime.now(UTC)) - timedelta(hours=lookback_hours)
    return Cursor(start.strftime("%Y-%m-%dT%H:%M:%SZ"), 0)


def new_uploads(site: pywikibot.site.APISite, after: Cursor) -> Iterator[Upload]:
    """Uploads strictly after `after`, oldest first (the log is read lazily, in pages)."""
    for entry in site.logevents(logtype="upload", start=after.timestamp, reverse=True):
        upload = Upload(
            logid=entry.logid(),
            timestamp=entry.timestamp().isoformat(),
            title=entry.data.get("title", ""),
            user=entry.data.get("user"),
            action=entry.action(),
        )
        if upload.cursor <= after:
            continue
        yield upload
