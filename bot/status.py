"""`python -m bot.status`: what the bot has done and whether it is healthy.

It prints the cursor, the lag behind the newest upload on the wiki, the outcomes of the
last hour and day, the last error and the model of the last pass, the installed model
and the promotion gate's last decision (`bot.record_promotion`), whether it runs dry,
the kill switch, the last successful page save and any page whose last save failed,
and the suggestions awaiting review and active flags, one fact per line on
standard output (what `toolforge jobs logs` shows best), and exits 1 when the bot is
unhealthy, so it serves as a health check and as a scheduled job whose failure mails the
maintainers:

- no pass has finished for longer than --max-pass-age (default: three poll intervals);
- the cursor is further than --max-lag behind the newest upload;
- a page's last save failed (the wiki refused it: a size limit, a protection);
- publishing is on but the kill-switch page is missing (its name and how to create it
  are printed), so nothing would ever be published;
- too many files of the recent window (--error-window) ended in an error for good: more
  than --max-errors of them, or more than --max-error-share of the window's files.
  Errors a later pass will retry (a transient outcome with attempts left) are shown
  apart and do not count; a retried file whose attempts run out does.

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

from bot.config import Config, ConfigError, find_config, page_titles, resolve_path
from bot.publisher import FAILURES, kill_switch_says_run
from bot.site import expected_user
from bot.store import FLAG_ACTIVE, REVIEWABLE_STATES, Cursor, PromotionRecord, Store
from classifier.artifact import DEFAULT_MODEL_DIR, ModelArtifactError, read_card

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


QUERY_ERRORS = (requests.RequestException, ValueError, KeyError, IndexError)


def query(config: Config, timeout: float, **params: str) -> dict:
    """One plain `action=query` request with a short timeout (no pywikibot session, no
    login: the health check must answer even when the bot cannot). Raises
    QUERY_ERRORS."""
    r = requests.get(
        api_url(config),
        params={"action": "query", "format": "json", "formatversion": "2", **params},
        headers={"User-Agent": config.wiki.user_agent + " status"},
        timeout=timeout,
    )
    r.raise_for_status()
    return r.json()["query"]


def newest_upload(config: Config, timeout: float = 10.0) -> NewestUpload:
    try:
        events = query(
            config, timeout, list="logevents", letype="upload", lelimit="1", leprop="ids|timestamp"
        )["logevents"]
    except QUERY_ERRORS as err:
        return NewestUpload(None, f"wiki unreachable: {type(err).__name__}: {err}")
    if not events:
        return NewestUpload(None, "the wiki has no uploads")
    return NewestUpload(Cursor(events[0]["timestamp"], events[0]["logid"]))


def kill_switch(config: Config, timeout: float = 10.0) -> dict:
    """The kill-switch page's title and state as the publisher reads it: on (it says
    `true` and its last editor holds one of `[report] kill_switch_rights`), off, missing,
    or unknown (no bot name, or the wiki out of reach)."""
    user = expected_user()
    if user is None:
        return {"page": None, "state": "unknown", "problem": "BOT_USERNAME is not set"}
    title = page_titles(config, user).kill_switch
    try:
        page = query(
            config, timeout, prop="revisions", titles=title, rvprop="content|user",
            rvslots="main",
        )["pages"][0]
        if page.get("missing"):
            return {"page": title, "state": "missing", "problem": None}
        revision = page["revisions"][0]
        if not kill_switch_says_run(revision["slots"]["main"]["content"]):
            return {"page": title, "state": "off", "problem": None}
        editor = revision.get("user", "")
        users = query(config, timeout, list="users", ususers=editor, usprop="rights")["users"]
    except QUERY_ERRORS as err:
        return {"page": title, "state": "unknown", "problem": f"{type(err).__name__}: {err}"}
    rights = config.report.kill_switch_rights
    if not set(users[0].get("rights", []) if users else ()) & set(rights):
        return {"page": title, "state": "off",
                "problem": f"last edited by {editor}, who has no {' or '.join(rights)} right"}
    return {"page": title, "state": "on", "problem": None}


def create_hint(config: Config, title: str) -> str:
    """The edit URL that creates the kill-switch page, and what to write on it."""
    index = api_url(config).rsplit("/", 1)[0] + "/index.php"
    return (
        f"create it with the single word true: {index}?title={title.replace(' ', '_')}&action=edit"
    )


def installed_model(config: Config) -> dict:
    """The model the bot's next start loads: its directory and version (read from its
    model.json alone, without loading it), or why it cannot be read."""
    path = resolve_path(config.model.path) if config.model.path else DEFAULT_MODEL_DIR
    try:
        card = read_card(path)
    except ModelArtifactError as err:
        return {"path": str(path), "version": None, "problem": str(err)}
    return {"path": str(path), "version": f"{card.name} {card.version}", "problem": None}


def promotion(record: PromotionRecord | None) -> dict | None:
    """The last decision of the promotion gate (bot.record_promotion), JSON-ready."""
    if record is None:
        return None
    return {"at": record.decided_at.strftime(TIMESTAMP), "decision": record.decision,
            "candidate": record.candidate_version, "installed": record.installed_version,
            "reasons": record.figures.get("reasons") or [], "report": record.report_path}


def _seconds_between(earlier: str, later: str) -> float:
    parse = lambda ts: datetime.strptime(ts, TIMESTAMP)  # noqa: E731
    return (parse(later) - parse(earlier)).total_seconds()


@dataclass(frozen=True)
class ErrorLimits:
    """How many files of the recent window may end in a final error before the bot
    counts as unhealthy: a count and a share of the window's files (either passed is
    a problem)."""

    window_seconds: float = 86400.0
    max_errors: int = 20
    max_share: float = 0.05


def error_report(store: Store, config: Config, limits: ErrorLimits, now: datetime) -> dict:
    """The window's error outcomes (see Store.recent_errors) and the problem, if any."""
    recent = store.recent_errors(
        now - timedelta(seconds=limits.window_seconds), config.source.max_attempts
    )
    final = sum(recent.final.values())
    share = final / recent.files if recent.files else 0.0
    problem = None
    if final > limits.max_errors or share > limits.max_share:
        problem = (
            f"{final} of {recent.files} files in the last {limits.window_seconds:g} s ended "
            f"in an error ({share:.0%}; limits {limits.max_errors} and "
            f"{limits.max_share:.0%}): "
            + ", ".join(
                f"{outcome} {n} (e.g. {', '.join(recent.examples[outcome])})"
                for outcome, n in sorted(recent.final.items())
            )
        )
    return {
        "window_seconds": limits.window_seconds,
        "files": recent.files,
        "final": recent.final,
        "retrying": recent.retrying,
        "examples": recent.examples,
        "problem": problem,
    }


