"""Who reviewed a flag and in which revision of the review page: a flag is cleared only
by an account holding a configured right, a revert of that revision restores it, and
an administrator can see whose word withdrew it.

Revision ID: 0006, after 0005 (worklists)
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # each step is skipped when done: on MariaDB a step that died half-way is not undone
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("flags")}
    with op.batch_alter_table("flags") as batch:
        if "reviewed_by" not in columns:
            batch.add_column(sa.Column("reviewed_by", sa.String(255)))
        if "reviewed_revision" not in columns:
            batch.add_column(sa.Column("reviewed_revision", sa.BigInteger))


def downgrade() -> None:
    with op.batch_alter_table("flags") as batch:
        batch.drop_column("reviewed_revision")
        batch.drop_column("reviewed_by")
