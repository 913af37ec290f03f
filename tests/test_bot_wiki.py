"""The bot end to end against a real MediaWiki on 127.0.0.1: `python -m bot.run --once`
as a subprocess, with real images, a real SQLite store and the real model."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.publisher import owned
from bot.report import score_in_words, shown_files
from bot.store import Store, files_table, suggestions_table, training_log_table
from tests.conftest import UPLOAD_CATEGORIES, bot_env, write_bot_config
from tests.fault_proxy import Fault, FaultProxy
from tests.wiki_fixtures import (
    ADMIN_LOGIN,
    ADMIN_PASSWORD,
    ApiClient,
    LocalWiki,
    run_bot,
    variant,
    wait_next_second,
)

pytestmark = pytest.mark.integration

SUMMARY = "Bot: update image topic suggestions"


def _summary(done: subprocess.CompletedProcess) -> dict:
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _store(cwd: Path) -> Store:
    return Store(f"sqlite:///{cwd}/var/bot.sqlite")


def _files(store: Store) -> dict[str, list[str]]:
    """title -> outcomes of its recorded uploads."""
    with store.engine.connect() as conn:
        rows = conn.execute(select(files_table.c.title, files_table.c.outcome)).all()
    out: dict[str, list[str]] = {}
    for title, outcome in rows:
        out.setdefault(title, []).append(outcome)
    return out


def _last_upload_logid(admin) -> int:
    events = admin.get(action="query", list="logevents", letype="upload", lelimit=1)
    return events["query"]["logevents"][0]["logid"]


def _setup(tmp_path: Path, wiki: LocalWiki, name: str, **sections) -> tuple[Path, dict, str]:
    """A working folder with its own config, store and PYWIKIBOT_DIR; returns the report
    prefix, unique to the test so tests never publish over each other's pages."""
    prefix = f"User:Bot/Topics/{name}"
    report = {"page_prefix": prefix, "kill_switch_page": f"User:Bot/Run/{name}"}
    report.update(sections.pop("report", {}))
    write_bot_config(tmp_path / "config.toml", wiki.api_url, report=report, **sections)
    env = bot_env(tmp_path / "pwb", {"localwiki": wiki.port})
    return tmp_path, env, prefix


@pytest.fixture(scope="module")
def admin(wiki: LocalWiki):
    return wiki.client(ADMIN_LOGIN, ADMIN_PASSWORD)


def test_pass_records_publishes_and_reruns_change_nothing(wiki, uploaded, images, admin, tmp_path):
    cwd, env, prefix = _setup(tmp_path, wiki, "Main")
    admin.edit("User:Bot/Run/Main", "true")

    summary = _summary(run_bot(["--once", "--since", uploaded], cwd, env))
    store = _store(cwd)
    files = _files(store)
    expected = {f"File:{name}" for name in UPLOAD_CATEGORIES}
    assert expected <= set(files)
    assert all(files[t] == ["classified"] for t in expected), files
    assert summary["files_classified"] >= len(expected) and summary["errors"] == {}
    assert summary["cursor"]["logid"] == _last_upload_logid(admin)
    assert summary["dry_run"] is False

    # each suggestion is on its topic's worklist page, with the summary and the bot flag
    rows = store.report_rows()
    assert rows and {r.state for r in rows} == {"published"}
    written = summary["pages_written"]
    assert prefix in written and all(owned(t, prefix) for t in written)
    for label in {r.label for r in rows}:
        title = f"{prefix}/{label}"
        text = admin.page_text(title)
        label_rows = [r for r in rows if r.label == label]
        assert shown_files(text) == {r.title for r in label_rows}
        for row in label_rows:
            assert f"{row.title}|{row.label}: {score_in_words(row.score)}" in text
        assert [r["comment"] for r in admin.revisions(title)] == [
            f"{SUMMARY}: +{len(label_rows)} files"
        ]
        [change] = admin.get(
            action="query", list="recentchanges", rctitle=title, rcprop="flags|user"
        )["query"]["recentchanges"]
        assert change["bot"] and change["user"] == "Bot"
    assert {r.title for r in rows} & expected  # the model suggests something for most photos
    # the cat's own categories already imply Animals: not marked new
    cat = [r for r in rows if r.title == "File:Chelsea the cat.jpg" and r.label == "Animals"]
    assert all(r.adds_topic is False for r in cat)

    # the training log: one row per classified image, with its categories' topics
    with store.engine.connect() as conn:
        sha1 = dict(conn.execute(select(files_table.c.title, files_table.c.sha1)).all())
        logged = {
            r.sha1: r
            for r in conn.execute(select(training_log_table)).all()
        }
    assert {sha1[t] for t in expected} <= set(logged)
    cat_row = logged[sha1["File:Chelsea the cat.jpg"]]
    assert cat_row.walk_complete and "Animals" in json.loads(cat_row.claimed_topics)
    assert cat_row.model_version == "3.0.0" and 1300 <= len(cat_row.inputs) <= 1320

    # a second pass with nothing new changes nothing: no rows, no edit
    counts = store.counts()
    again = _summary(run_bot(["--once"], cwd, env))
    assert again["files_seen"] == 0 and again["pages_written"] == []
    assert store.counts() == counts
    assert len(admin.revisions(prefix)) == 1

    # a new upload is processed exactly once
    wiki.client().upload("New cat upload.jpg", variant(images["Chelsea the cat.jpg"], 1))
    third = _summary(run_bot(["--once"], cwd, env))
    assert third["files_seen"] == 1 and third["files_classified"] == 1
    fourth = _summary(run_bot(["--once"], cwd, env))
    assert fourth["files_seen"] == 0
    assert _files(store)["File:New cat upload.jpg"] == ["classified"]


