"""Worklist pages on a real MediaWiki, as a reviewer meets them: the wiki renders the
gallery's thumbnails, uploader links lead somewhere, a deleted file leaves every page
at the next pass, and a page the wiki refuses to save fails the run and the health
check instead of passing silently."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from bot.report import NEEDS_CATEGORIES, shown_files
from tests.conftest import bot_env, write_bot_config
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

PREFIX = "User:Bot/Topics/Worklists"
SWITCH = "User:Bot/Run/Worklists"
UPLOADS = {  # name: (source photo, categories)
    "Worklist cat.jpg": ("Chelsea the cat.jpg", ["Felis catus"]),
    "Worklist coffee.jpg": ("Coffee cup.jpg", []),  # no category: needs categories
    "Worklist rocket.jpg": ("Astronaut portrait.jpg", ["Test uploads"]),
    "Worklist temple.jpg": ("China temple.jpg", ["Buddhist temples in China"]),
}


def _summary(done: subprocess.CompletedProcess, code: int = 0) -> dict:
    assert done.returncode == code, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _status(cwd: Path, env: dict, api_url: str) -> tuple[int, dict]:
    done = subprocess.run(
        [sys.executable, "-m", "bot.status", "--json", "--api-url", api_url],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode in (0, 1), done.stderr[-3000:]
    return done.returncode, json.loads(done.stdout)


def _worklist_files(admin, titles: list[str]) -> dict[str, set[str]]:
    return {t: shown_files(admin.page_text(t) or "") for t in titles}


@pytest.fixture(scope="module")
def admin(wiki):
    return wiki.client(ADMIN_LOGIN, ADMIN_PASSWORD)


@pytest.fixture(scope="module")
def first_pass(wiki, images, admin, tmp_path_factory) -> dict:
    cwd = tmp_path_factory.mktemp("worklists")
    report = {"page_prefix": PREFIX, "kill_switch_page": SWITCH}
    write_bot_config(
        cwd / "config.toml",
        wiki.api_url,
        report=report,
        review={"tool_url": "http://127.0.0.1:8000/"},
    )
    env = bot_env(cwd / "pwb", {"localwiki": wiki.port})
    since = wait_next_second()
    client = wiki.client()
    for i, (name, (photo, categories)) in enumerate(UPLOADS.items()):
        client.upload(name, variant(images[photo], 900 + i), categories)
    admin.edit(SWITCH, "true")
    summary = _summary(run_bot(["--once", "--since", since], cwd, env))
    return {"cwd": cwd, "env": env, "summary": summary}


def test_pages_index_topics_and_needs_categories(first_pass, admin):
    written = first_pass["summary"]["pages_written"]
    assert PREFIX in written and f"{PREFIX}/{NEEDS_CATEGORIES}" in written
    topics = [t for t in written if t not in (PREFIX, f"{PREFIX}/{NEEDS_CATEGORIES}")]
    assert topics, "the model suggested no topic for any of the four photos"
    shown = _worklist_files(admin, topics)
    assert set().union(*shown.values()) <= {f"File:{n}" for n in UPLOADS}
    index = admin.page_text(PREFIX)
    for title in topics:  # each topic page is linked from the index with its count
        label = title.rsplit("/", 1)[1]
        n = len(shown[title])
        assert re.search(rf"\|{re.escape(label)}\]\]'* \|\| {n} \|\| {n} \|\| –", index)
    needs = admin.page_text(f"{PREFIX}/{NEEDS_CATEGORIES}")
    assert shown_files(needs) == {"File:Worklist coffee.jpg"}
    busy = next(t for t in topics if shown[t])
    [revision] = admin.revisions(busy)
    assert revision["comment"] == f"Bot: update image topic suggestions: +{len(shown[busy])} files"


def test_thumbnails_render_and_uploader_links_work(first_pass, wiki, admin):
    written = first_pass["summary"]["pages_written"]
    topic = next(
        t
        for t in written
        if t not in (PREFIX, f"{PREFIX}/{NEEDS_CATEGORIES}") and shown_files(admin.page_text(t))
    )
    html = admin.get(action="parse", page=topic, prop="text")["parse"]["text"]
    for title in shown_files(admin.page_text(topic)):
        name = quote(title.removeprefix("File:").replace(" ", "_"))
        # the wiki's own thumbnail URL of this file, at the gallery's width
        assert re.search(rf'src="[^"]*/images/thumb/[^"]*/{name}/\d+px-{name}"', html), title
    links = set(re.findall(r'<a href="([^"]*Special:Contributions/[^"]*)"([^>]*)>', html))
    assert links
    for href, attributes in links:
        assert 'class="new"' not in attributes  # not a red link
        page = requests.get(f"http://127.0.0.1:{wiki.port}{href}", timeout=30)
        assert page.status_code == 200 and "Bot" in page.text
    assert "http://127.0.0.1:8000/?file=" in html  # the review tool's link


def test_deleted_file_leaves_every_page(first_pass, wiki, admin):
    cwd, env = first_pass["cwd"], first_pass["env"]
    written = first_pass["summary"]["pages_written"]
    pages = [t for t in written if t != PREFIX]
    before = _worklist_files(admin, pages)
    coffee = "File:Worklist coffee.jpg"  # kept for the categorization test below
    victim = min(set().union(*before.values()) - {coffee})
    wiki.delete_file(victim)
    again = _summary(run_bot(["--once"], cwd, env))
    assert again["errors"] == {}
    after = _worklist_files(admin, pages)
    assert all(victim not in files for files in after.values())
    changed = [t for t in pages if victim in before[t]]
    assert changed and set(changed) <= set(again["pages_written"])
    for title in changed:
        assert admin.revisions(title)[0]["comment"].endswith(": -1 deleted")
        assert after[title] == before[title] - {victim}


def test_a_file_categorized_later_leaves_needs_categories(first_pass, admin):
    cwd, env = first_pass["cwd"], first_pass["env"]
    needs = f"{PREFIX}/{NEEDS_CATEGORIES}"
    assert shown_files(admin.page_text(needs)) == {"File:Worklist coffee.jpg"}
    admin.edit("File:Worklist coffee.jpg", "Test upload.\n[[Category:Coffee cups]]")
    done = _summary(run_bot(["--publish-only"], cwd, env))
    assert done["pages_written"] == [needs]
    assert shown_files(admin.page_text(needs)) == set()


def test_save_failure_fails_the_run_and_the_health_check(first_pass, wiki, admin, images):
    cwd, env = first_pass["cwd"], first_pass["env"]
    code, healthy = _status(cwd, env, wiki.api_url)
    assert healthy["failed_pages"] == [] and healthy["kill_switch"]["state"] == "on"
    assert healthy["last_save"] is not None and healthy["dry_run"] is False

    # a new upload changes the pages; the wiki refuses the one a sysop protected
    topic = next(
        t for t in first_pass["summary"]["pages_written"] if admin.page_text(t) is not None
    )
    token = admin.csrf
    admin.post(action="protect", title=PREFIX, protections="edit=sysop", token=token)
    wiki.client().upload("Worklist cat 2.jpg", variant(images["Chelsea the cat.jpg"], 950))
    done = run_bot(["--once"], cwd, env)
    summary = _summary(done, code=1)
    assert summary["errors"] == {"page_save_locked_page": 1}, summary
    assert PREFIX not in summary["pages_written"]
    assert topic  # the other pages were still published

    code, status = _status(cwd, env, wiki.api_url)
    assert code == 1 and not status["healthy"]
    [failed] = status["failed_pages"]
    assert failed["title"] == PREFIX and failed["status"] == "error"
    text = subprocess.run(
        [sys.executable, "-m", "bot.status", "--api-url", wiki.api_url],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert f"page not saved: {failed['at']} {PREFIX}: error:" in text
    assert "health: UNHEALTHY: saving " + PREFIX in text

    admin.post(action="protect", title=PREFIX, protections="edit=all", token=token)
    assert _summary(run_bot(["--publish-only"], cwd, env))["errors"] == {}
    assert _status(cwd, env, wiki.api_url)[1]["failed_pages"] == []


def test_status_names_a_missing_kill_switch(wiki, tmp_path):
    write_bot_config(
        tmp_path / "config.toml", wiki.api_url, report={"kill_switch_page": "User:Bot/Nowhere"}
    )
    env = bot_env(tmp_path / "pwb", {"localwiki": wiki.port})
    (tmp_path / "var").mkdir()  # where the store's SQLite file goes
    code, status = _status(tmp_path, env, wiki.api_url)
    assert code == 1 and status["kill_switch"] == {
        "page": "User:Bot/Nowhere",
        "state": "missing",
        "problem": None,
    }
    assert any(
        p.startswith("kill-switch page User:Bot/Nowhere is missing")
        and "index.php?title=User:Bot/Nowhere&action=edit" in p
        for p in status["problems"]
    )


def test_status_says_stop_when_the_switch_was_set_by_an_account_without_the_right(
    wiki, tmp_path
):
    """The publisher refuses a `true` written by an account without patrol or autopatrol
    (an IP here); status must say the same, not "run"."""
    anonymous = ApiClient(wiki.api_url)
    anonymous.csrf = "+\\"  # the edit token of a logged-out editor
    anonymous.edit("User:Bot/Run/Untrusted", "true")
    write_bot_config(
        tmp_path / "config.toml", wiki.api_url,
        report={"kill_switch_page": "User:Bot/Run/Untrusted"},
    )
    env = bot_env(tmp_path / "pwb", {"localwiki": wiki.port})
    (tmp_path / "var").mkdir()
    code, status = _status(tmp_path, env, wiki.api_url)
    switch = status["kill_switch"]
    assert code == 1 and switch["state"] == "off", status
    assert "who has no patrol or autopatrol right" in switch["problem"]
    assert any("says true but was last edited by" in p for p in status["problems"])


def test_a_page_over_the_wikis_size_limit_fails_the_run(images, tmp_path):
    """The failure first seen on a wiki with its page size limit lowered: the save is
    refused, and --once says so and exits 1 (it printed "errors": {} and exited 0)."""
    wiki = LocalWiki.start(tmp_path / "small-wiki")
    try:
        with open(wiki.dir / "LocalSettings.php", "a") as settings:
            settings.write("\n$wgMaxArticleSize = 1;  # kilobytes: the index page is larger\n")
        client = wiki.client()
        client.edit("User:Bot/Run", "true")
        since = wait_next_second()
        client.upload("Small wiki cat.jpg", variant(images["Chelsea the cat.jpg"], 990))
        write_bot_config(tmp_path / "config.toml", wiki.api_url)
        env = bot_env(tmp_path / "pwb", {"localwiki": wiki.port})
        summary = _summary(run_bot(["--once", "--since", since], tmp_path, env), code=1)
        assert summary["files_classified"] == 1
        assert summary["errors"]["page_save_refused"] >= 1, summary
        assert "User:Bot/Topics" not in summary["pages_written"]  # the index is too big
        code, status = _status(tmp_path, env, wiki.api_url)
        assert code == 1
        failed = {p["title"]: p["detail"] for p in status["failed_pages"]}
        assert "article size limit" in failed["User:Bot/Topics"]
    finally:
        wiki.stop()
