"""Record finished passes, and index files by processing time, for `python -m bot.status`:
a health check must tell an idle bot (no new uploads) from a dead one, and count outcomes
of the last hour without scanning every file.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

MYSQL_TABLE = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}


def upgrade() -> None:
    # each step is skipped when done: on MariaDB a step that died half-way is not undone
    inspector = sa.inspect(op.get_bind())
    if not inspector.has_table("passes"):
        _create_passes()
    if "ix_files_processed_at" not in {i["name"] for i in inspector.get_indexes("files")}:
        op.create_index("ix_files_processed_at", "files", ["processed_at"])


def _create_passes() -> None:
    op.create_table(
        "passes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime, nullable=False),
        sa.Column("files_seen", sa.Integer, nullable=False),
        sa.Column("files_classified", sa.Integer, nullable=False),
        sa.Column("errors", sa.Text, nullable=False),
        sa.Column("model_name", sa.String(128), nullable=False),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("stopped", sa.Boolean, nullable=False),
        **MYSQL_TABLE,
    )
    op.create_index("ix_passes_finished_at", "passes", ["finished_at"])


def downgrade() -> None:
    op.drop_index("ix_files_processed_at", "files")
    op.drop_table("passes")
