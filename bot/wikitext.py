"""Names and titles on the bot's pages and in its logs, shown as themselves.

A file title or a user name is chosen by whoever uploads or registers it, and may hold
wiki markup that is legal in a title (`Five'''''tiny.png` would turn the rest of a
table row bold) or Unicode direction controls (a right-to-left override flips the
text after it). On a page, each name is the target of its link, which the wiki
treats literally, and its label is wrapped in `<nowiki>` (markup shown as typed) and
`<bdi>` (its direction isolated from the row around it). In a log line, direction
controls are written as escapes.
"""

from __future__ import annotations

import re

DIRECTION_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
NOT_IN_TITLES = re.compile(r"[\[\]{}|#<>\n]")


def inert(text: str) -> str:
    """`text` as a page shows it: no markup, no entities, its direction isolated."""
    return f"<bdi><nowiki>{text.replace('&', '&amp;')}</nowiki></bdi>"


def _link(target: str, label: str) -> str:
    """A link labelled inert; only the label for a target no title could be."""
    return inert(label) if NOT_IN_TITLES.search(target) else f"[[{target}|{inert(label)}]]"


def file_link(title: str) -> str:
    """A link to a file page ("File:..."), labelled with the title as it is."""
    return _link(f":{title}", title)


def user_link(name: str | None) -> str:
    """A link to a user page, labelled with the name as it is; "?" when unknown."""
    return _link(f"User:{name}", name) if name else "?"


def for_log(text: str) -> str:
    """`text` for a log line: direction controls as visible escapes."""
    return DIRECTION_CONTROLS.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def uploader_links(name: str | None) -> str:
    """An uploader as a patroller wants them: the user page, talk and contributions."""
    if not name:
        return "?"
    talk = _link(f"User talk:{name}", "talk")
    contributions = _link(f"Special:Contributions/{name}", "contributions")
    return f"{user_link(name)} ({talk} · {contributions})"


def uploads_link(name: str | None) -> str:
    """A link to everything `name` uploaded (Special:ListFiles)."""
    return _link(f"Special:ListFiles/{name}", "their uploads") if name else ""
