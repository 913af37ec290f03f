"""The first schema: cursor, files, predictions, suggestions, category cache.

Only the tables that are missing are created, so a store made before migrations existed
(by `metadata.create_all`) is adopted as it is, and a run that died half-way through this
step on MariaDB (where DDL is not transactional) completes on the next start.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

MYSQL_TABLE = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}


def _missing(name: str) -> bool:
    return not sa.inspect(op.get_bind()).has_table(name)


def _index(name: str, table: str, columns: list[str]) -> None:
    """Create an index unless it exists: a start that died between a table and its
    indexes (SQLite's DDL is not transactional either) completes them next time."""
    if name not in {i["name"] for i in sa.inspect(op.get_bind()).get_indexes(table)}:
        op.create_index(name, table, columns)


def upgrade() -> None:
    if _missing("cursor"):
        op.create_table(
            "cursor",
            sa.Column("name", sa.String(32), primary_key=True),
            sa.Column("timestamp", sa.String(20), nullable=False),
            sa.Column("logid", sa.BigInteger, nullable=False),
            **MYSQL_TABLE,
        )
    if _missing("files"):
        op.create_table(
            "files",
            sa.Column("logid", sa.BigInteger, primary_key=True, autoincrement=False),
            sa.Column("title", sa.String(255), nullable=False),
            sa.Column("page_id", sa.BigInteger),
            sa.Column("sha1", sa.String(40)),
            sa.Column("uploader", sa.String(255)),
            sa.Column("uploaded_at", sa.String(20), nullable=False),
            sa.Column("mime", sa.String(100)),
            sa.Column("outcome", sa.String(32), nullable=False),
            sa.Column("error", sa.Text),
            sa.Column("claimed_topics", sa.Text),
            sa.Column("milliseconds", sa.Integer),
            sa.Column("attempts", sa.Integer, nullable=False),
            sa.Column("processed_at", sa.DateTime, nullable=False),
            **MYSQL_TABLE,
        )
    _index("ix_files_title", "files", ["title"])
    _index("ix_files_sha1", "files", ["sha1"])
    _index("ix_files_uploaded_at", "files", ["uploaded_at"])
    if _missing("predictions"):
        op.create_table(
            "predictions",
            sa.Column("sha1", sa.String(40), primary_key=True),
            sa.Column("model_version", sa.String(64), primary_key=True),
            sa.Column("model_name", sa.String(128), nullable=False),
            sa.Column("operating_point", sa.String(128), nullable=False),
            sa.Column("predictions", sa.Text, nullable=False),
            sa.Column("probabilities", sa.Text, nullable=False),
            sa.Column("created_at", sa.DateTime, nullable=False),
            **MYSQL_TABLE,
        )
    if _missing("suggestions"):
        op.create_table(
            "suggestions",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("title", sa.String(255), nullable=False),
            sa.Column("label", sa.String(64), nullable=False),
            sa.Column("logid", sa.BigInteger, nullable=False),
            sa.Column("sha1", sa.String(40), nullable=False),
            sa.Column("score", sa.Double, nullable=False),
            sa.Column("operating_point", sa.String(128), nullable=False),
            sa.Column("model_version", sa.String(64), nullable=False),
            sa.Column("adds_topic", sa.Boolean),
            sa.Column("state", sa.String(16), nullable=False),
            sa.Column("created_at", sa.DateTime, nullable=False),
            sa.Column("updated_at", sa.DateTime, nullable=False),
            sa.UniqueConstraint("title", "label", name="uq_suggestion_file_label"),
            **MYSQL_TABLE,
        )
    _index("ix_suggestions_logid", "suggestions", ["logid"])
    _index("ix_suggestions_state", "suggestions", ["state"])
    if _missing("category_cache"):
        op.create_table(
            "category_cache",
            sa.Column("title", sa.String(255), primary_key=True),
            sa.Column("parents", sa.Text, nullable=False),
            sa.Column("hidden", sa.Boolean, nullable=False),
            sa.Column("page_exists", sa.Boolean, nullable=False),
            sa.Column("fetched_at", sa.DateTime, nullable=False),
            **MYSQL_TABLE,
        )


def downgrade() -> None:
    for name in ("category_cache", "suggestions", "predictions", "files", "cursor"):
        op.drop_table(name)
