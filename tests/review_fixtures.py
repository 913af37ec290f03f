"""Shared by the review tool's tests: the stand-in OAuth provider, the tool on a store,
and a login through the provider with Flask's test client."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from bot.config import Config, ReviewConfig, WikiConfig
from bot.store import Store
from review.app import Secrets, create_app
from tests.oauth_standin import CLIENT_ID, CLIENT_SECRET, StandInProvider


@pytest.fixture(scope="session")
def provider() -> Iterator[StandInProvider]:
    """The stand-in OAuth provider (tests/oauth_standin.py), running for the session."""
    standin = StandInProvider()
    standin.serve()
    yield standin
    standin.stop()


def make_tool(
    store: Store, provider: StandInProvider, api_url: str, **review: object
) -> Flask:
    config = Config(
        wiki=WikiConfig(api_url=api_url),
        review=ReviewConfig(oauth_url=provider.base_url, **review),
    )
    secrets = Secrets(CLIENT_ID, CLIENT_SECRET, secret_key="test-session-key")
    return create_app(config, store, secrets)


def csrf_token(client: FlaskClient, path: str = "/") -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


def login(client: FlaskClient, user: str, next_path: str = "/") -> str:
    """Log in through the stand-in: the tool's /login, the provider's consent form
    (a real HTTP request), then the tool's callback. Returns where the tool sent us."""
    to_provider = client.get("/login", query_string={"next": next_path})
    assert to_provider.status_code == 302
    authorize = to_provider.headers["Location"]
    assert authorize.startswith("http://127.0.0.1:")
    form = requests.get(authorize, timeout=10)
    assert form.ok and 'name="username"' in form.text
    state = re.search(r'name="state" value="([^"]*)"', form.text).group(1)
    redirect_uri = re.search(r'name="redirect_uri" value="([^"]*)"', form.text).group(1)
    allowed = requests.post(
        authorize.split("?")[0],
        data={"username": user, "state": state, "redirect_uri": redirect_uri},
        allow_redirects=False,
        timeout=10,
    )
    back = urlsplit(allowed.headers["Location"])
    done = client.get(f"{back.path}?{back.query}")
    assert done.status_code == 302, done.get_data(as_text=True)
    return done.headers["Location"]
