"""The training log: per image (SHA-1), what the learned head read (8-bit, with its
layout), the model that computed it, and the topics its categories implied, so that
`training.retrain_head` can fit a new head on real Commons uploads.

Revision ID: 0007, after 0006 (flag reviewers)
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

MYSQL_TABLE = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}


def upgrade() -> None:
    # each step is skipped when done: on MariaDB a step that died half-way is not undone
    inspector = sa.inspect(op.get_bind())
    if not inspector.has_table("training_log"):
        op.create_table(
            "training_log",
            sa.Column("sha1", sa.String(40), primary_key=True),
            sa.Column("model_version", sa.String(64), nullable=False),
            sa.Column("inputs", sa.LargeBinary, nullable=False),
            sa.Column("layout", sa.Text, nullable=False),
            sa.Column("claimed_topics", sa.Text),
            sa.Column("walk_complete", sa.Boolean, nullable=False),
            sa.Column("created_at", sa.DateTime, nullable=False),
            **MYSQL_TABLE,
        )
    indexes = {i["name"] for i in sa.inspect(op.get_bind()).get_indexes("training_log")}
    if "ix_training_log_created_at" not in indexes:
        op.create_index("ix_training_log_created_at", "training_log", ["created_at"])


def downgrade() -> None:
    op.drop_table("training_log")