def collect(
    config: Config,
    max_pass_age: float,
    max_lag: float,
    now: datetime,
    limits: ErrorLimits = ErrorLimits(),  # noqa: B008 - frozen, so one shared default is safe
) -> dict:
    """Everything the status shows, as a JSON-ready dict with `healthy` and `problems`."""
    store = Store(config.store_url())
    cursor = store.cursor()
    newest = newest_upload(config)
    last_pass = store.last_pass()
    error = store.last_error()
    saves = store.page_saves()
    switch = kill_switch(config)
    problems: list[str] = []
    failed = [p for p in saves if p.status in FAILURES]
    for page in failed:
        problems.append(f"saving {page.title} failed: {page.detail}")
    if switch["state"] == "missing" and not config.dry_run:
        problems.append(
            f"kill-switch page {switch['page']} is missing, so nothing is published; "
            + create_hint(config, switch["page"])
        )
    if switch["state"] == "off" and switch["problem"] and not config.dry_run:
        problems.append(f"kill-switch page {switch['page']} says true but was "
                        f"{switch['problem']}, so nothing is published")
    errors = error_report(store, config, limits, now)
    if errors["problem"]:
        problems.append(errors["problem"])

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
        "recent_errors": errors,
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
        "installed_model": installed_model(config),
        "last_promotion": promotion(store.last_promotion()),
        "dry_run": config.dry_run,
        "kill_switch": switch,
        "last_save": _last_save(saves),
        "failed_pages": [
            {
                "title": p.title,
                "status": p.status,
                "detail": p.detail,
                "at": p.attempted_at.strftime(TIMESTAMP),
            }
            for p in failed
        ],
        "awaiting_review": sum(
            n for s, n in store.suggestion_states().items() if s in REVIEWABLE_STATES
        ),
        "active_flags": store.flag_count(FLAG_ACTIVE),
        "healthy": not problems,
        "problems": problems,
    }


