"""`python -m bot.status`: what the bot has done and whether it is healthy.

It prints the cursor, the lag behind the newest upload on the wiki, the outcomes of the
last hour and day, the last error and the model of the last pass, one fact per line on
standard output (what `toolforge jobs logs` shows best), and exits 1 when the bot is
unhealthy, so it serves as a health check and as a scheduled job whose failure mails the
maintainers:

- no pass has finished for longer than --max-pass-age (default: three poll intervals);
- the cursor is further than --max-lag behind the newest upload.

The store is read, never written (apart from the schema upgrade any start does). The
wiki is asked for its newest upload with one plain HTTP request and a short timeout: a
wiki that cannot be reached is reported as such, and the lag is then unknown, not a
failure (the pass-age check still catches a bot that has stopped working).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from pywikibot.family import Family

from bot.config import Config, ConfigError, find_config
from bot.store import Cursor, Store

EXIT_HEALTHY, EXIT_UNHEALTHY, EXIT_CONFIG = 0, 1, 2
TIMESTAMP = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class NewestUpload:
    """The newest upload log entry on the wiki, or why it is not known."""

    cursor: Cursor | None
    problem: str | None = None


def api_url(config: Config) -> str:
    """The configured api.php, or the one of the pywikibot family (no network needed)."""
    if config.wiki.api_url:
        return config.wiki.api_url
    family = Family.load(config.wiki.family)
    return family.base_url(config.wiki.code, family.apipath(config.wiki.code))


def newest_upload(config: Config, timeout: float = 10.0) -> NewestUpload:
    params = {
        "action": "query",
        "list": "logevents",
        "letype": "upload",
        "lelimit": "1",
        "leprop": "ids|timestamp",
        "format": "json",
        "formatversion": "2",
    }
    try:
        r = requests.get(
            api_url(config),
            params=params,
            headers={"User-Agent": config.wiki.user_agent + " status"},
            timeout=timeout,
        )
        r.raise_for_status()
        events = r.json()["query"]["logevents"]
    except (requests.RequestException, ValueError, KeyError) as err:
        return NewestUpload(None, f"wiki unreachable: {type(err).__name__}: {err}")
    if not events:
        return NewestUpload(None, "the wiki has no uploads")
    return NewestUpload(Cursor(events[0]["timestamp"], events[0]["logid"]))


def _seconds_between(earlier: str, later: str) -> float:
    parse = lambda ts: datetime.strptime(ts, TIMESTAMP)  # noqa: E731
    return (parse(later) - parse(earlier)).total_seconds()


def collect(config: Config, max_pass_age: float, max_lag: float, now: datetime) -> dict:
    """Everything the status shows, as a JSON-ready dict with `healthy` and `problems`."""
    store = Store(config.store_url())
    cursor = store.cursor()
    newest = newest_upload(config)
    last_pass = store.last_pass()
    error = store.last_error()
    problems: list[str] = []

    lag = None
    if cursor is not None and newest.cursor is not None:
        lag = (
            0.0
            if newest.cursor <= cursor
            else _seconds_between(cursor.timestamp, newest.cursor.timestamp)
        )
        if lag > max_lag:
            problems.append(f"lag {lag:.0f} s is over {max_lag:.0f} s")
    pass_age = None
    if last_pass is None:
        problems.append("no pass has finished yet")
    else:
        pass_age = (now - last_pass.finished_at).total_seconds()
        if pass_age > max_pass_age:
            problems.append(f"last pass finished {pass_age:.0f} s ago, over {max_pass_age:.0f} s")
    return {
        "store": str(config.store_url()),
        "cursor": None if cursor is None else vars(cursor),
        "newest_upload": None if newest.cursor is None else vars(newest.cursor),
        "wiki_problem": newest.problem,
        "lag_seconds": lag,
        "last_pass": None
        if last_pass is None
        else {
            "finished_at": last_pass.finished_at.strftime(TIMESTAMP),
            "seconds_ago": round(pass_age),
            "files_seen": last_pass.files_seen,
            "files_classified": last_pass.files_classified,
            "errors": last_pass.errors,
            "stopped": last_pass.stopped,
        },
        "outcomes_last_hour": store.outcomes(since=now - timedelta(hours=1)),
        "outcomes_last_day": store.outcomes(since=now - timedelta(days=1)),
        "last_error": None
        if error is None
        else {
            "title": error.title,
            "outcome": error.outcome,
            "error": error.error,
            "at": error.processed_at.strftime(TIMESTAMP),
        },
        "model": None
        if last_pass is None
        else {"name": last_pass.model_name, "version": last_pass.model_version},
        "healthy": not problems,
        "problems": problems,
    }


def render(status: dict) -> list[str]:
    """One line per fact, each readable alone in a log viewer."""
    cursor, newest, last = status["cursor"], status["newest_upload"], status["last_pass"]
    counts = lambda c: ", ".join(f"{k} {v}" for k, v in sorted(c.items())) or "none"  # noqa: E731
    lines = [
        f"store: {status['store']}",
        "cursor: none (no upload recorded yet)"
        if cursor is None
        else f"cursor: {cursor['timestamp']} (log id {cursor['logid']})",
        f"newest upload: {status['wiki_problem']}"
        if newest is None
        else f"newest upload: {newest['timestamp']} (log id {newest['logid']})",
        "lag: unknown" if status["lag_seconds"] is None else f"lag: {status['lag_seconds']:.0f} s",
        "last pass: none"
        if last is None
        else f"last pass: finished {last['finished_at']} ({last['seconds_ago']} s ago), "
        f"{last['files_seen']} files, {last['files_classified']} classified, "
        f"errors {counts(last['errors'])}{', stopped by a signal' if last['stopped'] else ''}",
        f"outcomes last hour: {counts(status['outcomes_last_hour'])}",
        f"outcomes last day: {counts(status['outcomes_last_day'])}",
    ]
    error = status["last_error"]
    lines.append(
        "last error: none"
        if error is None
        else f"last error: {error['at']} {error['title']}: {error['outcome']}: {error['error']}"
    )
    model = status["model"]
    lines.append(
        "model: unknown" if model is None else f"model: {model['name']} {model['version']}"
    )
    lines.append(
        "health: OK" if status["healthy"] else "health: UNHEALTHY: " + "; ".join(status["problems"])
    )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot.status",
        description="Show the bot's progress and health; exit 1 when unhealthy (no recent "
        "pass, or too far behind the newest upload), 2 on a configuration error.",
    )
    parser.add_argument("--config", type=Path, help="configuration file (default: ./config.toml)")
    parser.add_argument(
        "--max-pass-age",
        type=float,
        help="seconds since the last finished pass before the bot counts as stopped "
        "(default: three poll intervals)",
    )
    parser.add_argument(
        "--max-lag",
        type=float,
        default=3600.0,
        help="seconds the cursor may trail the newest upload (default: 3600)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    args = parser.parse_args(argv)
    try:
        config = find_config(args.config)
        max_pass_age = args.max_pass_age or 3 * config.source.poll_interval_seconds
        status = collect(config, max_pass_age, args.max_lag, datetime.now(UTC).replace(tzinfo=None))
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_CONFIG
    if args.json:
        print(json.dumps(status, sort_keys=True))
    else:
        print("\n".join(render(status)), flush=True)
    return EXIT_HEALTHY if status["healthy"] else EXIT_UNHEALTHY


if __name__ == "__main__":
    sys.exit(main())
