"""Edit count, registration date and rights of accounts, 50 names per request.

`list=users&usprop=editcount|registration|rights` answers for many accounts at once, so a
pass asks once per batch of uploads rather than once per file. What it says is the
account as it is now, not at upload time; for a pass that runs minutes after the
upload the difference is the edits made since, which only makes an account look
older. An IP, an unknown name or a failed request gives no entry: the new-account
signal then does not fire (bot.flag_signals.is_new_account).
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import UTC, datetime

import pywikibot
from pywikibot.data.api import ListGenerator

from bot.flag_signals import Account
from bot.wiki_query import API_ERRORS, flag

log = logging.getLogger(__name__)


def parse_account(entry: dict) -> Account | None:
    """One `list=users` entry; None for a missing or invalid (IP) name."""
    if flag(entry, "missing") or flag(entry, "invalid") or "editcount" not in entry:
        return None
    registered = entry.get("registration")
    return Account(
        name=entry["name"],
        edits=int(entry["editcount"]),
        rights=frozenset(entry.get("rights", ())),
        registered=None
        if not registered
        else datetime.strptime(registered, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC),
    )


def fetch_accounts(
    site: pywikibot.site.APISite, names: Collection[str], batch: int = 50
) -> dict[str, Account]:
    """Accounts by name for those of `names` the wiki knows; a failed request leaves its
    batch out (logged) rather than failing the pass."""
    names = sorted({n for n in names if n})
    out: dict[str, Account] = {}
    for start in range(0, len(names), batch):
        chunk = names[start : start + batch]
        try:
            entries = list(
                ListGenerator(
                    "users",
                    site=site,
                    parameters={
                        "ususers": "|".join(chunk),
                        "usprop": "editcount|registration|rights",
                    },
                )
            )
        except API_ERRORS as err:
            log.warning("reading %d uploader accounts failed: %s", len(chunk), err)
            continue
        for entry in entries:
            account = parse_account(entry)
            if account is not None:
                out[account.name] = account
    return out
