"""Links into the wiki the bot reads: file pages, user pages and thumbnails.

The bot does not store thumbnail URLs (a wiki may re-render them at will), so the
gallery asks the wiki for one through Special:FilePath with a width: MediaWiki answers
with a redirect to a thumbnail of that width, the same one Special:NewFiles shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlencode

from bot.config import WikiConfig


@dataclass(frozen=True)
class WikiLinks:
    index_url: str  # the wiki's index.php

    @classmethod
    def from_config(cls, wiki: WikiConfig) -> WikiLinks:
        """index.php next to the configured api.php; else the pywikibot family's wiki
        (Commons for "commons", https://<code>.<family>.org otherwise)."""
        if wiki.api_url:
            return cls(wiki.api_url.removesuffix("api.php") + "index.php")
        if wiki.family == "commons":
            return cls("https://commons.wikimedia.org/w/index.php")
        return cls(f"https://{wiki.code}.{wiki.family}.org/w/index.php")

    def page(self, title: str) -> str:
        return f"{self.index_url}?{urlencode({'title': title.replace(' ', '_')})}"

    def user(self, name: str) -> str:
        return self.page(f"User:{name}")

    def thumb(self, title: str, width: int) -> str:
        name = title.split(":", 1)[1].replace(" ", "_")
        return f"{self.index_url}?title=Special:FilePath/{quote(name)}&width={width}"
