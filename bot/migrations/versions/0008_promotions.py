"""The promotion gate's decisions: per retrained model judged by `training.promote`,
when, against which installed model, promoted or refused, the reasons and key figures,
and where its report is, so `bot.status` can say which model is installed and why.

Revision ID: 0008, after 0007 (training log)
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

MYSQL_TABLE = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}


def upgrade() -> None:
    # skipped when done: on MariaDB a step that died half-way is not undone
    if not sa.inspect(op.get_bind()).has_table("promotions"):
        op.create_table(
            "promotions",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("decided_at", sa.DateTime, nullable=False),
            sa.Column("candidate_version", sa.String(64), nullable=False),
            sa.Column("installed_version", sa.String(64), nullable=False),
            sa.Column("decision", sa.String(16), nullable=False),
            sa.Column("figures", sa.Text, nullable=False),
            sa.Column("report_path", sa.Text, nullable=False),
            sa.Column("recorded_at", sa.DateTime, nullable=False),
            sa.UniqueConstraint("candidate_version", "decided_at", name="uq_promotions_decision"),
            **MYSQL_TABLE,
        )


def downgrade() -> None:
    op.drop_table("promotions")
