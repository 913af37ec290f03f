"""The Flask application: galleries, reviews, the precision table and a health check.

`create_app` takes the bot's validated configuration and an open store, so the tool
reads exactly what the bot writes. Secrets (the OAuth client and the session key) come
from the environment (`secrets_from`); CSRF protection covers every POST, and each
review or undo also needs a logged-in reviewer. Viewing needs no login, like
Special:NewFiles.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import (
    Blueprint,
    Flask,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf.csrf import CSRFError, CSRFProtect

from bot.config import Config, ConfigError
from bot.store import REVIEW_DECISIONS, REVIEWABLE_STATES, Store
from review import auth
from review.links import WikiLinks

CLIENT_ID = "REVIEW_OAUTH_CLIENT_ID"
CLIENT_SECRET = "REVIEW_OAUTH_CLIENT_SECRET"
SECRET_KEY = "REVIEW_SECRET_KEY"

STATUSES = {
    "open": REVIEWABLE_STATES,
    "reviewed": REVIEW_DECISIONS,
    "all": REVIEWABLE_STATES + REVIEW_DECISIONS,
}

gallery = Blueprint("gallery", __name__)


@dataclass(frozen=True)
class Secrets:
    client_id: str
    client_secret: str
    secret_key: str


def secrets_from(environ: Mapping[str, str] = os.environ) -> Secrets:
    """The tool's secrets from the environment; a clear error names what is missing."""
    missing = [k for k in (CLIENT_ID, CLIENT_SECRET, SECRET_KEY) if not environ.get(k)]
    if missing:
        raise ConfigError(
            f"set {', '.join(missing)} in the environment (on Toolforge: toolforge envvars "
            "create NAME); see toolforge/README.md"
        )
    return Secrets(environ[CLIENT_ID], environ[CLIENT_SECRET], environ[SECRET_KEY])


def create_app(config: Config, store: Store, secrets: Secrets) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secrets.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,  # valid as long as the session: a long review sitting
    )
    app.extensions["review_store"] = store
    app.extensions["review_config"] = config
    app.extensions["review_links"] = WikiLinks.from_config(config.wiki)
    CSRFProtect(app)
    auth.init_oauth(app, config.review.oauth_url, secrets.client_id, secrets.client_secret)
    app.register_blueprint(auth.blueprint)
    app.register_blueprint(gallery)
    app.register_error_handler(CSRFError, _csrf_refused)
    app.jinja_env.globals.update(current_user=auth.current_user)
    return app


def _csrf_refused(err: CSRFError) -> Any:
    if request.accept_mimetypes.best == "application/json":
        return jsonify(error=f"refused: {err.description}"), 400
    return render_template("message.html", title="Refused", message=err.description), 400


def _store() -> Store:
    return current_app.extensions["review_store"]


def _config() -> Config:
    return current_app.extensions["review_config"]


def _model_version(store: Store) -> str | None:
    """The model of the newest pass: reviews of an older model's suggestions no longer
    decide what is held back."""
    last = store.last_pass()
    return last.model_version if last else None


def _float_arg(name: str) -> float:
    try:
        return max(0.0, min(1.0, float(request.args.get(name) or 0)))
    except ValueError:
        return 0.0


@gallery.get("/")
def index() -> Any:
    review = _config().review
    file = (request.args.get("file") or "").replace("_", " ") or None
    # a worklist's link to one file shows its card whatever its state
    status = request.args.get("status", "all" if file else "open")
    status = status if status in STATUSES else "open"
    topic = request.args.get("topic") or None
    before = request.args.get("before", type=int)
    filters = {
        "title": f"File:{file}" if file else None,
        "label": topic,
        "new_only": request.args.get("new") == "1",
        "needs_categories": request.args.get("needs") == "1",
        "min_score": _float_arg("min_score"),
    }
    rows = _store().gallery_rows(
        states=STATUSES[status], before_id=before, limit=review.page_size + 1, **filters
    )
    more, rows = len(rows) > review.page_size, rows[: review.page_size]
    args = {k: v for k, v in request.args.items() if k != "before"}
    return _gallery_page(
        rows,
        topic,
        status,
        filters,
        next_url=_url_with(args, before=rows[-1].suggestion_id) if more and rows else None,
        first_url=_url_with(args) if before else None,
    )


@gallery.get("/suggestions/<int:suggestion_id>")
def suggestion(suggestion_id: int) -> Any:
    """One suggestion's card, in whatever state: what a worklist page links to."""
    row = _store().gallery_row(suggestion_id)
    if row is None:
        message = f"No suggestion {suggestion_id}: it may belong to another store."
        return render_template("message.html", title="Not found", message=message), 404
    return _gallery_page([row], row.label, "all", {"label": row.label})


def _gallery_page(
    rows: list,
    topic: str | None,
    status: str,
    filters: Mapping[str, Any],
    next_url: str | None = None,
    first_url: str | None = None,
) -> str:
    store, review = _store(), _config().review
    version = _model_version(store)
    precision = store.label_precision(version, labels=[topic]) if topic else []
    return render_template(
        "gallery.html",
        rows=rows,
        labels=store.gallery_labels(),
        topic=topic,
        status=status,
        filters=filters,
        held=store.held_back_labels(review.precision_floor, review.min_reviews, version),
        precision=precision[0] if precision else None,
        links=current_app.extensions["review_links"],
        thumb_width=review.thumb_width,
        next_url=next_url,
        first_url=first_url,
        here=request.full_path,
    )


def _url_with(args: Mapping[str, str], **extra: Any) -> str:
    return url_for("gallery.index", **{**args, **extra})


@gallery.get("/precision")
def precision() -> Any:
    store, review = _store(), _config().review
    version = _model_version(store)
    return render_template(
        "precision.html",
        table=store.label_precision(version),
        held=store.held_back_labels(review.precision_floor, review.min_reviews, version),
        floor=review.precision_floor,
        min_reviews=review.min_reviews,
        model_version=version,
    )


def _answer(suggestion_id: int, changed: bool, message: str) -> Any:
    """JSON for the page's script, a redirect back for a plain form post."""
    if request.accept_mimetypes.best == "application/json":
        row = _store().gallery_row(suggestion_id)
        return jsonify(
            changed=changed,
            state=row.state if row else None,
            reviewer=row.reviewer if row else None,
            message=message,
        )
    return redirect(auth.safe_next(request.form.get("next")) + f"#s{suggestion_id}")


@gallery.post("/suggestions/<int:suggestion_id>/review")
@auth.login_required
def review_suggestion(suggestion_id: int) -> Any:
    decision = request.form.get("decision", "")
    if decision not in REVIEW_DECISIONS:
        return jsonify(error=f"decision must be one of {', '.join(REVIEW_DECISIONS)}"), 400
    try:
        changed = _store().record_review(suggestion_id, decision, auth.current_user())
    except LookupError:
        return jsonify(error=f"no suggestion {suggestion_id}"), 404
    message = decision if changed else "already reviewed (or withdrawn): nothing changed"
    return _answer(suggestion_id, changed, message)


@gallery.post("/suggestions/<int:suggestion_id>/undo")
@auth.login_required
def undo(suggestion_id: int) -> Any:
    changed = _store().undo_review(suggestion_id, auth.current_user())
    return _answer(suggestion_id, changed, "undone" if changed else "nothing to undo")


@gallery.get("/healthz")
def healthz() -> Any:
    """For the platform's health check: the store answers."""
    _store().gallery_labels()
    return "ok\n", 200, {"Content-Type": "text/plain"}
