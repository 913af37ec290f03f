"""The store on a real SQLite file and on a real MariaDB server (as on ToolsDB), the same
tests for both: one transaction per file, reruns never duplicate, concurrent writers
neither crash nor lose a file, and a writer killed mid-transaction leaves nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from bot import migrate
from bot.store import (
    Cursor,
    FileRecord,
    PassRecord,
    PredictionRecord,
    Store,
    SuggestionRecord,
    metadata,
)
from classifier.category_graph import CategoryInfo
from tests.wiki_fixtures import REPO


@pytest.fixture(params=["sqlite", "mariadb"])
def store_url(request, tmp_path) -> str:
    """The URL of an empty database: a new SQLite file, or a new MariaDB database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/bot.sqlite"
    server = request.getfixturevalue("mariadb")
    return server.url(server.new_database()).render_as_string(hide_password=False)


@pytest.fixture
def store(store_url):
    return Store(store_url)


def _file(logid, title="File:A.jpg", outcome="classified", ts="2024-05-01T10:00:00Z"):
    return FileRecord(logid=logid, title=title, uploaded_at=ts, outcome=outcome, sha1="ab" * 20)


PRED = PredictionRecord(
    sha1="ab" * 20,
    model_name="m",
    model_version="1",
    operating_point="op",
    predictions=("Nature", "Animals"),
    probabilities={"Nature": 0.9, "Animals": 0.8},
)
SUGG = (SuggestionRecord("Nature", 0.9, False), SuggestionRecord("Animals", 0.8, True))


def test_record_is_idempotent_and_moves_the_cursor(store):
    cursor = Cursor("2024-05-01T10:00:00Z", 7)
    assert store.record_upload(_file(7), cursor, PRED, SUGG) is True
    assert store.record_upload(_file(7), cursor, PRED, SUGG) is False
    assert store.counts() == {"files": 1, "predictions": 1, "suggestions": 2, "category_cache": 0}
    assert store.cursor() == cursor
    assert store.prediction(PRED.sha1, "1") == PRED
    assert store.prediction(PRED.sha1, "2") is None


def test_cursor_never_moves_backwards(store):
    store.record_upload(_file(9, ts="2024-05-01T10:00:01Z"), Cursor("2024-05-01T10:00:01Z", 9))
    store.record_upload(_file(8), Cursor("2024-05-01T10:00:00Z", 8))
    assert store.cursor() == Cursor("2024-05-01T10:00:01Z", 9)


def test_same_second_uploads_are_ordered_by_log_id():
    assert Cursor("2024-05-01T10:00:00Z", 5) <= Cursor("2024-05-01T10:00:00Z", 6)
    assert not Cursor("2024-05-01T10:00:00Z", 6) <= Cursor("2024-05-01T10:00:00Z", 5)


def test_reupload_with_same_bytes_shares_prediction_and_suggestions_stay_unique(store):
    store.record_upload(_file(1), Cursor("2024-05-01T10:00:00Z", 1), PRED, SUGG)
    store.record_upload(_file(2), Cursor("2024-05-01T10:00:00Z", 2), PRED, SUGG)
    assert store.counts()["predictions"] == 1
    assert store.counts()["suggestions"] == 2  # (file, label) is unique
    assert store.outcomes() == {"classified": 2}


def test_reviewed_suggestion_is_not_reset_and_states_are_checked(store):
    store.record_upload(_file(1), Cursor("2024-05-01T10:00:00Z", 1), PRED, SUGG)
    ids = [r.suggestion_id for r in store.report_rows()]
    store.set_state(ids[:1], "rejected")
    store.record_upload(_file(3), Cursor("2024-05-01T10:00:00Z", 3), PRED, SUGG)
    assert [r.label for r in store.report_rows()] == ["Animals"]
    with pytest.raises(ValueError, match="unknown suggestion state"):
        store.set_state(ids, "maybe")


def test_category_cache_expires_and_skips_unknown(store):
    store.cache_categories(
        {
            "Cats": CategoryInfo(parents=("Felidae",)),
            "Red": CategoryInfo(parents=(), exists=False),
            "Unknown": CategoryInfo(parents=None),
        }
    )
    found = store.cached_categories(["Cats", "Red", "Unknown"], timedelta(hours=1))
    assert found == {
        "Cats": CategoryInfo(parents=("Felidae",)),
        "Red": CategoryInfo(parents=(), exists=False),
    }
    assert store.cached_categories(["Cats"], timedelta(seconds=-1)) == {}


