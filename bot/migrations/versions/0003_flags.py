"""Vandalism-candidate flags (one per file title, with their state) and the pixel
features per sha1 that flags need when a stored prediction is reused.

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

MYSQL_TABLE = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}


def upgrade() -> None:
    # each step is skipped when done: on MariaDB a step that died half-way is not undone
    inspector = sa.inspect(op.get_bind())
    if not inspector.has_table("flags"):
        op.create_table(
            "flags",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("title", sa.String(255), nullable=False, unique=True),
            sa.Column("logid", sa.BigInteger, nullable=False),
            sa.Column("sha1", sa.String(40), nullable=False),
            sa.Column("uploader", sa.String(255)),
            sa.Column("uploaded_at", sa.String(20), nullable=False),
            sa.Column("dhash", sa.String(16)),
            sa.Column("score", sa.Double, nullable=False),
            sa.Column("tier", sa.String(32), nullable=False),
            sa.Column("signals", sa.Text, nullable=False),
            sa.Column("state", sa.String(16), nullable=False),
            sa.Column("created_at", sa.DateTime, nullable=False),
            sa.Column("updated_at", sa.DateTime, nullable=False),
            **MYSQL_TABLE,
        )
    if "ix_flags_state" not in {i["name"] for i in inspector.get_indexes("flags")}:
        op.create_index("ix_flags_state", "flags", ["state"])
    if not inspector.has_table("image_features"):
        op.create_table(
            "image_features",
            sa.Column("sha1", sa.String(40), primary_key=True),
            sa.Column("dhash", sa.String(16), nullable=False),
            sa.Column("spread", sa.Double, nullable=False),
            sa.Column("created_at", sa.DateTime, nullable=False),
            **MYSQL_TABLE,
        )


def downgrade() -> None:
    op.drop_table("image_features")
    op.drop_index("ix_flags_state", "flags")
    op.drop_table("flags")
