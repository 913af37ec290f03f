"""The flags page as wikitext, rendered from the active flags alone.

One page, strongest tier first, newest upload first within a tier. Each row shows
what a patroller needs to decide without opening anything: the thumbnail, the file,
the uploader, the upload time, the tier, the total score and every reason with its
points. At most `per_uploader_cap` rows per uploader: one person's batch of fifty
similar uploads must not push everyone else off the page, so the rest are counted
under the table instead. Like the topic report, the text is a pure function of its
rows, so an unchanged store makes no edit.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from bot.flag_score import TIERS
from bot.store import FLAG_KEPT, FlagRow
from bot.wikitext import file_link, inert, uploader_links, uploads_link, user_link

THUMB_WIDTH = 120
PIPE_OUTSIDE_LINKS = re.compile(r"\|(?![^\[]*\]\])")


def _cell(text: str) -> str:
    """Keep table syntax intact whatever a reason contains: a "|" is escaped unless it
    separates a link from its label (the names in reasons are made inert where the
    signal writes them, bot.wikitext)."""
    return PIPE_OUTSIDE_LINKS.sub("&#124;", text).replace("\n", " ")


def capped(rows: Iterable[FlagRow], cap: int) -> tuple[list[FlagRow], Counter]:
    """The rows to list, in report order (strongest tier, then highest score, then newest
    upload), at most `cap` per uploader, so the cap hides an uploader's least risky
    files, never the riskiest; and how many more each capped uploader has."""
    order = {tier: i for i, tier in enumerate(TIERS)}
    newest = sorted(rows, key=lambda r: (r.uploaded_at, r.logid), reverse=True)
    ordered = sorted(newest, key=lambda r: (order.get(r.tier, len(TIERS)), -r.score))  # stable
    listed: list[FlagRow] = []
    more: Counter = Counter()
    shown: Counter = Counter()
    for row in ordered:
        if shown[row.uploader] < cap:
            shown[row.uploader] += 1
            listed.append(row)
        else:
            more[row.uploader] += 1
    return listed, more


def render_flags_page(rows: Iterable[FlagRow], review_page: str, cap: int) -> str:
    listed, more = capped(rows, cap)
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
            "! Image !! File !! Uploader !! Uploaded !! Tier !! Score !! Reasons",
        ]
        for row in tier_rows:
            reasons = "<br />".join(_cell(f"{s.reason} (+{s.points:g})") for s in row.signals)
            if row.state == FLAG_KEPT:
                reasons += f"<br />'''not fine''', per {user_link(row.reviewed_by)}"
            lines += [
                "|-",
                f"| [[{row.title}|{THUMB_WIDTH}px|{inert(row.title)}]] || "
                f"{file_link(row.title)} || "
                f"{uploader_links(row.uploader)} || {row.uploaded_at} || {row.tier} || "
                f"{row.score:g} || {reasons}",
            ]
        lines += ["|}", ""]
    if more:
        lines.append(f"Not listed here (at most {cap} per uploader):")
        lines += [
            f"* {n} more by {user_link(user)}: {uploads_link(user)}"
            for user, n in sorted(more.items(), key=lambda kv: str(kv[0]))
        ]
    return "\n".join(lines).rstrip()  # MediaWiki drops trailing newlines on save