def test_transient_outcome_is_retried_a_bounded_number_of_times(store):
    cursor = Cursor("2024-05-01T10:00:00Z", 1)
    store.record_upload(_file(1, outcome="api_error"), cursor)
    assert [f.logid for f in store.retry_candidates(max_attempts=3, limit=10)] == [1]
    assert store.record_upload(_file(1, outcome="thumbnail_http_error"), cursor) is True
    assert store.retry_candidates(max_attempts=2, limit=10) == []  # two attempts made
    assert store.record_upload(_file(1), cursor, PRED, SUGG) is True
    assert store.outcomes() == {"classified": 1} and store.counts()["suggestions"] == 2
    assert store.record_upload(_file(1, outcome="api_error"), cursor) is False  # final stays
    assert store.retry_candidates(max_attempts=3, limit=10) == []


def test_titles_differing_only_in_case_or_accents_are_different(store):
    """MariaDB's default collation would merge these; Commons titles are case-sensitive."""
    cats = {
        "Category:Cats": CategoryInfo(parents=("A",)),
        "Category:CATS": CategoryInfo(parents=("B",)),
        "Category:Café": CategoryInfo(parents=("C",)),
        "Category:Cafe": CategoryInfo(parents=("D",)),
    }
    store.cache_categories(cats)
    assert store.cached_categories(list(cats), timedelta(hours=1)) == cats
    store.record_upload(_file(1, "File:Cat.jpg"), Cursor("2024-05-01T10:00:00Z", 1), PRED, SUGG)
    store.record_upload(_file(2, "File:CAT.jpg"), Cursor("2024-05-01T10:00:00Z", 2), PRED, SUGG)
    assert store.counts()["suggestions"] == 4


def test_scores_keep_double_precision(store):
    exact = SuggestionRecord("Nature", 0.123456789012345, None)
    store.record_upload(_file(1), Cursor("2024-05-01T10:00:00Z", 1), PRED, (exact,))
    assert store.report_rows()[0].score == exact.score


def test_status_reads_outcomes_by_time_last_error_and_last_pass(store):
    cursor = Cursor("2024-05-01T10:00:00Z", 3)
    store.record_upload(_file(1), cursor, PRED, SUGG)
    store.record_upload(_file(2, "File:B.jpg", "deleted"), cursor)
    store.record_upload(_file(3, "File:C.jpg", "image_corrupt"), cursor)
    now = datetime.now(UTC).replace(tzinfo=None)
    assert store.outcomes(since=now - timedelta(hours=1)) == {
        "classified": 1,
        "deleted": 1,
        "image_corrupt": 1,
    }
    assert store.outcomes(since=now + timedelta(minutes=1)) == {}
    error = store.last_error()
    assert (error.title, error.outcome) == ("File:C.jpg", "image_corrupt")
    assert store.last_pass() is None
    for minutes in (10, 5):
        record = PassRecord(
            started_at=(now - timedelta(minutes=minutes)).replace(microsecond=0),
            finished_at=(now - timedelta(minutes=minutes - 1)).replace(microsecond=0),
            files_seen=3,
            files_classified=1,
            errors={"image_corrupt": 1},
            model_name="m",
            model_version=f"v{minutes}",
            stopped=False,
        )
        store.record_pass(record)
    assert store.last_pass() == record


def test_migrations_build_exactly_the_store_tables_and_run_again_as_no_ops(store_url):
    """The revisions and bot.store.metadata never drift apart; reopening changes nothing;
    downgrade and upgrade round-trip (the rollback path in toolforge/README.md)."""
    store = Store(store_url)
    Store(store_url)  # the second start finds the schema current
    assert migrate.current(store.engine) == migrate.head()
    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    store.record_upload(_file(1), Cursor("2024-05-01T10:00:00Z", 1), PRED, SUGG)
    migrate.downgrade(store.engine, "0001")
    assert "passes" not in inspect(store.engine).get_table_names()
    migrate.upgrade(store.engine)
    assert store.counts()["files"] == 1 and migrate.current(store.engine) == migrate.head()


def test_a_store_made_before_migrations_is_adopted(store_url):
    """Stores created by `metadata.create_all` (before migrations existed) keep their rows."""
    engine = create_engine(store_url)
    metadata.tables["cursor"].create(engine)
    metadata.tables["files"].create(engine)
    store = Store(store_url)
    assert migrate.current(store.engine) == migrate.head()
    store.record_upload(_file(1), Cursor("2024-05-01T10:00:00Z", 1), PRED, SUGG)
    assert store.counts()["suggestions"] == 2


