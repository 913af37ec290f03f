"""The training log in the store (SQLite and MariaDB): written with the file's record,
one row per image however often it is re-uploaded, read back complete walks only, and
pruned by age and by row count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import update

from bot.store import Cursor, FileRecord, Store, TrainingLogRecord, training_log_table
from classifier.head_inputs import HeadInputs, decode, encode
from tests import test_bot_store
from tests.test_bot_store import PRED

store_url = test_bot_store.store_url  # the same databases: a SQLite file, a MariaDB server


@pytest.fixture
def store(store_url) -> Store:
    return Store(store_url)


def _inputs(seed: int) -> HeadInputs:
    rng = np.random.default_rng(seed)
    return HeadInputs(rng.random(28, np.float32), rng.random(1280, np.float32) * 6,
                      rng.random(4, np.float32))


def _row(sha1: str, claimed: tuple[str, ...] | None, seed: int = 0) -> TrainingLogRecord:
    return TrainingLogRecord(sha1, "3.0.0", *encode(_inputs(seed)), claimed)


def _file(logid: int, sha1: str) -> FileRecord:
    return FileRecord(logid=logid, title=f"File:{logid}.jpg", uploaded_at="2024-05-01T10:00:00Z",
                      outcome="classified", sha1=sha1)


def test_one_row_per_image_written_with_the_file(store):
    sha1 = "ab" * 20
    cursor = Cursor("2024-05-01T10:00:00Z", 1)
    assert store.record_upload(_file(1, sha1), cursor, PRED, training=_row(sha1, ("Nature",), 1))
    # a re-upload of the same image under another title keeps the first row
    assert store.record_upload(_file(2, sha1), cursor, PRED, training=_row(sha1, ("Art",), 2))
    # a rerun of an already recorded upload writes nothing
    assert not store.record_upload(_file(1, sha1), cursor, PRED, training=_row("cd" * 20, ()))
    rows = list(store.training_log())
    assert [(r.sha1, r.claimed_topics) for r in rows] == [(sha1, '["Nature"]')]
    back = decode(rows[0].inputs, rows[0].layout)
    assert np.abs(back.features - _inputs(1).features).max() < 6 / 255


def test_incomplete_walks_are_kept_but_not_read_for_training(store):
    store.record_upload(_file(1, "a" * 40), None, training=_row("a" * 40, None))
    store.record_upload(_file(2, "b" * 40), None, training=_row("b" * 40, ()))
    assert [r.sha1 for r in store.training_log()] == ["b" * 40]
    assert store.prune_training_log(max_rows=10, retention_days=0) == 0


def test_reading_in_batches_returns_every_row_once(store):
    for i in range(7):
        store.record_upload(_file(i, f"{i:040d}"), None, training=_row(f"{i:040d}", ("Art",)))
    assert [r.sha1 for r in store.training_log(batch=3)] == [f"{i:040d}" for i in range(7)]
    later = datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=1)
    assert list(store.training_log(since=later)) == []


def test_pruning_by_age_then_by_count(store):
    for i in range(6):
        store.record_upload(_file(i, f"{i:040d}"), None, training=_row(f"{i:040d}", ("Art",)))
    t = training_log_table
    old = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=90)
    with store.engine.begin() as conn:
        for i in range(6):  # rows 0 and 1 are 90 days old, the rest one hour apart
            when = old if i < 2 else old + timedelta(days=80, hours=i)
            conn.execute(update(t).where(t.c.sha1 == f"{i:040d}").values(created_at=when))
    assert store.prune_training_log(max_rows=3, retention_days=60) == 2 + 1
    assert [r.sha1 for r in store.training_log()] == [f"{i:040d}" for i in (3, 4, 5)]
    assert store.prune_training_log(max_rows=3, retention_days=60) == 0
