"""Report pages as wikitext, rendered from the store alone.

One page per upload day under the configured prefix (`<prefix>/2024-05-01`), with one
table per top-level topic of the taxonomy: each file, its suggested labels and scores,
its uploader and upload time. A label the file's own categories do not already imply
is marked as new, which is what a reviewer most wants to see. The text is a pure
function of the rows (no "generated at" stamp), so an unchanged store renders an
unchanged page and the publisher makes no edit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from bot.store import ReportRow
from bot.wikitext import file_link, user_link
from classifier.taxonomy import Taxonomy

NEW_MARK = "'''new'''"


@dataclass(frozen=True)
class ReportPage:
    title: str
    text: str
    pending_ids: tuple[int, ...]  # pending suggestions shown: published once the page is saved


def page_title(prefix: str, uploaded_at: str) -> str:
    return f"{prefix}/{uploaded_at[:10]}"


def pages_to_render(rows: Iterable[ReportRow], prefix: str) -> set[str]:
    """Titles of the pages that show at least one pending suggestion."""
    return {page_title(prefix, r.uploaded_at) for r in rows if r.state == "pending"}


def render_reports(
    rows: Iterable[ReportRow], prefix: str, taxonomy: Taxonomy, only: set[str] | None = None
) -> list[ReportPage]:
    """One page per upload day (restricted to the titles in `only` when given)."""
    by_page: dict[str, list[ReportRow]] = defaultdict(list)
    for row in rows:
        title = page_title(prefix, row.uploaded_at)
        if only is None or title in only:
            by_page[title].append(row)
    return [
        ReportPage(
            title=title,
            text=render_page(title.rsplit("/", 1)[1], page_rows, taxonomy),
            pending_ids=tuple(r.suggestion_id for r in page_rows if r.state == "pending"),
        )
        for title, page_rows in sorted(by_page.items())
    ]


def _root(label: str, taxonomy: Taxonomy) -> str:
    ancestors = taxonomy.ancestors(label)
    return ancestors[-1] if ancestors else label


def _cell(text: str) -> str:
    """Keep table syntax intact whatever a label contains."""
    return text.replace("|", "&#124;").replace("\n", " ")


def render_page(day: str, rows: list[ReportRow], taxonomy: Taxonomy) -> str:
    """The wikitext of one day's report."""
    # root topic -> file title -> its rows under that root, in upload order
    tables: dict[str, dict[str, list[ReportRow]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        tables[_root(row.label, taxonomy)][row.title].append(row)
    files = {r.title for r in rows}
    lines = [
        f"Topic suggestions for {len(files)} file(s) uploaded on {day}, made by a machine "
        f"and not reviewed. {NEW_MARK} marks a topic that the file's own categories do "
        "not already imply.",
        "",
    ]
    for root in taxonomy.roots:
        if root not in tables:
            continue
        lines += [
            f"== {root} ==",
            '{| class="wikitable sortable"',
            "! File !! Suggested topics !! Uploader !! Uploaded",
        ]
        for title, file_rows in tables[root].items():
            ordered = sorted(file_rows, key=lambda r: taxonomy.index(r.label))
            topics = ", ".join(
                f"{r.label} ({r.score:.2f}){' ' + NEW_MARK if r.adds_topic else ''}"
                for r in ordered
            )
            first = file_rows[0]
            lines += [
                "|-",
                f"| {file_link(title)} || {_cell(topics)} || {user_link(first.uploader)} || "
                f"{first.uploaded_at}",
            ]
        lines += ["|}", ""]
    return "\n".join(lines).rstrip()  # MediaWiki drops trailing newlines on save
