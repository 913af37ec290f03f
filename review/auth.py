"""Login with the wiki's OAuth 2.0 (MediaWiki's OAuth extension, as on Commons).

Authlib's Flask client does the authorization-code flow: /login sends the reviewer to
the wiki's consent page, /oauth/callback trades the code for a token (checking the state
it kept in the signed session) and reads the user name from the wiki's profile endpoint.
Only that user name is kept, in the session: the tool asks for no grant beyond identity,
because it needs nothing but to know who reviewed. Reviews are refused without it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from authlib.integrations.base_client import OAuthError
from authlib.integrations.flask_client import OAuth
from flask import (
    Blueprint,
    Flask,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

blueprint = Blueprint("auth", __name__)


def init_oauth(app: Flask, base_url: str, client_id: str, client_secret: str) -> None:
    """Register the wiki as the OAuth provider; `base_url` is its .../oauth2 REST base."""
    oauth = OAuth(app)
    oauth.register(
        "wiki",
        client_id=client_id,
        client_secret=client_secret,
        authorize_url=f"{base_url}/authorize",
        access_token_url=f"{base_url}/access_token",
        api_base_url=f"{base_url}/",
        client_kwargs={"token_endpoint_auth_method": "client_secret_post"},
    )
    app.extensions["review_oauth"] = oauth


def current_user() -> str | None:
    return session.get("user")


def safe_next(target: str | None) -> str:
    """A local path to return to after login; anything else (another host) goes home."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("gallery.index")


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Refuse a state change without a login: 401, and nothing is touched."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_user() is None:
            return jsonify(error="log in to review"), 401
        return view(*args, **kwargs)

    return wrapped


def _client() -> Any:
    return current_app.extensions["review_oauth"].wiki


@blueprint.get("/login")
def login() -> Any:
    session["next"] = safe_next(request.args.get("next"))
    return _client().authorize_redirect(url_for("auth.callback", _external=True))


@blueprint.get("/oauth/callback")
def callback() -> Any:
    client = _client()
    try:
        token = client.authorize_access_token()
        profile = client.get("resource/profile", token=token)
        profile.raise_for_status()
        name = profile.json()["username"]
    except (OAuthError, KeyError, ValueError, OSError) as err:
        return render_template("message.html", title="Login failed", message=str(err)), 400
    target = session.get("next")
    session.clear()  # a fresh session (and CSRF token) for the logged-in reviewer
    session["user"] = name
    return redirect(safe_next(target))


@blueprint.post("/logout")
def logout() -> Any:
    session.clear()
    return redirect(url_for("gallery.index"))