def _last_save(saves: list) -> dict | None:
    saved = [p for p in saves if p.saved_at is not None]
    if not saved:
        return None
    last = max(saved, key=lambda p: p.saved_at)
    return {"title": last.title, "at": last.saved_at.strftime(TIMESTAMP)}


def _switch_line(status: dict) -> str:
    switch = status["kill_switch"]
    if switch["state"] == "missing":
        return f"kill switch: {switch['page']} is MISSING: nothing is published"
    if switch["state"] == "unknown":
        return f"kill switch: unknown ({switch['page'] or 'no page'}: {switch['problem']})"
    why = f" ({switch['problem']})" if switch["problem"] else ""
    return f"kill switch: {switch['page']} says {'run' if switch['state'] == 'on' else 'stop'}{why}"


def _model_lines(status: dict) -> list[str]:
    installed, last = status["installed_model"], status["last_promotion"]
    lines = [
        f"installed model: {installed['version']} ({installed['path']})"
        if installed["problem"] is None
        else f"installed model: unreadable: {installed['problem']}",
    ]
    if last is None:
        lines.append("last promotion: none recorded")
    else:
        why = f": {'; '.join(last['reasons'])}" if last["reasons"] else ""
        lines.append(f"last promotion: {last['at']} {last['decision']} {last['candidate']} "
                     f"(against {last['installed']}){why}")
    return lines


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
    recent = status["recent_errors"]
    window = f"{recent['window_seconds']:g} s"
    lines += [
        f"final errors last {window}: {counts(recent['final'])} of {recent['files']} files",
        f"errors to be retried last {window}: {counts(recent['retrying'])}",
    ]
    lines += [
        f"{outcome} e.g.: {', '.join(titles)}" for outcome, titles in recent["examples"].items()
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
    lines += _model_lines(status)
    save = status["last_save"]
    lines += [
        f"dry run (as configured): {'on' if status['dry_run'] else 'off (publishing)'}",
        _switch_line(status),
        "last successful save: none"
        if save is None
        else f"last successful save: {save['at']} {save['title']}",
    ]
    lines += [
        f"page not saved: {p['at']} {p['title']}: {p['status']}: {p['detail']}"
        for p in status["failed_pages"]
    ]
    lines += [
        f"awaiting review: {status['awaiting_review']} suggestion(s)",
        f"active flags: {status['active_flags']}",
    ]
    lines.append(
        "health: OK" if status["healthy"] else "health: UNHEALTHY: " + "; ".join(status["problems"])
    )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot.status",
        description="Show the bot's progress and health; exit 1 when unhealthy (no recent "
        "pass, too far behind the newest upload, a page that could not be saved, "
        "publishing on without a kill-switch page, or too many files ended in an error), "
        "2 on a configuration error.",
        epilog="The kill-switch page's name needs the bot's account: BOT_USERNAME, as for "
        "python -m bot.run.",
    )
    parser.add_argument("--config", type=Path, help="configuration file (default: ./config.toml)")
    parser.add_argument("--api-url", help="any MediaWiki's api.php instead of the configured wiki")
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
    parser.add_argument(
        "--error-window",
        type=float,
        default=ErrorLimits.window_seconds,
        help="seconds back that files' error outcomes are counted (default: 86400)",
    )
    parser.add_argument(
        "--max-errors",
        type=int,
        default=ErrorLimits.max_errors,
        help="files of the window that may end in a final error (default: 20)",
    )
    parser.add_argument(
        "--max-error-share",
        type=float,
        default=ErrorLimits.max_share,
        help="share of the window's files that may end in a final error (default: 0.05)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    args = parser.parse_args(argv)
    try:
        config = find_config(args.config)
        if args.api_url:
            config = config.with_overrides(**{"wiki.api_url": args.api_url})
        max_pass_age = args.max_pass_age or 3 * config.source.poll_interval_seconds
        limits = ErrorLimits(args.error_window, args.max_errors, args.max_error_share)
        now = datetime.now(UTC).replace(tzinfo=None)
        status = collect(config, max_pass_age, args.max_lag, now, limits)
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
