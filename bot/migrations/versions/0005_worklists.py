"""What the worklist pages and the health check need: whether a file has visible
categories (the "needs categories" worklist), when the bot learned it was deleted (it
then leaves every page), an index on suggestions by label and upload log id (a topic
page walks its label's newest rows and stops at its limit), and the outcome of the last
save of each page (a failed save shows in `python -m bot.status`).

Revision ID: 0005, after 0004 (reviews)
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

MYSQL_TABLE = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}


def upgrade() -> None:
    # each step is skipped when done: on MariaDB a step that died half-way is not undone
    inspector = sa.inspect(op.get_bind())
    columns = {c["name"] for c in inspector.get_columns("files")}
    if "visible_categories" not in columns:
        op.add_column("files", sa.Column("visible_categories", sa.Integer))
    if "deleted_at" not in columns:
        op.add_column("files", sa.Column("deleted_at", sa.String(20)))
    indexes = {i["name"] for i in inspector.get_indexes("suggestions")}
    if "ix_suggestions_label_logid" not in indexes:
        op.create_index("ix_suggestions_label_logid", "suggestions", ["label", "logid"])
    if not inspector.has_table("page_saves"):
        op.create_table(
            "page_saves",
            sa.Column("title", sa.String(255), primary_key=True),
            sa.Column("status", sa.String(32), nullable=False),
            sa.Column("detail", sa.Text),
            sa.Column("attempted_at", sa.DateTime, nullable=False),
            sa.Column("saved_at", sa.DateTime),
            **MYSQL_TABLE,
        )


def downgrade() -> None:
    op.drop_table("page_saves")
    op.drop_index("ix_suggestions_label_logid", "suggestions")
    with op.batch_alter_table("files") as batch:
        batch.drop_column("deleted_at")
        batch.drop_column("visible_categories")
