"""Worklist pages as wikitext: one gallery per topic, and the uploads that need categories.

A WikiProject watches the page of its topic (`<prefix>/Space`, `<prefix>/STEM`, leaf and
top-level alike): a `<gallery>` of the newest uploads the model suggests for it and
nobody has reviewed yet, newest first, each captioned with the topic and the score in
words, a mark when the file's own categories do not already imply the topic, the
uploader (a link to their contributions, which exists for every account) and a link
to the review tool. `<prefix>/Needs categories` shows the uploads that came without
any visible category, grouped by the top-level topic of their best suggestion, which
is where Commons' category backlog starts.

Every page is a rolling window: the store is asked only for the newest rows a page can
hold, and entries are added newest first until the configured byte budget would be
exceeded; older ones drop off the page (the store keeps them) and are counted under
the gallery. The text is a pure function of those rows, so an unchanged store renders
an unchanged page and the publisher makes no edit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from bot.store import ReportRow, UncategorizedFile
from bot.wikitext import inert
from classifier.taxonomy import Taxonomy

NEW_MARK = "'''new topic'''"
NEEDS_CATEGORIES = "Needs categories"

SCORE_WORDS = ((0.9, "almost certain"), (0.75, "very likely"), (0.5, "likely"), (0.0, "possible"))
"""The model's score (0-1) as a reviewer would say it; the percentage follows it."""

GALLERY_LINE = re.compile(r"^(File:[^|\n]+)\|", re.MULTILINE)


@dataclass(frozen=True)
class ReportPage:
    title: str
    text: str
    pending_ids: tuple[int, ...]  # pending suggestions shown: published once the page is saved
    files: tuple[str, ...] | None = None  # the files a worklist shows; None: not a worklist


@dataclass(frozen=True)
class PageStyle:
    """What every worklist page shares: where pages live, their budget, the tool."""

    prefix: str
    max_bytes: int
    max_files: int
    tool_url: str = ""  # the review tool; empty: captions have no review link


def topic_page_title(prefix: str, label: str) -> str:
    return f"{prefix}/{label}"


def shown_files(text: str) -> set[str]:
    """The files a worklist page's wikitext shows (one gallery line each)."""
    return set(GALLERY_LINE.findall(text))


def score_in_words(score: float) -> str:
    """ "very likely (82%)": the word is chosen from the percentage shown, so a score
    of 0.899 reads "almost certain (90%)", never "very likely (90%)"."""
    percent = round(score * 100)
    word = next(w for floor, w in SCORE_WORDS if percent >= floor * 100)
    return f"{word} ({percent}%)"


def user_link(name: str | None) -> str:
    """The uploader as a link that always works: user pages are often missing, an
    account's contributions never are. Names cannot hold | [ ] { } # < >, but may hold
    quote markup and direction controls: the label is inert (bot.wikitext)."""
    return f"[[Special:Contributions/{name}|{inert(name)}]]" if name else "unknown uploader"


def review_link(style: PageStyle, title: str, label: str | None = None) -> str:
    if not style.tool_url:
        return ""
    query = {"file": title.removeprefix("File:")}
    if label:
        query["topic"] = label
    sep = "&" if "?" in style.tool_url else "?"
    return f" · [{style.tool_url}{sep}{urlencode(query)} review]"


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def _fit(entries: Iterable[str], budget: int, limit: int) -> list[str]:
    """As many entries as fit in `budget` bytes (a newline each), in order, at most
    `limit`."""
    out: list[str] = []
    for entry in entries:
        cost = _size(entry) + 1
        if len(out) == limit or cost > budget:
            break
        out.append(entry)
        budget -= cost
    return out


def _gallery(lines: Sequence[str]) -> list[str]:
    return ["<gallery>", *lines, "</gallery>"] if lines else []


def topic_caption(row: ReportRow, style: PageStyle) -> str:
    new = f" · {NEW_MARK}" if row.adds_topic else ""
    return (
        f"{row.label}: {score_in_words(row.score)}{new} · {user_link(row.uploader)} · "
        f"{row.uploaded_at[:10]}{review_link(style, row.title, row.label)}"
    )