def test_concurrent_starts_migrate_once(store_url):
    """Processes starting together on an empty database (a deploy that starts the bot and
    a health check at once) all come up; the schema ends at the newest revision."""
    starts = [
        subprocess.Popen(
            [sys.executable, "-c", "import sys; from bot.store import Store; Store(sys.argv[1])"]
            + [store_url],
            cwd=REPO,
            env=dict(os.environ, PYTHONPATH=str(REPO)),
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    for p in starts:
        assert p.wait(timeout=120) == 0, p.stderr.read()[-3000:]
    assert migrate.current(create_engine(store_url)) == migrate.head()


def test_concurrent_writers_lose_nothing_duplicate_nothing_and_never_move_the_cursor_back(
    store,
):
    """Four writers record overlapping uploads (every logid twice), publish states and
    cache the same categories at once: each upload ends up once, the cursor at the
    newest, suggestions unique per (file, label)."""
    logids = list(range(1, 41))
    errors: list[BaseException] = []

    def writer(offset: int) -> None:
        try:
            order = logids[offset::2] + logids[1 - offset :: 2]
            for logid in order if offset < 2 else reversed(order):
                ts = f"2024-05-01T10:00:{logid:02d}Z"
                store.record_upload(
                    _file(logid, f"File:{logid}.jpg", ts=ts), Cursor(ts, logid), PRED, SUGG
                )
                store.cache_categories({"Category:Shared": CategoryInfo(parents=("X",))})
                store.set_state([r.suggestion_id for r in store.report_rows()[:2]], "published")
        except BaseException as err:  # noqa: BLE001 - collected and asserted below
            errors.append(err)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.counts() == {
        "files": 40,
        "predictions": 1,
        "suggestions": 80,
        "category_cache": 1,
    }
    assert store.cursor() == Cursor("2024-05-01T10:00:40Z", 40)


KILLED_WRITER = """
import os, sys, time
from sqlalchemy import event
from bot.store import Cursor, FileRecord, PredictionRecord, Store, SuggestionRecord

store = Store(sys.argv[1])

@event.listens_for(store.engine, "commit")
def hang_before_commit(conn):
    print("in transaction", flush=True)  # every statement of the file is sent
    time.sleep(60)

pred = PredictionRecord("cd" * 20, "m", "1", "op", ("Nature",), {"Nature": 0.9})
store.record_upload(
    FileRecord(logid=5, title="File:Killed.jpg", uploaded_at="2024-05-01T10:00:05Z",
               outcome="classified", sha1="cd" * 20),
    Cursor("2024-05-01T10:00:05Z", 5), pred, [SuggestionRecord("Nature", 0.9, None)],
)
"""


def test_a_writer_killed_mid_transaction_leaves_nothing_and_the_file_is_redone(store):
    """SIGKILL (the OOM killer, a node drain) between the last statement of a file and
    its COMMIT: no row of that file survives, the cursor stays, and a rerun records it."""
    before = Cursor("2024-05-01T10:00:01Z", 1)
    store.record_upload(_file(1, ts=before.timestamp), before, PRED, SUGG)
    url = store.engine.url.render_as_string(hide_password=False)
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, url],
        cwd=REPO,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline().strip() == "in transaction"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert store.counts() == {"files": 1, "predictions": 1, "suggestions": 2, "category_cache": 0}
    assert store.cursor() == before
    store.record_upload(
        _file(5, "File:Killed.jpg", ts="2024-05-01T10:00:05Z"),
        Cursor("2024-05-01T10:00:05Z", 5),
        PRED,
        SUGG,
    )
    assert store.cursor() == Cursor("2024-05-01T10:00:05Z", 5)
    assert store.counts()["files"] == 2


def test_worklist_queries_read_only_what_a_page_shows(store):
    """Newest first and LIMITed; a deletion takes a file off every list (and withdraws its
    unreviewed suggestions) without touching a later re-upload of the same name; files
    without a suggestion are counted; uncategorized uploads are listed with their labels."""
    for i in range(1, 6):
        ts = f"2024-05-0{i}T10:00:00Z"
        file = FileRecord(
            logid=i,
            title=f"File:{i}.jpg",
            uploaded_at=ts,
            outcome="classified",
            sha1="ab" * 20,
            uploader="U",
            visible_categories=0 if i % 2 else 2,
        )
        store.record_upload(file, Cursor(ts, i), PRED, SUGG if i != 5 else ())
    assert [r.title for r in store.worklist("Animals", 3)] == [
        "File:4.jpg",
        "File:3.jpg",
        "File:2.jpg",
    ]
    now = datetime.now(UTC).replace(tzinfo=None)
    counts = store.label_counts(now - timedelta(days=7))
    assert counts["Animals"].awaiting == 4 and counts["Animals"].new == 4
    assert store.label_counts(now + timedelta(days=1))["Animals"].new == 0
    assert store.unsuggested_count() == 1
    assert [(f.title, f.suggestions) for f in store.uncategorized(10)] == [
        ("File:5.jpg", ()),
        ("File:3.jpg", (("Nature", 0.9), ("Animals", 0.8))),
        ("File:1.jpg", (("Nature", 0.9), ("Animals", 0.8))),
    ]

    deleted = [("File:4.jpg", "2024-05-06T00:00:00Z"), ("File:3.jpg", "2024-05-01T00:00:00Z")]
    assert store.mark_deleted(deleted, Cursor("2024-05-06T00:00:00Z", 99)) == 1
    assert store.cursor("deletions") == Cursor("2024-05-06T00:00:00Z", 99)
    assert [r.title for r in store.worklist("Animals", 10)] == [
        "File:3.jpg",  # deleted before this upload: a different file
        "File:2.jpg",
        "File:1.jpg",
    ]
    assert store.deleted_among(["File:4.jpg", "File:3.jpg"]) == {"File:4.jpg"}
    assert store.suggestion_states() == {"pending": 6, "withdrawn": 2}

    store.record_page_saves([("P/A", "error", "too big"), ("P/B", "saved", "")])
    store.record_page_saves([("P/A", "saved", "")])
    saves = {s.title: s for s in store.page_saves()}
    assert saves["P/A"].status == "saved" and saves["P/A"].saved_at is not None
    assert store.oldest_upload() == "2024-05-01T10:00:00Z"


def test_a_first_migration_cut_short_completes_its_indexes(store_url):
    """A start killed inside 0001, after its tables and before their indexes (neither
    SQLite nor MariaDB undoes DDL): the next start adds the indexes."""
    engine = create_engine(store_url)
    for name in ("cursor", "files", "suggestions"):
        metadata.tables[name].create(engine)
        for index in metadata.tables[name].indexes:
            index.drop(engine)
    Store(store_url)
    found = {i["name"] for t in ("files", "suggestions") for i in inspect(engine).get_indexes(t)}
    assert {
        "ix_files_title",
        "ix_files_sha1",
        "ix_files_uploaded_at",
        "ix_suggestions_logid",
        "ix_suggestions_state",
    } <= found


def test_near_copies_are_found_through_the_hash_bands_and_the_migration_fills_them(store_url):
    """The banded lookup returns every flag within 7 bits of a hash, and reads few of
    the others; flags stored before migration 0009 get their bands when it runs."""
    import random

    from bot.flag_signals import hamming
    from bot.store import FlagRecord, Signal

    rng = random.Random(7)
    base = rng.getrandbits(64)
    near = {}  # title -> hash, 0..7 bits from base
    for bits in range(8):
        flips = sum(1 << b for b in rng.sample(range(64), bits))
        near[f"File:Near {bits}.png"] = f"{base ^ flips:016x}"
    far = {f"File:Other {i}.png": f"{rng.getrandbits(64):016x}" for i in range(300)}
    store = Store(store_url)
    for logid, (title, dhash) in enumerate({**near, **far}.items(), start=1):
        flag = FlagRecord(4.0, "may have problems", (Signal("tiny", 4.0, "tiny"),), dhash)
        store.record_upload(_file(logid, title), Cursor("2024-05-01T10:00:00Z", logid), flag=flag)
    query = f"{base:016x}"

    def found() -> dict[str, str]:
        return dict(store.flagged_hashes(query, 6))

    candidates = found()
    assert {t: h for t, h in candidates.items() if hamming(query, h) <= 7} == near
    assert len(candidates) < 40  # far fewer than the 308 flags
    assert len(dict(store.flagged_hashes(query, 8))) == 308  # past what bands vouch for
    # a store of before 0009: its flags have no bands until the migration runs
    migrate.downgrade(store.engine, "0008")
    migrate.upgrade(store.engine)
    assert found() == candidates


def test_recent_errors_count_final_and_retried_outcomes_apart(store):
    """What `bot.status` reports: error outcomes of the window by outcome, those with
    attempts left apart from final ones, a few titles of each final outcome."""
    cursor = Cursor("2024-05-01T10:00:00Z", 1)
    outcomes = ["classified", "classified", "api_error", "internal_error", "poison", "deleted"]
    for logid, outcome in enumerate(outcomes, start=1):
        store.record_upload(_file(logid, f"File:{logid}.jpg", outcome), cursor)
    store.record_upload(_file(3, "File:3.jpg", "api_error"), cursor)  # a retry: 2 attempts
    store.mark_in_progress(_file(7, "File:7.jpg", "in_progress"))
    since = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=1)

    retried = store.recent_errors(since, max_attempts=3)
    assert retried.files == 7
    assert retried.retrying == {"api_error": 1, "in_progress": 1}
    assert retried.final == {"internal_error": 1, "poison": 1}
    assert retried.examples == {"internal_error": ["File:4.jpg"], "poison": ["File:5.jpg"]}
    final = store.recent_errors(since, max_attempts=2)  # its attempts ran out
    assert final.retrying == {"in_progress": 1}
    assert final.final == {"api_error": 1, "internal_error": 1, "poison": 1}
    later = store.recent_errors(datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=1), 3)
    assert (later.files, later.final, later.retrying) == (0, {}, {})