def test_killed_pass_resumes_without_losing_or_repeating(wiki, uploaded, images, tmp_path):
    cwd, env, _ = _setup(tmp_path, wiki, "Killed")
    since = wait_next_second()
    client = wiki.client()
    names = [f"Kill test {i}.jpg" for i in range(12)]
    for i, name in enumerate(names):
        client.upload(name, variant(images["Coffee cup.jpg"], 100 + i), ["Coffee cups"])

    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.run", "--once", "--dry-run", "--since", since],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    done = 0
    for line in proc.stderr:
        done += ": classified" in line
        if done == 3:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    # a file the kill caught in the middle is marked in progress: it is taken again
    recorded = {t: o for t, o in _files(_store(cwd)).items() if o != ["in_progress"]}
    assert 3 <= len(recorded) < len(names), "the pass was not killed in the middle"

    summary = _summary(run_bot(["--once", "--dry-run"], cwd, env))
    files = _files(_store(cwd))
    assert sorted(files) == sorted(f"File:{n}" for n in names)
    assert all(outcomes == ["classified"] for outcomes in files.values())
    assert summary["files_seen"] == len(names) - len(recorded)
    with _store(cwd).engine.connect() as conn:
        per_file = conn.execute(
            select(suggestions_table.c.title, func.count())
            .group_by(suggestions_table.c.title, suggestions_table.c.label)
            .having(func.count() > 1)
        ).all()
    assert per_file == []