def render_topic_page(
    label: str,
    rows: Sequence[ReportRow],
    awaiting: int,
    taxonomy: Taxonomy,
    style: PageStyle,
    held_back: str | None = None,
) -> ReportPage:
    """One topic's worklist from its newest rows (newest first); `awaiting` is how many
    of its suggestions await review in all, so the page can say how many it leaves out;
    `held_back` is why the label lists nothing for now (reviewers rejected too many)."""
    title = topic_page_title(style.prefix, label)
    parent = taxonomy.parent(label)
    children = taxonomy.children(label)
    where = [f"[[{style.prefix}|all topics]]"]
    if parent:
        where.append(f"broader: [[{topic_page_title(style.prefix, parent)}|{parent}]]")
    if children:
        where.append(
            "narrower: "
            + ", ".join(f"[[{topic_page_title(style.prefix, c)}|{c}]]" for c in children)
        )
    head = [
        f"Newest uploads for which a machine suggests the topic '''{label}''', not yet "
        f"reviewed by a person, newest first. Each caption gives the suggested topic and "
        f"how sure the model is, {NEW_MARK} when the file's own categories do not already "
        "imply the topic, the uploader and the upload day. Older suggestions drop off this "
        "page; the bot keeps them.",
        "",
        " · ".join(where),
        "",
    ]
    tail_room = _size(_tail(awaiting, awaiting)) + _size("<gallery>\n</gallery>\n")
    budget = style.max_bytes - _size("\n".join(head)) - 1 - tail_room
    entries = _fit((f"{r.title}|{topic_caption(r, style)}" for r in rows), budget, style.max_files)
    shown = rows[: len(entries)]
    lines = head + _gallery(entries)
    if held_back:
        lines.append(f"Held back until the model changes: {held_back}.")
    elif not entries:
        lines.append("Nothing awaits review for this topic.")
    lines.append(_tail(awaiting - len(entries), awaiting))
    return ReportPage(
        title=title,
        text="\n".join(lines).rstrip(),  # MediaWiki drops trailing newlines on save
        pending_ids=tuple(r.suggestion_id for r in shown if r.state == "pending"),
        files=tuple(r.title for r in shown),
    )


def _tail(not_shown: int, total: int) -> str:
    if not_shown <= 0:
        return ""
    return f"\n{not_shown} older of {total} suggestions awaiting review are not shown here."


def _root(label: str, taxonomy: Taxonomy) -> str:
    ancestors = taxonomy.ancestors(label)
    return ancestors[-1] if ancestors else label


NO_SUGGESTION = "No topic suggested"


def uncategorized_caption(file: UncategorizedFile, taxonomy: Taxonomy, style: PageStyle) -> str:
    """The most specific suggested topics (a parent of another one adds nothing), best
    first, then the uploader and the day."""
    implied = {a for label, _ in file.suggestions for a in taxonomy.ancestors(label)}
    suggested = ", ".join(
        f"{label} {score_in_words(score)}"
        for label, score in file.suggestions
        if label not in implied
    )
    return (
        f"{('Suggested: ' + suggested) if suggested else 'no suggestion'} · "
        f"{user_link(file.uploader)} · {file.uploaded_at[:10]}"
        f"{review_link(style, file.title)}"
    )


def render_needs_categories(
    files: Sequence[UncategorizedFile], taxonomy: Taxonomy, style: PageStyle
) -> ReportPage:
    """Uploads without a visible category (newest first), one gallery per top-level topic
    of their best suggestion, then those with no suggestion."""
    title = f"{style.prefix}/{NEEDS_CATEGORIES}"
    head = [
        "Recent uploads that have no category (hidden maintenance categories do not "
        "count), grouped by the topic a machine suggests for them, newest first. Adding "
        "a category takes a file off this list at the next update.",
        "",
        f"[[{style.prefix}|All topics]]",
        "",
    ]
    sections = [*taxonomy.roots, NO_SUGGESTION]
    section_room = sum(_size(f"== {s} ==\n<gallery>\n</gallery>\n") for s in sections)
    budget = style.max_bytes - _size("\n".join(head)) - 1 - section_room
    entries = _fit(
        (f"{f.title}|{uncategorized_caption(f, taxonomy, style)}" for f in files),
        budget,
        style.max_files,
    )
    groups: dict[str, list[str]] = {s: [] for s in sections}
    for file, entry in zip(files, entries, strict=False):
        best = file.suggestions[0][0] if file.suggestions else None
        groups[_root(best, taxonomy) if best else NO_SUGGESTION].append(entry)
    lines = list(head)
    for section in sections:
        if groups[section]:
            lines += [f"== {section} ==", *_gallery(groups[section])]
    if not entries:
        lines.append("No recent upload lacks categories.")
    return ReportPage(
        title=title,
        text="\n".join(lines).rstrip(),
        pending_ids=(),
        files=tuple(f.title for f in files[: len(entries)]),
    )
