"""The only place the bot writes: report pages, under its rules, or to local files.

A page is saved only when all of these hold: its title is the configured prefix (the
index page) or lies under it; the kill-switch page (`User:<bot>/Run` by default), read
again before every save, says exactly `true` (surrounding spaces and newlines aside: not
`True`, not `true` and a no-break space) AND its last editor holds one of the configured
rights, so anyone can stop the bot but only a trusted account can start it again; and
the text differs from what is there. Every save has the configured summary and the bot
flag; a worklist's summary also says what changed ("+12 files, -3 deleted, -5 dropped":
dropped ones were reviewed or left the rolling window). In a dry run the same text goes
to a local file and no write request is made at all. A save the wiki refuses (a size
limit, a protection, an abuse filter) is a result with status `error` and the kind of
refusal, which `--once` counts as an error and turns into a non-zero exit status.

`{{nobots}}` and `{{bots|deny=...}}` (pywikibot's `botMayEdit`) on the bot's own pages
under its prefix are overwritten, with a warning that names who added them: the pages
are the bot's output, and a vandal must not be able to freeze them (the kill switch
is how people stop the bot). The bot never writes outside its prefix at all.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pywikibot

from bot.config import TRUSTED_RIGHTS
from bot.page_history import recent_revisions, trusted_users
from bot.report import PageStyle, ReportPage, shown_files
from bot.store import Store
from bot.wiki_query import API_ERRORS
from bot.worklists import render_worklists
from classifier.taxonomy import Taxonomy

FAILURES = ("error", "outside_prefix")
"""Statuses of a page that should have been saved and was not (the kill switch and
{{nobots}} are people's decisions, not failures)."""

log = logging.getLogger(__name__)


def kill_switch_says_run(text: str) -> bool:
    """The kill-switch page allows publishing only when it says exactly `true`, give or
    take ASCII spaces and line breaks around it."""
    return text.strip(" \t\r\n") == "true"


def under_prefix(title: str, prefix: str) -> bool:
    """Whether a page title lies below the prefix (the prefix page itself does not)."""
    return title.startswith(prefix.rstrip("/") + "/")


def owned(title: str, prefix: str) -> bool:
    """The pages the bot may write: the prefix page itself (the index) and those below."""
    return title == prefix.rstrip("/") or under_prefix(title, prefix)


def error_kind(err: Exception) -> str:
    """A short name for why a save failed, from pywikibot's exception class:
    LockedPageError -> page_save_locked_page; its plain Error (a size limit, for one),
    which pywikibot wraps in OtherPageSaveError, -> page_save_refused."""
    if isinstance(err, pywikibot.exceptions.OtherPageSaveError) and isinstance(
        err.reason, Exception
    ):
        err = err.reason
    name = type(err).__name__.removesuffix("Error")
    return "page_save_" + (re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower() or "refused")


def change_summary(
    base: str, old: Collection[str], new: Collection[str], deleted: Collection[str]
) -> str:
    """The edit summary of a worklist: how many files came and went, and why."""
    added = len(set(new) - set(old))
    removed = set(old) - set(new)
    gone = len(removed & set(deleted))
    parts = [f"+{added} files"] if added else []
    if gone:
        parts.append(f"-{gone} deleted")
    if len(removed) - gone:
        parts.append(f"-{len(removed) - gone} dropped")
    return f"{base}: {', '.join(parts)}" if parts else base


@dataclass(frozen=True)
class PublishResult:
    """What happened to one page: saved, unchanged, written (dry run) or a skip reason."""

    title: str
    status: str  # saved | unchanged | written | outside_prefix | kill_switch | error
    detail: str = ""
    kind: str = ""  # for a failure: its kind in the run's summary (error_kind)

    @property
    def written(self) -> bool:
        return self.status in ("saved", "written")


class Publisher:
    def __init__(
        self,
        site: pywikibot.site.APISite | None,
        prefix: str,
        kill_switch_page: str,
        summary: str,
        dry_run: bool,
        output_dir: Path,
        deleted_among: Callable[[Collection[str]], set[str]] | None = None,
        kill_switch_rights: tuple[str, ...] = TRUSTED_RIGHTS,
    ):
        self.site = site
        self.deleted_among = deleted_among  # which titles are known deleted (summaries)
        self.prefix = prefix.rstrip("/")
        self.kill_switch_page = kill_switch_page
        self.kill_switch_rights = kill_switch_rights
        self.summary = summary
        self.dry_run = dry_run
        self.output_dir = output_dir

    def publish(self, pages: Iterable[ReportPage]) -> list[PublishResult]:
        pages = list(pages)
        if not pages:
            return []
        if self.dry_run:
            return [self._write_local(p) for p in pages]
        return [self._save_if_allowed(p) for p in pages]

    def _save_if_allowed(self, page: ReportPage) -> PublishResult:
        """The kill switch is read before every save: an operator's stop takes effect
        between two pages, not after the whole set."""
        allowed, why = self._kill_switch_allows()
        if not allowed:
            log.warning("not publishing %s: %s", page.title, why)
            return PublishResult(page.title, "kill_switch", why)
        return self._save(page)

    def local_path(self, title: str) -> Path:
        return self.output_dir / (re.sub(r"[^\w.-]+", "_", title) + ".wiki")

    def _write_local(self, page: ReportPage) -> PublishResult:
        path = self.local_path(page.title)
        if path.is_file() and path.read_text(encoding="utf-8") == page.text:
            return PublishResult(page.title, "unchanged", str(path))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(page.text, encoding="utf-8")
        log.info("dry run: wrote %s to %s", page.title, path)
        return PublishResult(page.title, "written", str(path))

    def _kill_switch_allows(self) -> tuple[bool, str]:
        page = self.kill_switch_page
        try:
            latest = recent_revisions(self.site, page, 1)
            if not latest or not kill_switch_says_run(latest[0].text):
                return False, f"{page} does not say 'true'"
            editor = latest[0].user
            if editor not in trusted_users(self.site, [editor], self.kill_switch_rights):
                rights = " or ".join(self.kill_switch_rights)
                return False, f"{page} was last edited by {editor}, who has no {rights} right"
        except API_ERRORS as err:
            return False, f"cannot read the kill switch {page}: {err}"
        return True, ""

    def _save(self, report: ReportPage) -> PublishResult:
        page = pywikibot.Page(self.site, report.title)
        title = page.title()
        if not owned(title, self.prefix):
            return PublishResult(
                title, "outside_prefix", f"not under {self.prefix}/", "page_outside_prefix"
            )
        try:
            if page.exists() and not page.botMayEdit():
                log.warning(
                    "overwriting {{nobots}} on the bot's own page %s (last edited by %s)",
                    title,
                    page.latest_revision.user,
                )
            if page.exists() and page.text.rstrip() == report.text.rstrip():
                return PublishResult(title, "unchanged")
            summary = self._summary(report, page.text if page.exists() else "")
            page.text = report.text
            # force: pywikibot would refuse a page with {{nobots}}; this one is the bot's own
            page.save(summary=summary, bot=True, minor=False, quiet=True, force=True)
        except API_ERRORS as err:
            log.error("saving %s failed: %s", title, err)
            return PublishResult(title, "error", str(err) or type(err).__name__, error_kind(err))
        log.info("saved %s", title)
        return PublishResult(title, "saved")


    def _summary(self, report: ReportPage, old_text: str) -> str:
        if report.files is None:
            return self.summary
        removed = shown_files(old_text) - set(report.files)
        deleted = self.deleted_among(removed) if self.deleted_among and removed else set()
        return change_summary(self.summary, shown_files(old_text), report.files, deleted)


def publish_from_store(
    store: Store,
    publisher: Publisher,
    taxonomy: Taxonomy,
    style: PageStyle,
    flags_page: str | None,
    now: datetime,
    held_back: Mapping[str, str] | None = None,
    model_version: str | None = None,
) -> list[PublishResult]:
    """Render every worklist page and publish it; once a page is on the wiki (saved, or
    already identical), the pending suggestions it shows become published. Labels in
    `held_back` (label -> reason: reviewers rejected too many of `model_version`'s
    suggestions) list no files."""
    pages = render_worklists(store, taxonomy, style, flags_page, now, held_back or {},
                             model_version)
    results = publisher.publish(pages)
    if not publisher.dry_run:
        for page, result in zip(pages, results, strict=True):
            if result.status in ("saved", "unchanged"):
                store.set_state(page.pending_ids, "published")
    return results
