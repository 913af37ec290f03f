"""Batched `action=query&prop=...` over titles, shared by file metadata and category lookups.

Both ask about many pages at once (50 titles per request, the limit without the bot
flag's apihighlimits), and both can be continued when a page has more categories than
one answer holds; pywikibot's PropertyGenerator merges those continuations per page.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pywikibot
from pywikibot.data.api import PropertyGenerator

API_ERRORS = (pywikibot.exceptions.Error, OSError)
"""What a failed API call raises once pywikibot's own retries are spent: its errors, and
connection errors (OSError covers requests' and the built-in ConnectionError)."""


def query_pages(
    site: pywikibot.site.APISite,
    prop: str,
    titles: Sequence[str],
    batch: int,
    **parameters: str | int,
) -> Iterator[dict]:
    """Page dicts (formatversion 2) for `titles`, `batch` titles per request.

    A title the wiki normalises (underscores, first letter) comes back under its
    normalised name; the dict keeps the title as the wiki spells it.
    """
    for start in range(0, len(titles), batch):
        chunk = titles[start : start + batch]
        gen = PropertyGenerator(
            prop, site=site, parameters={"titles": "|".join(chunk), **parameters}
        )
        yield from gen


def flag(data: dict, key: str) -> bool:
    """A boolean field of an API answer: formatversion 1 marks true as a present empty
    string ("missing": ""), formatversion 2 as true; absent or false means false."""
    return data.get(key, False) is not False
