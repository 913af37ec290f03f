"""The flags page as wikitext, rendered from the active flags alone.

One page, strongest tier first, then the highest score, then the newest upload (the
store streams the listed flags in that order, `Store.listed_flags`). Each row shows
what a patroller needs to decide: the file, the uploader, the upload time, the tier,
the total score and every reason with its points. Files are linked, not embedded, by
default: an embedded thumbnail makes the wiki list the flags page under the file's
"File usage", a public stigma on what is often a good-faith upload; the review tool,
when there is one, shows the thumbnail instead (`[flags] embed_thumbnails` brings the
thumbnails back for a wiki that prefers them). At most `per_uploader_cap` rows per
uploader: one person's batch of fifty similar uploads must not push everyone else off
the page, so the rest are counted under the table instead. At most MAX_ROWS rows in
all: the rest are counted, not kept, so the page and the memory it takes stay the same
size however many flags the store holds. Like the topic report, the text is a pure
function of its rows, so an unchanged store makes no edit.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.flag_score import TIERS
from bot.report import PageStyle, review_link
from bot.store import FLAG_KEPT, FlagRow
from bot.wikitext import file_link, inert, uploader_links, uploads_link, user_link

THUMB_WIDTH = 120
PIPE_OUTSIDE_LINKS = re.compile(r"\|(?![^\[]*\]\])")


def _cell(text: str) -> str:
    """Keep table syntax intact whatever a reason contains: a "|" is escaped unless it
    separates a link from its label (the names in reasons are made inert where the
    signal writes them, bot.wikitext)."""
    return PIPE_OUTSIDE_LINKS.sub("&#124;", text).replace("\n", " ")


MAX_ROWS = 300
"""Rows on the flags page: a patroller works from the top, and each row may embed a
thumbnail."""


@dataclass
class FlagsPage:
    """What the flags page lists, and how many listed flags it only counts."""

    cap: int  # rows per uploader
    listed: list[FlagRow] = field(default_factory=list)
    more: Counter = field(default_factory=Counter)  # uploader -> flags over the cap
    unshown: int = 0  # flags within the cap but past MAX_ROWS


def capped(rows: Iterable[FlagRow], cap: int, max_rows: int = MAX_ROWS) -> FlagsPage:
    """The rows to list, from `rows` in report order (Store.listed_flags), at most `cap`
    per uploader, so the cap hides an uploader's least risky files, never the riskiest,
    and at most `max_rows` in all; the others are counted."""
    page = FlagsPage(cap)
    shown: Counter = Counter()
    for row in rows:
        if shown[row.uploader] >= cap:
            page.more[row.uploader] += 1
        elif len(page.listed) < max_rows:
            shown[row.uploader] += 1
            page.listed.append(row)
        else:
            page.unshown += 1
    return page


def render_flags_page(
    page: FlagsPage, review_page: str, embed: bool = False, tool_url: str = ""
) -> str:
    """The page's wikitext: files linked (with the review tool's link when `tool_url` is
    set), or with embedded thumbnails when `embed`."""
    listed, more = page.listed, page.more
    tool = PageStyle(prefix="", max_bytes=0, max_files=0, tool_url=tool_url)
    lines = [
        "Uploads that may deserve a human look, listed by a bot with its reasons. A flag is "
        "not a verdict: nothing here has been checked by a person, and the bot never acts "
        "on a file. Tiers are named like ORES' review filters; the score is the sum of the "
        "points of the reasons shown.",
        "",
        "To settle a flag, add a line <code><nowiki>* [[:File:Name.jpg]] fine: why</nowiki>"
        "</code> or <code><nowiki>* [[:File:Name.jpg]] not fine: why</nowiki></code> to "
        f"[[{review_page}]]; lines count from accounts with the patrol or autopatrol right. "
        "A fine file is withdrawn at the bot's next run; a file found not fine stays listed "
        "with the reviewer's name. Flags of deleted files are withdrawn too.",
        "",
    ]
    if not listed:
        lines.append("No active flags.")
    for tier in TIERS:
        tier_rows = [r for r in listed if r.tier == tier]
        if not tier_rows:
            continue
        lines += [
            f"== {tier[0].upper()}{tier[1:]} ==",
            '{| class="wikitable"',
            ("! Image !! " if embed else "! ")
            + "File !! Uploader !! Uploaded !! Tier !! Score !! Reasons",
        ]
        for row in tier_rows:
            reasons = "<br />".join(_cell(f"{s.reason} ({s.points:+g})") for s in row.signals)
            if row.state == FLAG_KEPT:
                reasons += f"<br />'''not fine''', per {user_link(row.reviewed_by)}"
            image = f"[[{row.title}|{THUMB_WIDTH}px|{inert(row.title)}]] || " if embed else ""
            lines += [
                "|-",
                f"| {image}{file_link(row.title)}{review_link(tool, row.title)} || "
                f"{uploader_links(row.uploader)} || {row.uploaded_at} || {row.tier} || "
                f"{row.score:g} || {reasons}",
            ]
        lines += ["|}", ""]
    if page.unshown:
        lines += [f"{page.unshown} more flags are not listed (at most {len(listed)} rows).", ""]
    if more:
        lines.append(f"Not listed here (at most {page.cap} per uploader):")
        lines += [
            f"* {n} more by {user_link(user)}: {uploads_link(user)}"
            for user, n in sorted(more.items(), key=lambda kv: str(kv[0]))
        ]
    return "\n".join(lines).rstrip()  # MediaWiki drops trailing newlines on save
