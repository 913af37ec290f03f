"""The flags' dHash in 8 indexed bands of 8 bits (bot.image_features.DHASH_BANDS): the
near-duplicate check reads only the flags that share a band with the new file's hash,
instead of every flag's hash, so its cost stays flat as flags accumulate.

Revision ID: 0009, after 0008 (promotions).
"""

import sqlalchemy as sa
from alembic import op

from bot.image_features import DHASH_BANDS, dhash_bands

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

CHUNK = 1000


def bands_columns() -> list[str]:
    return [f"dhash_band{i}" for i in range(DHASH_BANDS)]


def upgrade() -> None:
    # each step is skipped when done: on MariaDB a step that died half-way is not undone
    bind = op.get_bind()
    columns = {c["name"] for c in sa.inspect(bind).get_columns("flags")}
    missing = [i for i in range(DHASH_BANDS) if f"dhash_band{i}" not in columns]
    if missing:
        with op.batch_alter_table("flags") as batch:
            for i in missing:
                batch.add_column(sa.Column(f"dhash_band{i}", sa.Integer))
    indexes = {i["name"] for i in sa.inspect(bind).get_indexes("flags")}
    for i in range(DHASH_BANDS):
        if f"ix_flags_dhash_band{i}" not in indexes:
            op.create_index(f"ix_flags_dhash_band{i}", "flags", [f"dhash_band{i}", "state"])
    # the bands of flags stored before: the last column filled marks a row done
    flags = sa.table("flags", *(sa.column(c) for c in ("id", "dhash", *bands_columns())))
    last = flags.c[f"dhash_band{DHASH_BANDS - 1}"]
    while True:
        rows = bind.execute(
            sa.select(flags.c.id, flags.c.dhash)
            .where(flags.c.dhash.is_not(None), last.is_(None))
            .limit(CHUNK)
        ).all()
        if not rows:
            break
        for row in rows:
            values = dict(zip(bands_columns(), dhash_bands(row.dhash), strict=True))
            bind.execute(sa.update(flags).where(flags.c.id == row.id).values(**values))


def downgrade() -> None:
    for i in range(DHASH_BANDS):
        op.drop_index(f"ix_flags_dhash_band{i}", "flags")
    with op.batch_alter_table("flags") as batch:
        for i in range(DHASH_BANDS):
            batch.drop_column(f"dhash_band{i}")
