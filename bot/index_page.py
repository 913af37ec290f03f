"""The index page at the prefix itself: what the bot is, and one line per topic page.

Each line links a topic's worklist with three numbers: suggestions new this week,
suggestions awaiting review, and the reviewed precision (the share of reviewed
suggestions of that label that reviewers accepted, with its 95 % interval). It comes from the
review tool's store methods, passed in as `review_counts` ({label: (accepted,
rejected)}); until reviews exist it reads "–". Files for which the model suggested
nothing are counted here, so no upload silently disappears.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.precision import wilson_interval
from bot.report import NEEDS_CATEGORIES, ReportPage, topic_page_title
from bot.store import LabelCounts
from classifier.taxonomy import Taxonomy

NO_VALUE = "–"


def precision_cell(counts: tuple[int, int] | None) -> str:
    """ "90% (9 of 10; 60-98%)": the share, its counts and its 95 % Wilson interval, so a
    WikiProject can tell a measured precision from a lucky start."""
    if not counts or sum(counts) == 0:
        return NO_VALUE
    accepted, rejected = counts
    reviewed = accepted + rejected
    low, high = wilson_interval(accepted, reviewed)
    return f"{accepted / reviewed:.0%} ({accepted} of {reviewed}; {low:.0%}-{high:.0%})"


def render_index(
    prefix: str,
    taxonomy: Taxonomy,
    counts: Mapping[str, LabelCounts],
    unsuggested: int,
    review_counts: Mapping[str, tuple[int, int]] | None,
    flags_page: str | None,
    tool_url: str,
    held_back: Mapping[str, str] | None = None,
) -> ReportPage:
    links = [f"[[{prefix}/{NEEDS_CATEGORIES}|uploads that need categories]]"]
    if flags_page:
        links.append(f"[[{flags_page}|uploads flagged for a human look]]")
    if tool_url:
        links.append(f"[{tool_url} the review tool] (accept or reject suggestions)")
    lines = [
        "A bot looks at every new upload's thumbnail and suggests topics for it with a "
        "small image classifier, the visual counterpart of ORES. It never edits a file "
        "page: it lists its suggestions here, one page per topic, for people to review, "
        "and marks the topics a file's own categories do not already imply. Watch the "
        "page of your topic to see its new files.",
        "",
        "See also: " + " · ".join(links) + ".",
        "",
        '{| class="wikitable"',
        "! Topic !! New this week !! Awaiting review !! Reviewed precision",
    ]
    for label in taxonomy.labels:
        c = counts.get(label, LabelCounts(0, 0))
        depth = len(taxonomy.ancestors(label))
        indent = "&nbsp;&nbsp;&nbsp;" * depth
        link = f"[[{topic_page_title(prefix, label)}|{label}]]"
        name = f"'''{link}'''" if depth == 0 else indent + link
        reviewed = precision_cell(review_counts.get(label) if review_counts else None)
        if held_back and label in held_back:
            reviewed += f" – held back: {held_back[label]}"
        lines += ["|-", f"| {name} || {c.new} || {c.awaiting} || {reviewed}"]
    lines += [
        "|}",
        "",
        f"{unsuggested} classified upload(s) got no topic: the model was not sure enough "
        "of any.",
    ]
    return ReportPage(title=prefix, text="\n".join(lines), pending_ids=())
