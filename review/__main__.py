"""python -m review: serve the review tool locally (Toolforge runs review.wsgi instead)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.config import ConfigError, find_config
from bot.store import Store
from review.app import create_app, secrets_from


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m review",
        description="Serve the reviewers' web tool on the bot's store: per-topic galleries "
        "of suggestions with accept, reject and undo after an OAuth login on the wiki. "
        "Needs REVIEW_OAUTH_CLIENT_ID, REVIEW_OAUTH_CLIENT_SECRET and REVIEW_SECRET_KEY "
        "in the environment (toolforge/README.md says how to get them).",
    )
    parser.add_argument(
        "--config", type=Path, help="the bot's configuration (default: ./config.toml)"
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    parser.add_argument("--port", type=int, default=8000, help="port (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        config = find_config(args.config)
        secrets = secrets_from()
        store = Store(config.store_url())
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    create_app(config, store, secrets).run(host=args.host, port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
