"""The WSGI entry point for Toolforge's webservice: `app`, built from the configuration
named by REVIEW_CONFIG (default toolforge/config.toml) and the REVIEW_* secrets."""

from __future__ import annotations

import os

from bot.config import load_config
from bot.store import Store
from review.app import create_app, secrets_from

_config = load_config(os.environ.get("REVIEW_CONFIG", "toolforge/config.toml"))
app = create_app(_config, Store(_config.store_url()), secrets_from())
