"""Reviews in the store, on a real SQLite file and a real MariaDB server: a review counts
exactly once however many clicks race for it, an undo restores the suggestion once,
the precision table and the held-back labels follow from a known set of reviews, and
confirmation by categories is a separate, exactly-once signal."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from bot.index_page import precision_cell
from bot.precision import LabelPrecision, wilson_interval
from bot.report import PageStyle
from bot.store import (
    Cursor,
    FileRecord,
    PredictionRecord,
    Store,
    SuggestionRecord,
    _now,
    reviews_table,
)
from bot.worklists import render_worklists
from classifier.taxonomy import load_taxonomy
from tests.test_bot_store import store_url  # noqa: F401 - SQLite and MariaDB, one test each


@pytest.fixture
def store(store_url):  # noqa: F811 - the imported fixture is used here
    return Store(store_url)


def add_file(
    store: Store,
    logid: int,
    labels: dict[str, float],
    adds_topic: bool | None = True,
    version: str = "1",
    claimed: tuple[str, ...] | None = ("Nature",),
    title: str | None = None,
    visible_categories: int | None = None,
) -> dict[str, int]:
    """Record an upload with one suggestion per label; returns {label: suggestion id}."""
    title = title or f"File:{logid}.jpg"
    sha1 = f"{logid:040x}"
    ts = f"2024-05-01T10:{logid // 60 % 60:02d}:{logid % 60:02d}Z"
    pred = PredictionRecord(sha1, "m", version, "op", tuple(labels), labels)
    store.record_upload(
        FileRecord(
            logid, title, ts, "classified", sha1=sha1, uploader="Up", claimed_topics=claimed,
            visible_categories=visible_categories,
        ),
        Cursor(ts, logid),
        pred,
        [SuggestionRecord(label, score, adds_topic) for label, score in labels.items()],
    )
    return {r.label: r.suggestion_id for r in store.report_rows() if r.title == title}


def state_of(store: Store, suggestion_id: int) -> str:
    rows = store.gallery_rows(states=("pending", "published", "accepted", "rejected"))
    return next(r.state for r in rows if r.suggestion_id == suggestion_id)


def test_a_review_records_who_when_what_once_and_refuses_a_second(store):
    sid = add_file(store, 1, {"Animals": 0.9})["Animals"]
    before = _now()
    assert store.record_review(sid, "accepted", "Alice") is True
    assert store.record_review(sid, "accepted", "Alice") is False  # the double click
    assert store.record_review(sid, "rejected", "Bob") is False  # a second reviewer
    [review] = store.reviews_of(sid)
    assert (review.decision, review.reviewer, review.undone_at) == ("accepted", "Alice", None)
    assert before - timedelta(seconds=1) <= review.reviewed_at <= _now()
    assert state_of(store, sid) == "accepted"
    assert store.label_review_counts() == {"Animals": (1, 0)}
    with pytest.raises(ValueError, match="accepted"):
        store.record_review(sid, "maybe", "Alice")
    with pytest.raises(LookupError):
        store.record_review(sid + 100, "accepted", "Alice")


def test_the_database_itself_refuses_a_second_standing_review(store):
    """The unique constraint behind exactly-once, on its own: a second standing review
    row for one suggestion is refused by SQLite and MariaDB alike; undone rows are not."""
    sid = add_file(store, 1, {"Animals": 0.9})["Animals"]
    store.record_review(sid, "accepted", "Alice")
    row = dict(
        suggestion_id=sid,
        decision="rejected",
        previous_state="pending",
        reviewer="Bob",
        reviewed_at=_now(),
    )
    with pytest.raises(IntegrityError), store.engine.begin() as conn:
        conn.execute(reviews_table.insert().values(live_suggestion_id=sid, **row))
    with store.engine.begin() as conn:  # undone reviews (NULL) never collide
        conn.execute(reviews_table.insert(), [row, row])
    assert len(store.reviews_of(sid)) == 3


def test_a_withdrawn_suggestion_cannot_be_reviewed(store):
    sid = add_file(store, 1, {"Animals": 0.9})["Animals"]
    store.set_state([sid], "withdrawn")
    assert store.record_review(sid, "accepted", "Alice") is False
    assert store.reviews_of(sid) == []


def test_concurrent_reviewers_count_each_suggestion_once(store):
    """Six reviewers click accept or reject on the same 15 suggestions at once (own
    connections; on MariaDB, real concurrent transactions): one review each, no error."""
    ids = [sid for n in range(15) for sid in add_file(store, n + 1, {"Animals": 0.9}).values()]
    wins: list[int] = []
    errors: list[BaseException] = []

    def reviewer(n: int) -> None:
        try:
            for sid in ids if n % 2 else reversed(ids):
                decision = "accepted" if n % 3 else "rejected"
                if store.record_review(sid, decision, f"Reviewer {n}"):
                    wins.append(sid)
        except BaseException as err:  # noqa: BLE001 - collected and asserted below
            errors.append(err)

    threads = [threading.Thread(target=reviewer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(wins) == sorted(ids)
    assert all(len(store.reviews_of(sid)) == 1 for sid in ids)
    accepted, rejected = store.label_review_counts()["Animals"]
    assert accepted + rejected == 15
    states = {state_of(store, sid) for sid in ids}
    assert states <= {"accepted", "rejected"}


def test_undo_restores_the_state_once_keeps_the_record_and_allows_a_new_review(store):
    sid = add_file(store, 1, {"Animals": 0.9})["Animals"]
    store.set_state([sid], "published")
    assert store.undo_review(sid, "Alice") is False  # nothing to undo
    store.record_review(sid, "rejected", "Alice")
    results: list[bool] = []
    threads = [
        threading.Thread(target=lambda: results.append(store.undo_review(sid, "Bob")))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False, False, False, True]
    assert state_of(store, sid) == "published"
    assert store.label_review_counts() == {}
    assert store.record_review(sid, "accepted", "Carol") is True
    first, second = store.reviews_of(sid)
    assert (first.decision, first.reviewer, first.undone_by) == ("rejected", "Alice", "Bob")
    assert first.undone_at is not None
    assert (second.decision, second.reviewer, second.undone_at) == ("accepted", "Carol", None)
    assert store.label_review_counts() == {"Animals": (1, 0)}


def test_precision_table_and_held_back_labels_from_a_known_set_of_reviews(store):
    """Animals: 3 of 4 accepted; Maps: 1 of 4 (and one undone acceptance that must not
    count); Food: 2 reviews. A model-2 suggestion's review counts only for model 2."""
    decisions = {
        "Animals": ["accepted"] * 3 + ["rejected"],
        "Maps": ["accepted"] + ["rejected"] * 3 + ["accepted"],
        "Food": ["rejected", "rejected"],
    }
    logid = 0
    for label, seq in decisions.items():
        for decision in seq:
            logid += 1
            sid = add_file(store, logid, {label: 0.8})[label]
            store.record_review(sid, decision, "Alice")
        if label == "Maps":
            store.undo_review(sid, "Alice")  # the last Maps acceptance
    sid2 = add_file(store, 99, {"Maps": 0.9}, version="2")["Maps"]
    store.record_review(sid2, "accepted", "Bob")

    assert store.label_review_counts(model_version="1") == {
        "Animals": (3, 1),
        "Maps": (1, 3),
        "Food": (0, 2),
    }
    assert store.label_review_counts()["Maps"] == (2, 3)
    table = {p.label: p for p in store.label_precision("1")}
    assert table["Animals"].precision == 0.75
    low, high = table["Animals"].interval
    assert (round(low, 4), round(high, 4)) == (0.3006, 0.9544)  # Wilson 3/4, textbook value
    assert table["Food"].precision == 0.0

    held = store.held_back_labels(floor=0.5, min_reviews=4, model_version="1")
    assert set(held) == {"Maps"}  # Food is under the floor but has too few reviews
    assert "25%" in held["Maps"] and "1 of 4" in held["Maps"] and "50%" in held["Maps"]
    assert set(store.held_back_labels(floor=0.5, min_reviews=2, model_version="1")) == {
        "Maps",
        "Food",
    }
    assert store.held_back_labels(floor=0.5, min_reviews=1, model_version="2") == {}


