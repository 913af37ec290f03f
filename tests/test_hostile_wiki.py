"""Hostile uploads against the real local MediaWiki: `python -m bot.run --once` as a
subprocess with the real model and a real SQLite store (issue 15, items 1 and 2).

A file no wider than the thumbnail width is served as its own thumbnail, so the bot
decodes exactly the uploaded bytes; other hostile bytes are put where the wiki serves a
rendered thumbnail, as a broken or malicious thumbnail server would.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

from bot.store import Store
from tests import hostile_images
from tests.conftest import bot_env, write_bot_config
from tests.test_bot_wiki import _files, _summary
from tests.wiki_fixtures import LocalWiki, run_bot, variant, wait_next_second

pytestmark = pytest.mark.integration


def _setup(tmp_path: Path, wiki: LocalWiki, **thumbnails) -> dict[str, str]:
    write_bot_config(tmp_path / "config.toml", wiki.api_url, thumbnails=thumbnails)
    return bot_env(tmp_path / "pwb", {"localwiki": wiki.port})


def _replace_thumbnail(wiki: LocalWiki, title: str, data: bytes) -> None:
    url = wiki.client().thumb_url(title, 330)  # renders the thumbnail file
    (wiki.dir / "images" / url.split("/images/", 1)[1]).write_bytes(data)


def test_hostile_files_cost_little_and_the_cursor_reaches_the_end(wiki, images, tmp_path):
    since = wait_next_second()
    client = wiki.client()
    photo = images["Coffee cup.jpg"]  # 600 px wide: the wiki renders a 330 px thumbnail
    client.upload("Hostile strip.png", hostile_images.grey16_strip())  # its own thumbnail
    client.upload("Scan bomb thumbnail.jpg", variant(photo, 301))
    client.upload("Icon thumbnail.jpg", variant(photo, 302))
    client.upload("After the hostile ones.jpg", variant(photo, 303))
    _replace_thumbnail(wiki, "File:Scan bomb thumbnail.jpg", hostile_images.scan_bomb(3000))
    _replace_thumbnail(wiki, "File:Icon thumbnail.jpg", hostile_images.ico_with_big_png())
    last = client.get(action="query", list="logevents", letype="upload", lelimit=1)
    env = _setup(tmp_path, wiki)

    summary = _summary(run_bot(["--once", "--dry-run", "--since", since], tmp_path, env))

    assert _files(Store(f"sqlite:///{tmp_path}/var/bot.sqlite")) == {
        "File:Hostile strip.png": ["image_too_large"],
        "File:Scan bomb thumbnail.jpg": ["image_too_complex"],
        "File:Icon thumbnail.jpg": ["image_not_an_image"],
        "File:After the hostile ones.jpg": ["classified"],
    }
    assert summary["cursor"]["logid"] == last["query"]["logevents"][0]["logid"]


def _in_progress(database: Path) -> tuple | None:
    """(attempts,) of the file in progress; None also while the bot creates its tables."""
    with closing(sqlite3.connect(database, timeout=5)) as conn:
        try:
            return conn.execute(
                "SELECT attempts FROM files WHERE outcome = 'in_progress'"
            ).fetchone()
        except sqlite3.OperationalError:
            return None


def _kill_when_in_progress(cwd: Path, env: dict, since: str, starts: int) -> None:
    """Run the bot and SIGKILL it (as the OOM killer would) once the store shows a file
    in progress for the `starts`-th time. (`since` counts while no file has moved the
    cursor yet.)"""
    args = ["--once", "--dry-run", "--since", since]
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.run", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    database = cwd / "var" / "bot.sqlite"
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if database.exists() and _in_progress(database) == (starts,):
                    proc.send_signal(signal.SIGKILL)
                    break
            time.sleep(0.01)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "the bot finished before it could be killed"


def test_a_file_that_kills_the_bot_twice_is_recorded_as_poison(wiki, images, tmp_path):
    """Killed on a file once, the bot takes it again (a kill may be bad luck); killed on
    it twice, the file is `poison` and the pass goes on past it."""
    since = wait_next_second()
    client = wiki.client()
    # 59 MB decoded, within the bot's cap: slow enough (a few tenths of a second) to be
    # killed in the middle of it
    client.upload("Killer strip.png", hostile_images.grey16_strip(330, 90_000))
    client.upload("After the killer.jpg", variant(images["Coffee cup.jpg"], 311))
    env = _setup(tmp_path, wiki)

    _kill_when_in_progress(tmp_path, env, since, starts=1)
    _kill_when_in_progress(tmp_path, env, since, starts=2)
    summary = _summary(run_bot(["--once", "--dry-run", "--since", since], tmp_path, env))

    assert _files(Store(f"sqlite:///{tmp_path}/var/bot.sqlite")) == {
        "File:Killer strip.png": ["poison"],
        "File:After the killer.jpg": ["classified"],
    }
    assert summary["errors"] == {"poison": 1} and summary["files_classified"] == 1


def test_a_file_over_its_budget_is_recorded_and_the_pass_goes_on(wiki, images, tmp_path):
    """Within every cap (90 scans, 50 MB decoded), but slower to decode (0.3-0.45 s
    here) than a budget of 0.15 s: `file_timeout`, decided while decoding (the decoder
    is stopped, not waited for), and the next file is classified."""
    since = wait_next_second()
    client = wiki.client()
    client.upload("Slow strip.jpg", hostile_images.scan_bomb(90, 330, 15_000))
    client.upload("After the slow one.jpg", variant(images["Coffee cup.jpg"], 321))
    env = _setup(tmp_path, wiki, file_budget_seconds=0.15)

    _summary(run_bot(["--once", "--dry-run", "--since", since], tmp_path, env))

    assert _files(Store(f"sqlite:///{tmp_path}/var/bot.sqlite")) == {
        "File:Slow strip.jpg": ["file_timeout"],
        "File:After the slow one.jpg": ["classified"],
    }
    with sqlite3.connect(tmp_path / "var" / "bot.sqlite") as db:
        [(error,)] = db.execute("SELECT error FROM files WHERE outcome = 'file_timeout'").fetchall()
    assert error == "over the budget of 0.15 s for one file (decoding)"
