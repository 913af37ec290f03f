"""Batches that survive one bad member, against the real local MediaWiki: a truncated
PNG that makes the wiki refuse its whole imageinfo batch, a file deleted before the
pass, a thumbnail the wiki cannot render, and a store that refuses one file (issue 15,
items 8, 9 and 12). `metadata_batch` is the production 50, so all share one request.
"""

from __future__ import annotations

import io
import sqlite3
import subprocess
import sys

import pytest
from PIL import Image
from sqlalchemy import text

from bot.store import Store
from tests import hostile_images
from tests.conftest import bot_env, write_bot_config
from tests.mariadb_fixtures import PASSWORD, USER
from tests.test_bot_status import _status
from tests.test_bot_wiki import _files, _summary
from tests.wiki_fixtures import run_bot, variant, wait_next_second

pytestmark = pytest.mark.integration


def _truncated_png() -> bytes:
    """A PNG cut inside its pixel data: MediaWiki stores it as 0x0."""
    buffer = io.BytesIO()
    Image.new("RGB", (400, 300), (200, 40, 40)).save(buffer, "PNG")
    return buffer.getvalue()[:60]


def test_one_bad_file_does_not_sink_its_batch(wiki, images, tmp_path):
    since = wait_next_second()
    client = wiki.client()
    photo = images["Coffee cup.jpg"]
    good = [f"Batch good {i}.jpg" for i in range(5)]
    client.upload(good[0], variant(photo, 500))
    client.upload("Batch truncated.png", _truncated_png())
    client.upload(good[1], variant(photo, 501))
    client.upload("Batch deleted.jpg", variant(photo, 502))
    client.upload("Batch unrenderable.png", hostile_images.palette_trns())  # 49 MP
    for i, name in enumerate(good[2:], start=3):
        client.upload(name, variant(photo, 500 + i))
    wiki.delete_file("File:Batch deleted.jpg")
    write_bot_config(tmp_path / "config.toml", wiki.api_url)
    env = bot_env(tmp_path / "pwb", {"localwiki": wiki.port})

    summary = _summary(run_bot(["--once", "--dry-run", "--since", since], tmp_path, env))

    files = _files(Store(f"sqlite:///{tmp_path}/var/bot.sqlite"))
    assert {f"File:{n}": files[f"File:{n}"] for n in good} == {
        f"File:{n}": ["classified"] for n in good
    }
    assert files["File:Batch truncated.png"] == ["api_error"]
    assert files["File:Batch deleted.jpg"] == ["deleted"]
    assert files["File:Batch unrenderable.png"] == ["thumbnail_error"]
    with sqlite3.connect(tmp_path / "var" / "bot.sqlite") as db:
        [(error,)] = db.execute(
            "SELECT error FROM files WHERE title = 'File:Batch unrenderable.png'"
        ).fetchall()
    assert error.startswith("the wiki could not render a thumbnail: ")
    assert summary["files_classified"] == len(good)


TRIGGERS = {
    "sqlite": "CREATE TRIGGER refuse BEFORE INSERT ON files"
    " WHEN NEW.title = '{refused}'"
    " BEGIN SELECT RAISE(ABORT, 'refused by a trigger'); END",
    "mariadb": "CREATE TRIGGER refuse BEFORE INSERT ON files FOR EACH ROW"
    " IF NEW.title = '{refused}' THEN"
    " SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused by a trigger'; END IF",
}


@pytest.mark.parametrize("backend", ["sqlite", "mariadb"])
def test_a_store_that_refuses_one_file_does_not_end_the_pass(
    backend, wiki, images, tmp_path, request
):
    """A database error on one file's record (a trigger refuses it, on SQLite and on a
    real MariaDB server as on ToolsDB) is that file's error: the pass goes on."""
    since = wait_next_second()
    client = wiki.client()
    refused, accepted = f"Refused by the store {backend}.jpg", f"Accepted after it {backend}.jpg"
    seed = 520 if backend == "sqlite" else 522
    client.upload(refused, variant(images["Coffee cup.jpg"], seed))
    client.upload(accepted, variant(images["Coffee cup.jpg"], seed + 1))
    env = bot_env(tmp_path / "pwb", {"localwiki": wiki.port})
    if backend == "sqlite":
        (tmp_path / "var").mkdir()
        url, section = f"sqlite:///{tmp_path}/var/bot.sqlite", {}
    else:
        server = request.getfixturevalue("mariadb")
        database = server.new_database()  # "bot__tN"; the config names it "{user}__tN"
        url = server.url(database).render_as_string(hide_password=False)
        section = {"store": {"host": "127.0.0.1", "port": server.port,
                             "database": "{user}__" + database.split("__", 1)[1]}}  # fmt: skip
        env.update(TOOL_TOOLSDB_USER=USER, TOOL_TOOLSDB_PASSWORD=PASSWORD)
    write_bot_config(tmp_path / "config.toml", wiki.api_url, **section)
    store = Store(url)  # the schema, then a trigger on it
    with store.engine.begin() as conn:
        conn.execute(text(TRIGGERS[backend].format(refused=f"File:{refused}")))

    done = run_bot(["--once", "--dry-run", "--since", since], tmp_path, env)

    summary = _summary(done)
    assert summary["files_seen"] == 2 and summary["files_classified"] == 1
    assert f"recording the error of File:{refused} failed" in done.stderr
    assert "refused by a trigger" in done.stderr
    assert _files(store) == {f"File:{accepted}": ["classified"]}


def test_status_counts_files_that_end_in_an_error(wiki, images, tmp_path):
    """A file the wiki cannot describe (`api_error`) is shown as retried while it has
    attempts left, and once they run out counts against health: more than the allowed
    share of the recent files in a final error makes the status unhealthy."""
    since = wait_next_second()
    client = wiki.client()
    client.upload("Status good.jpg", variant(images["Coffee cup.jpg"], 530))
    client.upload("Status truncated.png", _truncated_png())
    client.edit("User:Bot/Run/Status", "true")
    report = {"page_prefix": "User:{user}/Topics", "kill_switch_page": "User:Bot/Run/Status"}
    write_bot_config(
        tmp_path / "config.toml", wiki.api_url, source={"max_attempts": 2}, report=report
    )
    env = bot_env(tmp_path / "pwb", {"localwiki": wiki.port})

    _summary(run_bot(["--once", "--dry-run", "--since", since], tmp_path, env))
    code, first = _status(tmp_path, env)
    assert first["recent_errors"]["retrying"] == {"api_error": 1}
    assert first["recent_errors"]["final"] == {}
    assert code == 0 and first["healthy"], first["problems"]

    _summary(run_bot(["--once", "--dry-run"], tmp_path, env))  # the retry: attempts run out
    code, second = _status(tmp_path, env)
    errors = second["recent_errors"]
    assert errors["retrying"] == {} and errors["final"] == {"api_error": 1}
    assert errors["examples"] == {"api_error": ["File:Status truncated.png"]}
    assert code == 1
    [problem] = second["problems"]
    assert problem.startswith("1 of 2 files in the last 86400 s ended in an error (50%")
    assert "api_error 1 (e.g. File:Status truncated.png)" in problem

    # within the limits set by the operator, the same store is healthy, and the text
    # form still names the failed file
    done = subprocess.run(
        [sys.executable, "-m", "bot.status", "--max-errors", "1", "--max-error-share", "0.5"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout
    assert "final errors last 86400 s: api_error 1 of 2 files" in done.stdout
    assert "api_error e.g.: File:Status truncated.png" in done.stdout
