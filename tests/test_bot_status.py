"""`python -m bot.status` as a health check, on the bot's real state: a pass of the bot
against the local MediaWiki with its store on a real MariaDB server (the ToolsDB set-up:
[store] host and database, credentials from TOOL_TOOLSDB_USER / TOOL_TOOLSDB_PASSWORD)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import bot_env, write_bot_config
from tests.mariadb_fixtures import PASSWORD, USER
from tests.wiki_fixtures import REPO, free_port, run_bot

pytestmark = pytest.mark.integration


def _status(cwd, env, *args: str) -> tuple[int, dict]:
    done = subprocess.run(
        [sys.executable, "-m", "bot.status", "--json", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode in (0, 1), done.stderr[-3000:]
    return done.returncode, json.loads(done.stdout)


def test_status_after_a_pass_on_toolsdb_like_mariadb(wiki, uploaded, mariadb, tmp_path):
    database = mariadb.new_database()  # "bot__tN"; the config names it "{user}__tN"
    store = {
        "host": "127.0.0.1",
        "port": mariadb.port,
        "database": "{user}__" + database.split("__", 1)[1],
    }
    write_bot_config(tmp_path / "config.toml", wiki.api_url, store=store)
    env = bot_env(tmp_path / "pwb", {"localwiki": wiki.port})
    env.update(TOOL_TOOLSDB_USER=USER, TOOL_TOOLSDB_PASSWORD=PASSWORD, PYTHONPATH=str(REPO))

    code, before = _status(tmp_path, env)
    assert code == 1 and before["problems"][1:] == ["no pass has finished yet"]
    assert before["problems"][0].startswith("kill-switch page User:Bot/Run is missing")
    wiki.client().edit("User:Bot/Run", "true")

    done = run_bot(["--once", "--dry-run", "--since", uploaded], tmp_path, env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert PASSWORD not in done.stderr  # the store URL in the log hides the password
    summary = json.loads(done.stdout.strip().splitlines()[-1])

    code, status = _status(tmp_path, env)
    assert code == 0 and status["healthy"], status
    assert status["store"].startswith(f"mysql+pymysql://{USER}:***@127.0.0.1")
    assert status["cursor"] == summary["cursor"] == status["newest_upload"]
    assert status["lag_seconds"] == 0
    assert status["outcomes_last_hour"] == status["outcomes_last_day"]
    assert status["outcomes_last_hour"]["classified"] == summary["files_classified"]
    assert status["last_pass"]["files_seen"] == summary["files_seen"]
    assert status["model"]["version"]

    # a stale pass makes it unhealthy; the text form says why on its last line
    text = subprocess.run(
        [sys.executable, "-m", "bot.status", "--max-pass-age", "0.001"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert text.returncode == 1
    assert text.stdout.splitlines()[-1].startswith("health: UNHEALTHY: last pass finished")

    # the wiki out of reach: said so, lag unknown, health judged on the passes alone
    write_bot_config(
        tmp_path / "config.toml", f"http://127.0.0.1:{free_port()}/api.php", store=store
    )
    code, offline = _status(tmp_path, env)
    assert code == 0 and offline["lag_seconds"] is None
    assert offline["wiki_problem"].startswith("wiki unreachable")


def test_status_without_toolsdb_credentials_is_a_configuration_error(tmp_path):
    (tmp_path / "config.toml").write_text(
        '[store]\nhost = "tools.db.svc.wikimedia.cloud"\ndatabase = "{user}__topicbot"\n'
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "PYWIKIBOT_NO_USER_CONFIG": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "bot.status"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "TOOL_TOOLSDB_USER and TOOL_TOOLSDB_PASSWORD" in done.stderr
