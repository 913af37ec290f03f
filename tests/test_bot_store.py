"""The store on a real SQLite file: one transaction per file, reruns never duplicate."""

from datetime import timedelta

import pytest

from bot.store import Cursor, FileRecord, PredictionRecord, Store, SuggestionRecord
from classifier.category_graph import CategoryInfo


@pytest.fixture
def store(tmp_path):
    return Store(f"sqlite:///{tmp_path}/bot.sqlite")


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
