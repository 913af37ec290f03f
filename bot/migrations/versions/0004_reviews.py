"""Reviews of suggestions (who decided what, when, and whether it was undone), the
implicit signal "confirmed by categories", and two indexes for the review tool: (label,
id) for a topic's gallery newest-first, (label, state, adds_topic) for counts per label.

A review stands while `live_suggestion_id` holds its suggestion's id; an undo sets it to
NULL. The unique constraint on that column is what makes a review count once: two
reviewers (or a double click) racing on one suggestion cannot both insert a standing
review, on SQLite and on MariaDB alike (NULLs never collide, so undone rows stay).

Revision ID: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

MYSQL_TABLE = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}


def upgrade() -> None:
    # each step is skipped when done: on MariaDB a step that died half-way is not undone
    inspector = sa.inspect(op.get_bind())
    if not inspector.has_table("reviews"):
        op.create_table(
            "reviews",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("suggestion_id", sa.Integer, nullable=False),
            sa.Column("decision", sa.String(16), nullable=False),
            sa.Column("previous_state", sa.String(16), nullable=False),
            sa.Column("reviewer", sa.String(255), nullable=False),
            sa.Column("reviewed_at", sa.DateTime, nullable=False),
            sa.Column("undone_by", sa.String(255)),
            sa.Column("undone_at", sa.DateTime),
            sa.Column("live_suggestion_id", sa.Integer),
            sa.UniqueConstraint("live_suggestion_id", name="uq_reviews_live"),
            **MYSQL_TABLE,
        )
    if "ix_reviews_suggestion_id" not in {i["name"] for i in inspector.get_indexes("reviews")}:
        op.create_index("ix_reviews_suggestion_id", "reviews", ["suggestion_id"])
    if not inspector.has_table("category_confirmations"):
        op.create_table(
            "category_confirmations",
            sa.Column("suggestion_id", sa.Integer, primary_key=True, autoincrement=False),
            sa.Column("confirmed_at", sa.DateTime, nullable=False),
            **MYSQL_TABLE,
        )
    indexes = {i["name"] for i in inspector.get_indexes("suggestions")}
    if "ix_suggestions_label_id" not in indexes:
        op.create_index("ix_suggestions_label_id", "suggestions", ["label", "id"])
    if "ix_suggestions_label_counts" not in indexes:
        op.create_index(
            "ix_suggestions_label_counts", "suggestions", ["label", "state", "adds_topic"]
        )


def downgrade() -> None:
    op.drop_index("ix_suggestions_label_counts", "suggestions")
    op.drop_index("ix_suggestions_label_id", "suggestions")
    op.drop_table("category_confirmations")
    op.drop_index("ix_reviews_suggestion_id", "reviews")
    op.drop_table("reviews")
