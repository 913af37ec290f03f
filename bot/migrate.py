"""Versioned schema migrations: applied when a Store opens, and by hand for a rollback.

The schema is owned by the Alembic revisions in `bot/migrations/versions`, one file per
change, numbered; Alembic keeps the database's revision in its `alembic_version` table,
so an upgrade runs only the revisions a database lacks, the same way on SQLite and on
ToolsDB (MariaDB), and a revision can be reversed before rolling code back. Alembic,
rather than a home-made version table, because it is SQLAlchemy's own and well kept,
and because later changes to columns need its batch mode on SQLite (which cannot ALTER
a column) and its comparison of a database with `bot.store.metadata`, which the tests
use to prove the revisions and the store's tables never drift apart.

Two processes may start at once (the continuous job and a health check after a
deploy); MariaDB commits each DDL statement on its own, so the loser of that race sees
"table exists" or a moved revision. It then tries again and finds the work done: every
revision skips the steps already applied.

    python -m bot.migrate               show the database's revision and the code's
    python -m bot.migrate upgrade       bring the database to the newest revision
    python -m bot.migrate downgrade REV undo revisions down to REV (before a rollback)
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from bot.config import ConfigError, find_config

log = logging.getLogger(__name__)
logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # a line per plugin

MIGRATIONS = Path(__file__).with_name("migrations")
ATTEMPTS = 8  # racing starts may each meet another's DDL at a different step


def _alembic(conn: Connection | None = None) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = conn
    return config


def head() -> str:
    """The newest revision this code knows."""
    return ScriptDirectory.from_config(_alembic()).get_current_head()


def current(engine: Engine) -> str | None:
    """The database's revision; None for an empty database."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply the revisions the database lacks (nothing, quickly, when it is current)."""
    target = head() if revision == "head" else revision
    for attempt in range(1, ATTEMPTS + 1):
        if current(engine) == target:
            return
        try:
            with engine.begin() as conn:
                command.upgrade(_alembic(conn), target)
            return
        except (DBAPIError, CommandError) as err:
            if attempt == ATTEMPTS:
                if current(engine) == target:  # the other writer finished it
                    return
                raise
            log.warning("schema upgrade met another writer (%s); trying again", err)
            time.sleep(0.2 * attempt)


def downgrade(engine: Engine, revision: str) -> None:
    """Undo revisions down to `revision` ("base": all of them, dropping every table)."""
    with engine.begin() as conn:
        command.downgrade(_alembic(conn), revision)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot.migrate",
        description="Show or change the schema revision of the bot's store (the database "
        "configured in [store]). The bot upgrades by itself at start; downgrade before "
        "deploying an older release whose code does not know the newest revision.",
    )
    parser.add_argument("--config", type=Path, help="configuration file (default: ./config.toml)")
    sub = parser.add_subparsers(dest="action")
    sub.add_parser("upgrade", help="apply every revision the database lacks")
    down = sub.add_parser("downgrade", help="undo revisions down to REV")
    down.add_argument("revision", help='a revision id such as 0001, or "base"')
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(levelname)s %(message)s")
    try:
        url = find_config(args.config).store_url()
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    engine = create_engine(url)
    if args.action == "upgrade":
        upgrade(engine)
    elif args.action == "downgrade":
        downgrade(engine, args.revision)
    print(f"database {url}: revision {current(engine)}; this code's newest: {head()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
