"""The WSGI entry point for Toolforge's webservice: `app`, built from the configuration
named by REVIEW_CONFIG (default toolforge/config.toml) and the REVIEW_* secrets.

Toolforge serves tools over HTTPS through its front proxy: ProxyFix trusts that one
proxy's X-Forwarded-Proto and -Host, so the OAuth callback URL the tool sends is the
public https one registered with the consumer, and the session cookie is sent only
over HTTPS.
"""

from __future__ import annotations

import os

from werkzeug.middleware.proxy_fix import ProxyFix

from bot.config import load_config
from bot.store import Store
from review.app import create_app, secrets_from

_config = load_config(os.environ.get("REVIEW_CONFIG", "toolforge/config.toml"))
app = create_app(_config, Store(_config.store_url()), secrets_from())
app.config.update(SESSION_COOKIE_SECURE=True, PREFERRED_URL_SCHEME="https")
app.wsgi_app = ProxyFix(app.wsgi_app, x_proto=1, x_host=1)
