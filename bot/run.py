"""Command line: `python -m bot.run` (continuous) or `python -m bot.run --once`.

`--once` runs one pass over new uploads, publishes the worklist pages (or, in a dry run,
writes them to local files) and prints a one-line JSON summary as the last line of
standard output. A page the wiki refused to save is counted in the summary's
`errors` (`page_save_<kind>`) and makes the exit status 1, so a scheduled job's
failure is seen; every page's last attempt is also kept for `python -m bot.status`.
Without `--once`, APScheduler runs the pass every poll interval and the publishing on
its own interval, one job at a time (missed runs coalesced); SIGTERM
(Toolforge stopping or redeploying the job) lets the current file finish, then exits.
`--publish-only` saves the report pages from the store and exits: Toolforge's scheduled
report job, beside a continuous job configured not to publish.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pywikibot
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy.exc import SQLAlchemyError

from bot.category_parents import LiveCategoryGraph
from bot.category_recheck import CategoryRecheck
from bot.config import (
    DEFAULT_CONFIG,
    Config,
    ConfigError,
    find_config,
    page_titles,
    resolve_path,
)
from bot.deletions import learn_deletions
from bot.flag_review import publish_flags
from bot.publisher import FAILURES, Publisher, PublishResult, publish_from_store
from bot.record_promotion import record_installed
from bot.report import PageStyle
from bot.site import LoginError, expected_user, log_in, open_site
from bot.store import Store
from bot.thumbnails import ThumbnailFetcher
from bot.uncategorized import recheck_uncategorized
from bot.upload_pass import PassContext, PassSummary, run_pass
from bot.wiki_query import API_ERRORS
from classifier.category_heuristic import TopicHeuristic
from classifier.model import TopicModel

log = logging.getLogger("bot")

EXIT_PAGE_FAILED = 1  # a page could not be saved (2: configuration, 3: wiki unreachable)
ANONYMOUS_BOT = "TopicBot"  # stands in for {user} in page titles of an anonymous dry run
DELETE_LOG = "(delete log)"  # stands in for a page title when the delete log failed


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot.run",
        description="Suggest topics for new uploads of a MediaWiki (Wikimedia Commons by "
        "default) and publish them as report pages. The safe default configuration reads "
        "Commons and writes the reports to local files (dry run).",
        epilog="Credentials: BOT_USERNAME (a BotPassword name such as MyBot@topics) and "
        "BOT_PASSWORD in the environment, or pywikibot's own user files.",
    )
    parser.add_argument(
        "--config",
        type=Path,
        help=f"configuration file (default: ./{DEFAULT_CONFIG} if present, else built-in "
        "safe defaults)",
    )
    parser.add_argument(
        "--once", action="store_true", help="run one pass and publish, print a JSON summary"
    )
    parser.add_argument(
        "--publish-only",
        action="store_true",
        help="publish the report pages from the store and exit, without a pass (the "
        "scheduled report job on Toolforge); prints a JSON summary",
    )
    parser.add_argument(
        "--dry-run",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="write reports to local files and make no write request (default: from config)",
    )
    parser.add_argument("--limit", type=int, help="at most this many uploads per pass")
    parser.add_argument(
        "--since",
        help="first run only (no stored cursor): start at this time, e.g. 2024-05-01T00:00:00Z",
    )
    parser.add_argument("--api-url", help="any MediaWiki's api.php instead of the configured wiki")
    return parser


def read_config(args: argparse.Namespace) -> Config:
    config = find_config(args.config)
    overrides: dict = {}
    if args.dry_run is not None:
        overrides["dry_run"] = args.dry_run
    if args.limit is not None:
        if args.limit < 1:
            raise ConfigError("--limit must be at least 1")
        overrides["source.per_pass_limit"] = args.limit
    if args.api_url:
        overrides["wiki.api_url"] = args.api_url
    if args.since:
        try:
            pywikibot.Timestamp.fromISOformat(args.since)
        except ValueError:
            raise ConfigError(
                f"--since {args.since!r}: expected a time like 2024-05-01T00:00:00Z"
            ) from None
    return config.with_overrides(**overrides)


class Bot:
    """The parts of a run, wired once: site, store, model, heuristic, publisher."""

    def __init__(self, config: Config):
        self.config = config
        path = resolve_path(config.model.path) if config.model.path else None
        self.model = TopicModel.load(path)
        point = config.model.operating_point or self.model.default_operating_point
        if point not in self.model.operating_points:
            raise ConfigError(
                f"[model] operating_point {point!r} is not one of the model's: "
                f"{', '.join(self.model.operating_points)}"
            )
        # the pages are checked before any wiki request (dry runs too), with the name
        # the credentials give, and again with the name the wiki gives after login
        page_titles(config, expected_user() or ANONYMOUS_BOT)
        if not (config.store.url or config.store.host):
            resolve_path(config.store.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.store = Store(config.store_url())
        except (SQLAlchemyError, OSError) as err:
            raise ConfigError(f"[store] cannot open {config.store_url()}: {err}") from None
        if path is not None and record_installed(self.store, path):
            log.info("recorded the promotion of the installed model %s", self.model.version)
        self.site = open_site(config.wiki)
        user = log_in(self.site, required=not config.dry_run) or ANONYMOUS_BOT
        graph = LiveCategoryGraph(
            self.site,
            self.store,
            timedelta(hours=config.categories.cache_hours),
            batch=config.source.metadata_batch,
        )
        self.context = PassContext(
            site=self.site,
            store=self.store,
            model=self.model,
            operating_point=point,
            fetcher=ThumbnailFetcher(config.thumbnails, config.wiki.user_agent),
            topics=TopicHeuristic(graph, self.model.taxonomy),
            thumb_width=config.thumbnails.width,
            metadata_batch=config.source.metadata_batch,
            max_attempts=config.source.max_attempts,
            flags=config.flags if config.flags.enabled else None,
            training_log=config.training_log if config.training_log.enabled else None,
        )
        review = config.review
        self.recheck = (
            CategoryRecheck(
                self.site,
                self.store,
                self.context.topics,
                timedelta(days=review.recheck_days),
                review.recheck_per_pass,
                config.thumbnails.width,
                config.source.metadata_batch,
            )
            if review.recheck_days > 0
            else None
        )
        report = config.report
        pages = page_titles(config, user)
        self.publisher = Publisher(
            site=self.site,
            prefix=pages.prefix,
            kill_switch_page=pages.kill_switch,
            summary=report.summary,
            dry_run=config.dry_run,
            output_dir=resolve_path(report.output_dir),
            deleted_among=self.store.deleted_among,
            kill_switch_rights=report.kill_switch_rights,
        )
        self.style = PageStyle(
            prefix=self.publisher.prefix,
            max_bytes=report.page_max_bytes,
            max_files=report.page_max_files,
            tool_url=config.review.tool_url,
        )
        # the flags page: the same rules and switches as the topic report, its own summary
        self.flag_publisher = Publisher(
            site=self.site,
            prefix=self.publisher.prefix,
            kill_switch_page=self.publisher.kill_switch_page,
            summary=config.flags.summary,
            dry_run=config.dry_run,
            output_dir=self.publisher.output_dir,
            kill_switch_rights=report.kill_switch_rights,
        )
        self.flags_page = pages.flags
        self.review_page = pages.review
        log.info(
            "ready: %s as %s, model %s %s at %r, store %s, %s",
            self.site,
            user,
            self.model.name,
            self.model.version,
            point,
            config.store_url(),
            "DRY RUN (local files)" if config.dry_run else "publishing",
        )

    def run_pass(self, since: str | None = None) -> PassSummary:
        summary = run_pass(
            self.context,
            self.config.source.per_pass_limit,
            since,
            self.config.source.lookback_hours,
            PassSummary(dry_run=self.config.dry_run),
        )
        if self.recheck and not summary.stopped:
            self.recheck.run()  # the implicit review signal (bot.category_recheck)
        return summary

    def publish(self) -> list[PublishResult]:
        """Learn deletions and which listed files got categories since, then publish the
        flags page and the worklists; every page's result is kept in the store for the
        health check."""
        results: list[PublishResult] = []
        try:
            learn_deletions(self.site, self.store)
        except API_ERRORS as err:  # the pages are still published, deletions next time
            log.error("reading the delete log failed: %s", err)
            results.append(PublishResult(DELETE_LOG, "error", str(err), "delete_log_unreadable"))
        recheck_uncategorized(
            self.site, self.store, self.style.max_files, self.config.source.metadata_batch
        )
        if self.config.flags.enabled:  # first: the index links to the flags page
            results += publish_flags(
                self.store,
                self.flag_publisher,
                self.site,
                self.config.flags,
                self.flags_page,
                self.review_page,
                self.config.source.metadata_batch,
                self.style.tool_url,
            )
        review = self.config.review
        results += publish_from_store(
            self.store,
            self.publisher,
            self.model.taxonomy,
            self.style,
            self.flags_page if self.config.flags.enabled else None,
            datetime.now(UTC).replace(tzinfo=None),
            self.store.held_back_labels(
                review.precision_floor, review.min_reviews, self.model.version
            ),
            self.model.version,
        )
        self.store.record_page_saves(
            (r.title, r.status, r.detail) for r in results if r.title != DELETE_LOG
        )
        return results

    def once(self, since: str | None) -> PassSummary:
        summary = self.run_pass(since)
        if not summary.stopped:
            add_publish_results(summary, self.publish())
        return summary

    def forever(self, since: str | None) -> None:
        scheduler = BlockingScheduler(
            executors={"default": ThreadPoolExecutor(1)},  # pass and publish never overlap
            job_defaults={"max_instances": 1, "coalesce": True},
        )
        now = datetime.now()
        scheduler.add_job(
            lambda: self.run_pass(since),
            "interval",
            seconds=self.config.source.poll_interval_seconds,
            next_run_time=now,
            id="pass",
        )
        if self.config.report.publish_interval_seconds:  # 0: a separate job publishes
            scheduler.add_job(
                self.publish,
                "interval",
                seconds=self.config.report.publish_interval_seconds,
                next_run_time=now + timedelta(seconds=1),
                id="publish",
            )

        def stop(signum: int, _frame: object) -> None:
            log.info("signal %d: finishing the current file, then stopping", signum)
            self.context.stop.set()
            scheduler.shutdown(wait=True)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        scheduler.start()


def add_publish_results(summary: PassSummary, results: list[PublishResult]) -> None:
    """Pages written go to `pages_written` (local paths in a dry run); pages that should
    have been saved and were not go to `errors`, by kind, and fail the run."""
    summary.pages_written = [
        r.detail if r.status == "written" else r.title for r in results if r.written
    ]
    for r in results:
        if r.status in FAILURES:
            summary.errors[r.kind] += 1
            summary.publish_failed = True


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        config = read_config(args)
        bot = Bot(config)
    except (ConfigError, LoginError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except API_ERRORS as err:
        print(f"error: cannot reach the wiki: {err}", file=sys.stderr)
        return 3
    if args.publish_only:
        summary = PassSummary(dry_run=config.dry_run)
        add_publish_results(summary, bot.publish())
        out = {"pages_written": summary.pages_written, "errors": dict(summary.errors)}
        print(json.dumps({**out, "dry_run": config.dry_run}, sort_keys=True), flush=True)
        return EXIT_PAGE_FAILED if summary.publish_failed else 0
    if not args.once:
        bot.forever(args.since)
        return 0
    signal.signal(signal.SIGTERM, lambda signum, frame: bot.context.stop.set())
    summary = bot.once(args.since)
    print(json.dumps(summary.to_dict(), sort_keys=True), flush=True)
    return EXIT_PAGE_FAILED if summary.publish_failed else 0


if __name__ == "__main__":
    sys.exit(main())