def test_wilson_interval_edges():
    assert wilson_interval(0, 0) == (0.0, 1.0)
    low, high = wilson_interval(0, 10)
    assert low == pytest.approx(0.0) and 0.27 < high < 0.28  # 0 of 10 is no proof of precision 0
    low, high = wilson_interval(10, 10)
    assert 0.72 < low < 0.73 and high == pytest.approx(1.0)
    assert LabelPrecision("X", 0, 0).held_back_reason(0.5, 0) is None


def test_confirmation_by_categories_is_marked_once_and_kept_apart_from_reviews(store):
    new = add_file(store, 1, {"Animals": 0.9, "Maps": 0.7}, adds_topic=True)
    add_file(store, 2, {"Animals": 0.8}, adds_topic=False)  # categories implied it already
    unknown = add_file(store, 3, {"Food": 0.6}, adds_topic=None, claimed=None)
    store.record_review(new["Maps"], "rejected", "Alice")
    since = _now() - timedelta(hours=1)
    candidates = store.confirmation_candidates(since, limit=10)
    assert [title for _, title in candidates] == ["File:1.jpg", "File:3.jpg"]
    assert candidates[0][0] == min(new.values())
    assert store.confirmation_candidates(since, limit=1, after_id=candidates[0][0]) == [
        candidates[1]
    ]
    assert store.confirmation_candidates(_now() + timedelta(hours=1), limit=10) == []

    # a later pass re-read the categories: File:1 now in an Animals category
    assert store.confirm_by_categories({"File:1.jpg": ["Animals", "Nature"], "File:3.jpg": None})
    assert store.confirm_by_categories({"File:1.jpg": ["Animals"]}) == 0  # once
    assert store.confirm_by_categories({"File:3.jpg": ["Food"]}) == 1
    # File:2's categories implied Animals when it was suggested: nothing to confirm
    assert store.confirm_by_categories({"File:2.jpg": ["Animals"]}) == 0
    assert [t for _, t in store.confirmation_candidates(since, limit=10)] == ["File:1.jpg"]  # Maps
    table = {p.label: p for p in store.label_precision()}
    assert (table["Animals"].confirmed, table["Animals"].confirmable) == (1, 1)
    assert (table["Animals"].accepted, table["Animals"].rejected) == (0, 0)
    assert (table["Maps"].confirmed, table["Maps"].rejected) == (0, 1)
    assert (table["Food"].confirmed, table["Food"].confirmable) == (1, 1)
    rows = {r.suggestion_id: r for r in store.gallery_rows()}
    assert rows[new["Animals"]].confirmed_by_categories
    assert rows[unknown["Food"]].confirmed_by_categories


