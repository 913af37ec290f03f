"""The review tool through Flask's test client, on a real SQLite store, with the login
going through the stand-in OAuth provider over real HTTP: no review without a login, a
wrong CSRF token is refused, accept, reject and undo change the store exactly once."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import requests

from bot.config import ConfigError
from bot.store import PassRecord, Store, _now
from review.app import secrets_from
from tests.review_fixtures import csrf_token, login, make_tool, provider  # noqa: F401
from tests.test_review_store import add_file
from tests.wiki_fixtures import REPO, free_port

API = "http://127.0.0.1:9/w/api.php"


@pytest.fixture
def store(tmp_path) -> Store:
    store = Store(f"sqlite:///{tmp_path}/bot.sqlite")
    for n in range(1, 6):
        add_file(store, n, {"Animals": 0.9, "Maps": 0.6})
    return store


@pytest.fixture
def client(store, provider):  # noqa: F811 - the imported fixture
    return make_tool(store, provider, API, min_reviews=2).test_client()


def _ids(store: Store, label: str) -> list[int]:
    return [r.suggestion_id for r in store.gallery_rows(label=label, states=("pending",))]


def test_gallery_shows_thumbnails_and_links_and_no_buttons_without_login(client, store):
    page = client.get("/?topic=Animals").get_data(as_text=True)
    assert "http://127.0.0.1:9/w/index.php?title=Special:FilePath/5.jpg&amp;width=220" in page
    assert "http://127.0.0.1:9/w/index.php?title=User%3AUp" in page
    assert "Log in with your wiki account" in page
    assert "Accept" not in page and page.count('class="card"') == 5
    assert "Maps" in page  # in the topic filter


def test_a_suggestion_has_its_own_page_for_worklists_to_link(client, store):
    sid = _ids(store, "Maps")[0]
    store.record_review(sid, "rejected", "Bob")
    page = client.get(f"/suggestions/{sid}").get_data(as_text=True)
    assert page.count('class="card"') == 1 and f'id="s{sid}"' in page
    assert 'data-state="rejected"' in page and "by Bob" in page
    assert client.get("/suggestions/99999").status_code == 404
    # the worklist pages' link: ?file=<name>&topic=<label>
    name = store.gallery_row(sid).title.removeprefix("File:")
    page = client.get(f"/?file={name}&topic=Maps").get_data(as_text=True)
    assert page.count('class="card"') == 1 and 'data-state="rejected"' in page
    assert client.get(f"/?file={name}").get_data(as_text=True).count('class="card"') == 2


def test_a_file_without_suggestions_shows_its_thumbnail_and_says_why(client):
    # the flags page links every flagged file to ?file=, suggested topics or not
    page = client.get("/?file=Flagged_icon.png").get_data(as_text=True)
    assert 'class="card"' not in page and "Nothing here with these filters" not in page
    assert "File:Flagged icon.png has no topic suggestion to review" in page
    assert "Special:FilePath/Flagged_icon.png&amp;width=" in page


def test_login_through_the_stand_in_provider_names_the_reviewer(client):
    assert login(client, "Alice", next_path="/?topic=Maps") == "/?topic=Maps"
    page = client.get("/").get_data(as_text=True)
    assert "Reviewing as <strong>Alice</strong>" in page and "Accept" in page


def test_login_never_redirects_off_site_and_a_forged_callback_is_refused(
    client,
    store,
    provider,  # noqa: F811
):
    assert login(client, "Alice", next_path="//evil.example/x") == "/"
    fresh = make_tool(store, provider, API).test_client()
    fresh.get("/login")
    forged = fresh.get("/oauth/callback?code=made-up&state=made-up")
    assert forged.status_code == 400
    assert "Reviewing as" not in fresh.get("/").get_data(as_text=True)


def test_a_post_without_login_changes_nothing(client, store):
    sid = _ids(store, "Animals")[0]
    token = csrf_token(client)
    answer = client.post(
        f"/suggestions/{sid}/review", data={"decision": "accepted", "csrf_token": token}
    )
    assert answer.status_code == 401
    assert client.post(f"/suggestions/{sid}/undo", data={"csrf_token": token}).status_code == 401
    assert store.reviews_of(sid) == [] and sid in _ids(store, "Animals")


def test_a_wrong_or_missing_csrf_token_is_refused(client, store, provider):  # noqa: F811
    login(client, "Alice")
    sid = _ids(store, "Animals")[0]
    for data in ({"decision": "accepted", "csrf_token": "wrong"}, {"decision": "accepted"}):
        answer = client.post(f"/suggestions/{sid}/review", data=data)
        assert answer.status_code == 400
    # a token from another session (another browser) is refused too
    elsewhere = make_tool(store, provider, API).test_client()
    stolen = csrf_token(elsewhere)
    answer = client.post(
        f"/suggestions/{sid}/review", data={"decision": "accepted", "csrf_token": stolen}
    )
    assert answer.status_code == 400
    assert store.reviews_of(sid) == []


def test_accept_reject_and_undo_change_the_store_exactly_once(client, store):
    login(client, "Alice")
    token = csrf_token(client)
    accept, reject = _ids(store, "Animals")[:2]
    as_json = {"Accept": "application/json"}

    def post(path, **data):
        return client.post(path, data={"csrf_token": token, **data}, headers=as_json).get_json()

    first = post(f"/suggestions/{accept}/review", decision="accepted")
    again = post(f"/suggestions/{accept}/review", decision="accepted")
    assert (first["changed"], first["state"], first["reviewer"]) == (True, "accepted", "Alice")
    assert (again["changed"], again["state"]) == (False, "accepted")
    assert post(f"/suggestions/{reject}/review", decision="rejected")["state"] == "rejected"
    assert store.label_review_counts() == {"Animals": (1, 1)}

    undone = post(f"/suggestions/{reject}/undo")
    assert (undone["changed"], undone["state"]) == (True, "pending")
    assert post(f"/suggestions/{reject}/undo")["changed"] is False
    assert store.label_review_counts() == {"Animals": (1, 0)}
    [review] = store.reviews_of(reject)
    assert (review.reviewer, review.undone_by) == ("Alice", "Alice")

    # a plain form post (no script) goes back to the gallery at the card
    plain = client.post(
        f"/suggestions/{reject}/review",
        data={"csrf_token": token, "decision": "rejected", "next": "/?topic=Animals"},
    )
    assert plain.status_code == 302 and plain.headers["Location"] == f"/?topic=Animals#s{reject}"
    bad = client.post(f"/suggestions/{reject}/review", data={"csrf_token": token, "decision": "x"})
    assert bad.status_code == 400


def test_precision_is_shown_with_counts_interval_and_the_hold_back_reason(client, store):
    store.record_pass(
        PassRecord(_now(), _now(), 5, 5, {}, model_name="m", model_version="1", stopped=False)
    )
    login(client, "Alice")
    for sid in _ids(store, "Maps")[:2]:
        store.record_review(sid, "rejected", "Alice")
    for sid in _ids(store, "Animals")[:3]:
        store.record_review(sid, "accepted", "Alice")
    table = client.get("/precision").get_data(as_text=True)
    assert "held back: measured precision 0% (0 of 2 reviews accepted" in table
    assert "100 %" in table and "44–100 %" in table  # Animals: 3 of 3, Wilson interval
    page = client.get("/?topic=Maps").get_data(as_text=True)
    assert "Held back from the worklists" in page and "0 accepted, 2 rejected" in page


def test_secrets_come_from_the_environment_and_the_command_has_help():
    with pytest.raises(ConfigError, match="REVIEW_SECRET_KEY"):
        secrets_from({"REVIEW_OAUTH_CLIENT_ID": "a", "REVIEW_OAUTH_CLIENT_SECRET": "b"})
    done = subprocess.run(
        [sys.executable, "-m", "review", "--help"], cwd=REPO, capture_output=True, text=True
    )
    assert done.returncode == 0 and "--config" in done.stdout and "--port" in done.stdout


def test_python_m_review_serves_the_bots_store(store, tmp_path):
    """The documented command, as a process: the bot's config names the store, the
    secrets come from the environment, and the gallery lists the store's suggestions."""
    url = store.engine.url.render_as_string(hide_password=False)
    config = tmp_path / "config.toml"
    config.write_text(f'[store]\nurl = "{url}"\n[wiki]\napi_url = "{API}"\n')
    port = free_port()
    env = dict(
        os.environ,
        PYTHONPATH=str(REPO),
        REVIEW_OAUTH_CLIENT_ID="id",
        REVIEW_OAUTH_CLIENT_SECRET="secret",
        REVIEW_SECRET_KEY="key",
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "review", "--config", str(config), "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(100):
            try:
                page = requests.get(f"http://127.0.0.1:{port}/?topic=Maps", timeout=5)
                break
            except requests.ConnectionError:
                assert server.poll() is None, server.stderr.read()
                time.sleep(0.1)
        assert page.ok and page.text.count('class="card"') == 5
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).text == "ok\n"
    finally:
        server.terminate()
        server.wait(timeout=10)
    env.pop("REVIEW_SECRET_KEY")
    done = subprocess.run(
        [sys.executable, "-m", "review", "--config", str(config)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "REVIEW_SECRET_KEY" in done.stderr