def test_bad_input_is_recorded_and_the_pass_goes_on(wiki, images, tmp_path):
    since = wait_next_second()
    client = wiki.client()
    photo = images["Coffee cup.jpg"]  # 600 px wide: the wiki renders a 330 px thumbnail
    names = {
        "corrupt": "Corrupt thumbnail.jpg",
        "html": "Html thumbnail.jpg",
        "deleted": "Deleted before fetch.jpg",
        "http500": "Server error.jpg",
        "http429": "Rate limited.jpg",
        "good": "Good after faults.jpg",
    }
    for i, name in enumerate(names.values()):
        client.upload(name, variant(photo, 200 + i), ["Coffee cups"])
    for key in ("corrupt", "html"):
        url = client.thumb_url(f"File:{names[key]}", 330)  # renders the thumbnail file
        path = wiki.dir / "images" / url.split("/images/", 1)[1]
        thumb = path.read_bytes()
        if key == "corrupt":  # a JPEG cut short, as from an interrupted write
            path.write_bytes(thumb[: len(thumb) * 2 // 5])
        else:  # an error page served where the image should be
            path.write_bytes(b"<!DOCTYPE html><html><body>Error</body></html>")
    wiki.delete_file(f"File:{names['deleted']}")

    with FaultProxy(wiki.port) as proxy:

        def about(name: str):
            return lambda p: "imageinfo" in p.get("prop", "") and name in p.get("titles", "")

        server_error = Fault(about(names["http500"]), 500)
        rate_limit = Fault(about(names["http429"]), 429, times=1, retry_after=2)
        proxy.faults += [server_error, rate_limit]
        write_bot_config(tmp_path / "config.toml", proxy.api_url, source={"metadata_batch": 1})
        env = bot_env(tmp_path / "pwb", {"localwiki": wiki.port, "proxywiki": proxy.port})
        summary = _summary(run_bot(["--once", "--dry-run", "--since", since], tmp_path, env))
        retried = [
            s.at for s in proxy.api_requests() if names["http429"] in s.params.get("titles", "")
        ]
        # the outage is over: the next pass takes the file up again, and only that one
        files = _files(_store(tmp_path))
        server_error.times = 0
        rerun = _summary(run_bot(["--once", "--dry-run"], tmp_path, env))
        assert rerun["files_retried"] == 1 and rerun["files_classified"] == 1
        after = _files(_store(tmp_path))
        assert after.pop(f"File:{names['http500']}") == ["classified"]
        files.pop(f"File:{names['http500']}")
        assert after == files

    files = _files(_store(tmp_path))
    outcome = {key: files[f"File:{name}"] for key, name in names.items()}
    assert outcome == {
        "corrupt": ["image_corrupt"],
        "html": ["image_not_an_image"],
        "deleted": ["deleted"],
        "http500": ["classified"],  # api_error in the first pass, then retried
        "http429": ["classified"],  # retried after Retry-After, then fine
        "good": ["classified"],
    }
    assert len(server_error.hits) >= 2  # pywikibot retried before giving up
    assert len(rate_limit.hits) == 1 and len(retried) == 2
    assert retried[1] - rate_limit.hits[0] >= 1.5  # Retry-After: 2 was honoured
    assert summary["errors"] == {
        "api_error": 1,
        "deleted": 1,
        "image_corrupt": 1,
        "image_not_an_image": 1,
    }


def test_kill_switch_and_dry_run_stop_writes_and_nobots_does_not(wiki, images, admin, tmp_path):
    cwd, env, prefix = _setup(tmp_path, wiki, "Switch")
    since = wait_next_second()
    wiki.client().upload("Switch test.jpg", variant(images["Chelsea the cat.jpg"], 300))
    admin.edit("User:Bot/Run/Switch", "false")
    page = prefix  # the index page: always rendered

    def bot_writes_since(start: str) -> list[dict]:
        return admin.get(
            action="query",
            list="recentchanges",
            rcuser="Bot",
            rcend=start,
            rcprop="title|timestamp",
            rclimit="max",
        )["query"]["recentchanges"]

    start = wait_next_second()  # after the test's own upload
    stopped = _summary(run_bot(["--once", "--since", since], cwd, env))
    assert stopped["files_classified"] == 1 and stopped["pages_written"] == []
    assert admin.page_text(page) is None

    dry = _summary(run_bot(["--once", "--dry-run"], cwd, env))
    local = [Path(p).read_text() for p in dry["pages_written"]]
    assert dry["dry_run"] is True and any("File:Switch test.jpg|" in t for t in local)
    assert bot_writes_since(start) == []  # server side: no write request from the bot

    # an IP cannot start the bot again, nor can "True"; only a trusted account's "true"
    anonymous = ApiClient(wiki.api_url)
    anonymous.csrf = "+\\"  # the edit token of a logged-out editor
    anonymous.edit("User:Bot/Run/Switch", "true")
    admin.edit(page, "Reviewers only, please. {{nobots}}")  # a page the bot must overwrite
    held = _summary(run_bot(["--once"], cwd, env))
    assert held["pages_written"] == []
    admin.edit("User:Bot/Run/Switch", "True")
    assert _summary(run_bot(["--once"], cwd, env))["pages_written"] == []
    assert admin.page_text(page) == "Reviewers only, please. {{nobots}}"
    assert page not in {c["title"] for c in bot_writes_since(start)}

    admin.edit("User:Bot/Run/Switch", "true")
    done = run_bot(["--once"], cwd, env)
    assert page in _summary(done)["pages_written"], done.stderr[-3000:]
    assert "{{nobots}}" not in admin.page_text(page)
    assert f"overwriting {{{{nobots}}}} on the bot's own page {page}" in done.stderr
    assert [c["title"] for c in bot_writes_since(start)].count(page) == 1


def test_publish_only_saves_what_earlier_passes_recorded(wiki, images, admin, tmp_path):
    """Toolforge's scheduled report job: `--publish-only` reads nothing new from the
    upload log; it saves the pages for what the continuous job recorded, once."""
    cwd, env, prefix = _setup(tmp_path, wiki, "PublishOnly")
    since = wait_next_second()
    wiki.client().upload("Publish only.jpg", variant(images["Chelsea the cat.jpg"], 400))
    admin.edit("User:Bot/Run/PublishOnly", "false")
    recorded = _summary(run_bot(["--once", "--since", since], cwd, env))
    assert recorded["files_classified"] == 1 and recorded["pages_written"] == []
    counts = _store(cwd).counts()

    admin.edit("User:Bot/Run/PublishOnly", "true")
    published = _summary(run_bot(["--publish-only"], cwd, env))
    assert prefix in published["pages_written"]
    shown = set().union(*(shown_files(admin.page_text(t)) for t in published["pages_written"]))
    assert "File:Publish only.jpg" in shown
    assert _store(cwd).counts() == counts  # no pass ran
    assert _summary(run_bot(["--publish-only"], cwd, env))["pages_written"] == []


def test_continuous_mode_stops_cleanly_on_sigterm(wiki, images, tmp_path):
    cwd, env, _ = _setup(tmp_path, wiki, "Continuous", source={"poll_interval_seconds": 3600})
    since = wait_next_second()
    client = wiki.client()
    names = [f"Continuous {i}.jpg" for i in range(8)]
    for i, name in enumerate(names):
        client.upload(name, variant(images["Flower closeup.jpg"], 600 + i), ["Flowers"])

    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.run", "--dry-run", "--since", since],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines = []
    for line in proc.stderr:
        lines.append(line)
        if ": classified" in line:
            proc.send_signal(signal.SIGTERM)
            break
    lines += proc.stderr.readlines()
    assert proc.wait(timeout=60) == 0, "".join(lines[-20:])
    files = _files(_store(cwd))
    assert 1 <= len(files) < len(names)  # stopped early, after a whole file
    assert all(outcomes == ["classified"] for outcomes in files.values())
    assert not any("Traceback" in line for line in lines)


def test_the_kill_switch_turned_off_between_two_saves_stops_the_second(
    wiki, images, admin, tmp_path
):
    """The switch is read before every save, not once per pass: a trusted account turns
    it off while the bot saves its first page of the pass (the fault proxy runs that
    edit as it forwards the bot's first save request), and no other page is saved."""
    since = wait_next_second()
    wiki.client().upload("Switch between saves.jpg", variant(images["Chelsea the cat.jpg"], 310))
    switch, prefix = "User:Bot/Run/Between", "User:Bot/Topics/Between"
    admin.edit(switch, "true")
    turned_off = []

    def turn_off() -> None:
        admin.edit(switch, "false")
        turned_off.append(time.monotonic())

    def first_save(params: dict[str, str]) -> bool:
        return params.get("action") == "edit" and params.get("title", "").startswith(prefix)

    with FaultProxy(wiki.port) as proxy:
        proxy.faults.append(Fault(first_save, kind="forward", times=1, before=turn_off))
        report = {"page_prefix": prefix, "kill_switch_page": switch}
        write_bot_config(tmp_path / "config.toml", proxy.api_url, report=report)
        env = bot_env(tmp_path / "pwb", {"localwiki": wiki.port, "proxywiki": proxy.port})
        done = run_bot(["--once", "--since", since], tmp_path, env)
        saves = [s for s in proxy.api_requests() if first_save(s.params)]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["files_classified"] == 1 and len(turned_off) == 1
    [saved] = summary["pages_written"]
    assert len(saves) == 1 and saves[0].params["title"] == saved
    assert admin.page_text(saved) is not None
    held = re.findall(r"not publishing (.+?): " + re.escape(switch), done.stderr)
    assert len(held) >= 2 and saved not in held  # the index and a topic page at least
    assert all(admin.page_text(title) is None for title in held)