def test_gallery_filters_and_keyset_pages(store):
    for n in range(1, 11):
        add_file(
            store,
            n,
            {"Animals": 0.5 + n / 100, "Maps": 0.9},
            adds_topic=n % 2 == 0,
            claimed=() if n > 8 else ("Nature",),
            visible_categories=0 if n > 8 else 2,
        )
    pages, before = [], None
    while True:
        page = store.gallery_rows(label="Animals", limit=4, before_id=before)
        if not page:
            break
        pages.append([r.title for r in page])
        before = page[-1].suggestion_id
    assert [len(p) for p in pages] == [4, 4, 2]
    assert pages[0][0] == "File:10.jpg" and pages[-1][-1] == "File:1.jpg"
    assert {r.title for r in store.gallery_rows(new_only=True, label="Animals")} == {
        f"File:{n}.jpg" for n in (2, 4, 6, 8, 10)
    }
    assert {r.title for r in store.gallery_rows(needs_categories=True)} == {
        "File:9.jpg",
        "File:10.jpg",
    }
    assert len(store.gallery_rows(min_score=0.58, label="Animals")) == 3
    assert store.gallery_labels() == {"Animals": 10, "Maps": 10}
    first = store.gallery_rows(label="Maps")[0]
    store.record_review(first.suggestion_id, "accepted", "Alice")
    assert store.gallery_labels()["Maps"] == 9
    [reviewed] = store.gallery_rows(states=("accepted", "rejected"))
    assert (reviewed.reviewer, reviewed.state) == ("Alice", "accepted")


def test_a_held_back_label_leaves_the_worklist_pages(store):
    """Reviewers rejected most Animals suggestions: the Animals page lists no file and says
    why, the index says so in its row, and the other topics' pages are unchanged."""

    ids = [add_file(store, 100 + i, {"Animals": 0.9, "Plants": 0.8}) for i in range(6)]
    for n, by_label in enumerate(ids):
        store.record_review(by_label["Animals"], "accepted" if n == 0 else "rejected", "Rev")
    held = store.held_back_labels(floor=0.5, min_reviews=5, model_version="1")
    assert set(held) == {"Animals"}
    add_file(store, 200, {"Animals": 0.95, "Plants": 0.7}, title="File:Fresh fox.jpg")
    style = PageStyle(prefix="User:Bot/Topics", max_bytes=100_000, max_files=50)
    pages = {p.title: p for p in render_worklists(
        store, load_taxonomy(), style, None, datetime(2024, 5, 2), held)}
    animals, plants = pages["User:Bot/Topics/Animals"], pages["User:Bot/Topics/Plants"]
    assert animals.files == () and "Held back until the model changes" in animals.text
    assert "File:Fresh fox.jpg" in plants.files
    index = pages["User:Bot/Topics"].text
    animals_row = next(line for line in index.splitlines() if "|Animals]]" in line)
    assert "held back" in animals_row
    unheld = {p.title: p for p in render_worklists(
        store, load_taxonomy(), style, None, datetime(2024, 5, 2), {})}
    assert "File:Fresh fox.jpg" in unheld["User:Bot/Topics/Animals"].files


def test_the_index_counts_the_reviews_that_hold_labels_back(tmp_path):
    """The index's reviewed precision and the held-back rule read the same reviews: the
    current model's. An older model's accepted suggestions do not lift a held label."""
    store = Store(f"sqlite:///{tmp_path}/bot.sqlite")
    for i in range(6):  # model "0": reviewers accepted every Animals suggestion
        store.record_review(add_file(store, 10 + i, {"Animals": 0.9}, version="0")["Animals"],
                            "accepted", "Rev")
    for i in range(5):  # model "1": they rejected every one
        store.record_review(add_file(store, 50 + i, {"Animals": 0.9}, version="1")["Animals"],
                            "rejected", "Rev")
    held = store.held_back_labels(floor=0.5, min_reviews=5, model_version="1")
    style = PageStyle(prefix="User:Bot/Topics", max_bytes=100_000, max_files=50)
    pages = render_worklists(store, load_taxonomy(), style, None, datetime(2024, 5, 2), held,
                             model_version="1")
    index = next(p.text for p in pages if p.title == "User:Bot/Topics")
    row = next(line for line in index.splitlines() if "|Animals]]" in line)
    assert "held back" in row and precision_cell((0, 5)) in row
