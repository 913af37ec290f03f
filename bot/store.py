"""The bot's durable state, in SQLAlchemy Core so SQLite and MariaDB share one schema.

What is kept, and why:
- the cursor (timestamp, log id) of the last upload fully recorded: many uploads share
  a second, so the log id breaks ties and a restart neither skips nor repeats one;
- every upload seen, with its outcome and error, so nothing is silently skipped;
- predictions keyed by (sha1, model version): a re-upload of the same bytes is not
  classified twice, and a new model version gets its own rows;
- the suggestion queue, one row per (file, label), with a review state, so suggestions
  can be accepted, rejected or withdrawn (the lesson of Commons' MachineVision);
- the category-parent cache of the live category graph, with its fetch time.

- one row per finished pass, so a health check can tell an idle bot from a dead one.
- vandalism-candidate flags, at most one per file title, with the score, tier and each
  signal's reason, and a state: active, or withdrawn because a reviewer found the file
  fine or because it was deleted; and two pixel features per sha1 (a perceptual hash
  and the luminance spread) that flags need even when a prediction is reused.

Each upload is written in ONE transaction together with the cursor move, so a crash at
any point leaves either all of a file or none of it, and a rerun never duplicates.
Only portable column types are used (sized strings, Text for JSON, Double for scores)
so that the same code runs on ToolsDB (MariaDB) by changing the URL; MariaDB-only table
options ride along as `mysql_*` keywords that other databases ignore.

Several writers may meet (the continuous job, a manual `--once`, a second pod during a
redeploy): every write transaction is retried when the database reports a conflict
(a duplicate key from a concurrent insert, a deadlock, a lock timeout or a dropped
connection), and the cursor moves by a conditional UPDATE, so it never goes backwards.
The schema itself is owned by the versioned migrations in `bot/migrations`, applied
when a Store opens (`bot.migrate`).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Double,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Select,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    case,
    create_engine,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.engine import URL, Connection, Row
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.sql.elements import ColumnElement

from bot import migrate
from bot.flag_signals import Signal
from bot.image_features import DHASH_BANDS, ImageFeatures, dhash_bands
from bot.precision import LabelPrecision
from classifier.category_graph import CategoryInfo

log = logging.getLogger(__name__)

T = TypeVar("T")

SUGGESTION_STATES = ("pending", "published", "accepted", "rejected", "withdrawn")
# Shown on a worklist and in the review tool: nobody has judged them yet.
REVIEWABLE_STATES = ("pending", "published")
REVIEW_DECISIONS = ("accepted", "rejected")
PROMOTION_DECISIONS = ("promoted", "refused")

DELETIONS_CURSOR = "deletions"  # the delete log read so far (bot.deletions)

FLAG_ACTIVE = "active"
FLAG_KEPT = "kept"  # a trusted reviewer marked it `not fine`: still listed, with who said so
FLAG_FINE = "fine"  # a trusted reviewer marked it `fine`: withdrawn until that edit is reverted
FLAG_DELETED = "deleted"  # the file is gone: withdrawn, but its hash still warns of re-uploads
FLAG_STATES = (FLAG_ACTIVE, FLAG_KEPT, FLAG_FINE, FLAG_DELETED)
FLAG_LISTED = (FLAG_ACTIVE, FLAG_KEPT)

STREAM_CHUNK = 500
"""Rows fetched at a time where a read walks a table that grows with the store."""

TRANSIENT_OUTCOMES = (
    "api_error",
    "thumbnail_http_error",
    "thumbnail_unreachable",
    "thumbnail_timeout",
    "thumbnail_error",
)
"""Outcomes that a later pass may turn into a result (an outage, a rate limit): such a
file is retried a bounded number of times, and only its row is then replaced."""

IN_PROGRESS = "in_progress"
"""A file whose download and decoding have begun: written before they start (its
`attempts` counting the starts), replaced by the file's outcome. Still there at a later
start, the process died on that file (killed for memory, crashed in a decoder, or just
killed at that moment): it is tried once more, and a file that was started
POISON_AFTER_STARTS times without an outcome is recorded as POISON, never tried again."""

POISON = "poison"
POISON_AFTER_STARTS = 2

EXPECTED_OUTCOMES = ("classified", "deleted", "no_thumbnail")
"""Outcomes of an ordinary Commons day; every other outcome counts as an error."""

WRITE_ATTEMPTS = 5
"""A write transaction that meets a conflict is run again this often in all."""

MYSQL_TABLE = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    # binary collation: titles are case- and accent-sensitive ("File:Cat.jpg" and
    # "File:CAT.jpg" are two files), as in SQLite; MariaDB's default would merge them
    "mysql_collate": "utf8mb4_bin",
}

metadata = MetaData()

cursor_table = Table(
    "cursor",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("timestamp", String(20), nullable=False),  # ISO 8601, "2024-05-01T12:00:00Z"
    Column("logid", BigInteger, nullable=False),
    **MYSQL_TABLE,
)

files_table = Table(
    "files",
    metadata,
    Column("logid", BigInteger, primary_key=True, autoincrement=False),  # one per log event
    Column("title", String(255), nullable=False, index=True),
    Column("page_id", BigInteger),
    Column("sha1", String(40), index=True),
    Column("uploader", String(255)),
    Column("uploaded_at", String(20), nullable=False, index=True),
    Column("mime", String(100)),
    Column("outcome", String(32), nullable=False),
    Column("error", Text),
    Column("claimed_topics", Text),  # JSON list, null when unknown
    Column("milliseconds", Integer),
    Column("attempts", Integer, nullable=False, default=1),
    Column("processed_at", DateTime, nullable=False, index=True),
    Column("visible_categories", Integer),  # categories not hidden; null: not known
    Column("deleted_at", String(20)),  # when the wiki deleted it (delete log); null: exists
    **MYSQL_TABLE,
)

predictions_table = Table(
    "predictions",
    metadata,
    Column("sha1", String(40), primary_key=True),
    Column("model_version", String(64), primary_key=True),
    Column("model_name", String(128), nullable=False),
    Column("operating_point", String(128), nullable=False),
    Column("predictions", Text, nullable=False),  # JSON list of labels
    Column("probabilities", Text, nullable=False),  # JSON {label: p}
    Column("created_at", DateTime, nullable=False),
    **MYSQL_TABLE,
)

suggestions_table = Table(
    "suggestions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("title", String(255), nullable=False),
    Column("label", String(64), nullable=False),
    Column("logid", BigInteger, nullable=False, index=True),
    Column("sha1", String(40), nullable=False),
    Column("score", Double, nullable=False),  # MariaDB's FLOAT is single precision
    Column("operating_point", String(128), nullable=False),
    Column("model_version", String(64), nullable=False),
    Column("adds_topic", Boolean),  # null: the file's own categories were not known
    Column("state", String(16), nullable=False, index=True),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("title", "label", name="uq_suggestion_file_label"),
    Index("ix_suggestions_label_logid", "label", "logid"),  # a topic page: newest first
    **MYSQL_TABLE,
)

# the review tool: a topic's gallery pages newest-first through the first index; counts
# per label (to review, confirmable) are read from the second alone, never the table
Index("ix_suggestions_label_id", suggestions_table.c.label, suggestions_table.c.id)
Index(
    "ix_suggestions_label_counts",
    suggestions_table.c.label,
    suggestions_table.c.state,
    suggestions_table.c.adds_topic,
)

reviews_table = Table(
    "reviews",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("suggestion_id", Integer, nullable=False, index=True),
    Column("decision", String(16), nullable=False),  # accepted or rejected
    Column("previous_state", String(16), nullable=False),  # what an undo restores
    Column("reviewer", String(255), nullable=False),  # the wiki user name from OAuth
    Column("reviewed_at", DateTime, nullable=False),
    Column("undone_by", String(255)),
    Column("undone_at", DateTime),
    # the suggestion's id while the review stands, NULL once undone: unique, so a
    # suggestion has at most one standing review however many clicks race for it
    Column("live_suggestion_id", Integer),
    UniqueConstraint("live_suggestion_id", name="uq_reviews_live"),
    **MYSQL_TABLE,
)

category_confirmations_table = Table(
    "category_confirmations",
    metadata,
    # one row per suggestion whose file's own categories came to imply its label
    Column("suggestion_id", Integer, primary_key=True, autoincrement=False),
    Column("confirmed_at", DateTime, nullable=False),
    **MYSQL_TABLE,
)

category_cache_table = Table(
    "category_cache",
    metadata,
    Column("title", String(255), primary_key=True),
    Column("parents", Text, nullable=False),  # JSON list
    Column("hidden", Boolean, nullable=False),
    Column("page_exists", Boolean, nullable=False),
    Column("fetched_at", DateTime, nullable=False),
    **MYSQL_TABLE,
)

passes_table = Table(
    "passes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("started_at", DateTime, nullable=False),
    Column("finished_at", DateTime, nullable=False, index=True),
    Column("files_seen", Integer, nullable=False),
    Column("files_classified", Integer, nullable=False),
    Column("errors", Text, nullable=False),  # JSON {outcome: count}
    Column("model_name", String(128), nullable=False),
    Column("model_version", String(64), nullable=False),
    Column("stopped", Boolean, nullable=False),
    **MYSQL_TABLE,
)


flags_table = Table(
    "flags",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("title", String(255), nullable=False, unique=True),  # one listing per file
    Column("logid", BigInteger, nullable=False),
    Column("sha1", String(40), nullable=False),
    Column("uploader", String(255)),
    Column("uploaded_at", String(20), nullable=False),
    Column("dhash", String(16)),
    Column("score", Double, nullable=False),
    Column("tier", String(32), nullable=False),
    Column("signals", Text, nullable=False),  # JSON [{name, points, reason}]
    Column("state", String(16), nullable=False, index=True),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("reviewed_by", String(255)),  # the account whose line set `fine` or `kept`
    Column("reviewed_revision", BigInteger),  # the review page's revision it read
    # the dhash in bands (bot.image_features.DHASH_BANDS), each indexed with the state:
    # the near-duplicate lookup reads only the flags that share a band (migration 0009)
    *(Column(f"dhash_band{i}", Integer) for i in range(DHASH_BANDS)),
    *(Index(f"ix_flags_dhash_band{i}", f"dhash_band{i}", "state") for i in range(DHASH_BANDS)),
    **MYSQL_TABLE,
)

page_saves_table = Table(
    "page_saves",
    metadata,
    Column("title", String(255), primary_key=True),
    Column("status", String(32), nullable=False),  # the last attempt: bot.publisher statuses
    Column("detail", Text),
    Column("attempted_at", DateTime, nullable=False),
    Column("saved_at", DateTime),  # the last successful save (or dry-run write)
    **MYSQL_TABLE,
)

image_features_table = Table(
    "image_features",
    metadata,
    Column("sha1", String(40), primary_key=True),
    Column("dhash", String(16), nullable=False),
    Column("spread", Double, nullable=False),
    Column("created_at", DateTime, nullable=False),
    **MYSQL_TABLE,
)


training_log_table = Table(
    "training_log",  # per image, what a retraining of the head needs (issue 18)
    metadata,
    Column("sha1", String(40), primary_key=True),
    Column("model_version", String(64), nullable=False),
    Column("inputs", LargeBinary, nullable=False),  # classifier.head_inputs.encode
    Column("layout", Text, nullable=False),
    Column("claimed_topics", Text),  # JSON list; None: the category walk was incomplete
    Column("walk_complete", Boolean, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Index("ix_training_log_created_at", "created_at"),
    **MYSQL_TABLE,
)

promotions_table = Table(
    "promotions",  # each decision of training.promote, recorded by bot.record_promotion
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("decided_at", DateTime, nullable=False),  # when the gate decided (its report's)
    Column("candidate_version", String(64), nullable=False),
    Column("installed_version", String(64), nullable=False),  # the model it was judged against
    Column("decision", String(16), nullable=False),  # promoted or refused
    Column("figures", Text, nullable=False),  # JSON: the reasons and the key figures
    Column("report_path", Text, nullable=False),
    Column("recorded_at", DateTime, nullable=False),
    # one row per decision however often its report is recorded
    UniqueConstraint("candidate_version", "decided_at", name="uq_promotions_decision"),
    **MYSQL_TABLE,
)


@dataclass(frozen=True)
class Cursor:
    """Position in the upload log: everything at or before it is recorded."""

    timestamp: str
    logid: int

    def __le__(self, other: Cursor) -> bool:
        return (self.timestamp, self.logid) <= (other.timestamp, other.logid)


@dataclass(frozen=True)
class FileRecord:
    logid: int
    title: str
    uploaded_at: str
    outcome: str
    page_id: int | None = None
    sha1: str | None = None
    uploader: str | None = None
    mime: str | None = None
    error: str | None = None
    claimed_topics: tuple[str, ...] | None = None
    milliseconds: int | None = None
    visible_categories: int | None = None


@dataclass(frozen=True)
class TrainingLogRecord:
    """One image's row of the training log: the head's inputs (encoded), the model that
    computed them, and the topics its categories implied (None: walk incomplete)."""

    sha1: str
    model_version: str
    inputs: bytes
    layout: str
    claimed_topics: tuple[str, ...] | None


@dataclass(frozen=True)
class PromotionRecord:
    """One decision of the promotion gate (`training.promote`'s promotion.json)."""

    decided_at: datetime
    candidate_version: str
    installed_version: str
    decision: str  # one of PROMOTION_DECISIONS
    figures: dict
    report_path: str


@dataclass(frozen=True)
class PredictionRecord:
    sha1: str
    model_name: str
    model_version: str
    operating_point: str
    predictions: tuple[str, ...]
    probabilities: dict[str, float]


@dataclass(frozen=True)
class SuggestionRecord:
    label: str
    score: float
    adds_topic: bool | None


@dataclass(frozen=True)
class ReportRow:
    """One suggestion with what a report shows about its file."""

    suggestion_id: int
    title: str
    label: str
    score: float
    adds_topic: bool | None
    state: str
    uploader: str | None
    uploaded_at: str


@dataclass(frozen=True)
class LabelCounts:
    """A label's suggestions awaiting review, and how many of those are new."""

    awaiting: int
    new: int


@dataclass(frozen=True)
class UncategorizedFile:
    """An upload with no visible category, with its suggested (label, score), best first."""

    title: str
    uploader: str | None
    uploaded_at: str
    suggestions: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class PageSave:
    """The latest publishing attempt of one page (times are naive UTC)."""

    title: str
    status: str
    detail: str | None
    attempted_at: datetime
    saved_at: datetime | None


@dataclass(frozen=True)
class FlagRecord:
    """A decided flag: the score, its tier and each fired signal (bot.flag_score)."""

    score: float
    tier: str
    signals: tuple[Signal, ...]
    dhash: str | None = None


@dataclass(frozen=True)
class FlagRow:
    """A stored flag with its file, as the flags report shows it."""

    title: str
    uploader: str | None
    uploaded_at: str
    logid: int
    score: float
    tier: str
    signals: tuple[Signal, ...]
    state: str
    created_at: datetime | None = None
    reviewed_by: str | None = None
    reviewed_revision: int | None = None


@dataclass(frozen=True)
class FlagReview:
    """A trusted reviewer's verdict on a flag, from one revision of the review page."""

    title: str
    state: str  # FLAG_FINE or FLAG_KEPT
    reviewer: str
    revision: int


@dataclass(frozen=True)
class PassRecord:
    """One finished pass, as the health check reads it (times are naive UTC)."""

    started_at: datetime
    finished_at: datetime
    files_seen: int
    files_classified: int
    errors: dict[str, int]
    model_name: str
    model_version: str
    stopped: bool


@dataclass(frozen=True)
class ErrorRecord:
    """The latest file whose outcome was an error, with its message."""

    title: str
    outcome: str
    error: str | None
    processed_at: datetime


@dataclass(frozen=True)
class RecentErrors:
    """Files processed in a recent window whose outcome is an error, by outcome, split
    into those a later pass will try again (a transient outcome with attempts left, or
    one left in progress) and final ones, which stay as they are; with a few example
    titles of each final outcome, and the window's count of files of every outcome."""

    files: int
    retrying: dict[str, int]
    final: dict[str, int]
    examples: dict[str, list[str]]


@dataclass(frozen=True)
class GalleryRow:
    """One suggestion as the review tool shows it: the file, the label and score, and
    where review stands (the standing review's reviewer, a confirmation by categories)."""

    suggestion_id: int
    title: str
    label: str
    score: float
    adds_topic: bool | None
    state: str
    model_version: str
    uploader: str | None
    uploaded_at: str
    reviewer: str | None
    reviewed_at: datetime | None
    confirmed_by_categories: bool


@dataclass(frozen=True)
class ReviewRecord:
    """One review: who decided what, when, and who undid it when (None while it stands)."""

    suggestion_id: int
    decision: str
    reviewer: str
    reviewed_at: datetime
    undone_by: str | None
    undone_at: datetime | None


def _confirmable() -> ColumnElement[bool]:
    """Suggestions categories can confirm: the file's categories did not imply the label
    when it was suggested (adds_topic true, or unknown), and not withdrawn. One rule for
    marking, counting and choosing files to re-read."""
    s = suggestions_table
    return and_(or_(s.c.adds_topic.is_(None), s.c.adds_topic.is_(True)),
                s.c.state != "withdrawn")


def _topics_json(topics: Collection[str] | None) -> str | None:
    """Category-derived topics as stored: JSON, or NULL when the walk did not finish."""
    return None if topics is None else json.dumps(list(topics))


def band_values(dhash: str | None) -> dict[str, int | None]:
    """The flags table's band columns for a dhash (all null without one)."""
    bands = dhash_bands(dhash) if dhash else [None] * DHASH_BANDS
    return {f"dhash_band{i}": band for i, band in enumerate(bands)}


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Store:
    """All reads and writes of the bot's state. Opening one brings the schema up to
    date (`bot.migrate`), so a new release never runs against an old schema."""

    def __init__(self, url: str | URL):
        # pre-ping: ToolsDB closes connections idle for long (between hourly publishes)
        self.engine = create_engine(url, pool_pre_ping=True, pool_recycle=1800)
        migrate.upgrade(self.engine)

    def _write(self, work: Callable[[Connection], T]) -> T:
        """Run `work` in one transaction, again after a conflict with another writer: a
        concurrent insert of the same key (the retry then sees that row), a deadlock, a
        lock timeout, SQLite's "database is locked", or a connection the server dropped."""
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                with self.engine.begin() as conn:
                    return work(conn)
            except (IntegrityError, OperationalError) as err:
                if attempt == WRITE_ATTEMPTS:
                    raise
                log.warning("write conflict (attempt %d), retrying: %s", attempt, err.orig)
                time.sleep(random.uniform(0.01, 0.05) * 2**attempt)
        raise AssertionError("unreachable")

    # -- cursor and files ------------------------------------------------------------

    def cursor(self, name: str = "uploads") -> Cursor | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(cursor_table.c.timestamp, cursor_table.c.logid).where(
                    cursor_table.c.name == name
                )
            ).first()
        return Cursor(row.timestamp, row.logid) if row else None

    def retry_candidates(self, max_attempts: int, limit: int) -> list[FileRecord]:
        """Files with a transient outcome and attempts left, and files left in progress
        by a process that died (to be recorded as poison), oldest first."""
        f = files_table
        query = (
            select(f.c.logid, f.c.title, f.c.uploaded_at, f.c.uploader, f.c.outcome)
            .where(
                or_(
                    and_(f.c.outcome.in_(TRANSIENT_OUTCOMES), f.c.attempts < max_attempts),
                    f.c.outcome == IN_PROGRESS,
                )
            )
            .order_by(f.c.uploaded_at, f.c.logid)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [
                FileRecord(
                    logid=r.logid,
                    title=r.title,
                    uploaded_at=r.uploaded_at,
                    uploader=r.uploader,
                    outcome=r.outcome,
                )
                for r in conn.execute(query)
            ]

    def mark_in_progress(self, file: FileRecord) -> None:
        """Note durably that this file's download and decoding begin (see IN_PROGRESS). A
        file already recorded with a final outcome is left as it is."""
        f = files_table

        def work(conn: Connection) -> None:
            old = conn.execute(
                select(f.c.outcome).where(f.c.logid == file.logid).with_for_update()
            ).first()
            if old is None:
                conn.execute(
                    f.insert().values(
                        logid=file.logid,
                        title=file.title,
                        uploader=file.uploader,
                        uploaded_at=file.uploaded_at,
                        outcome=IN_PROGRESS,
                        attempts=1,
                        processed_at=_now(),
                    )
                )
            elif old.outcome in (*TRANSIENT_OUTCOMES, IN_PROGRESS):
                conn.execute(
                    update(f)
                    .where(f.c.logid == file.logid)
                    .values(outcome=IN_PROGRESS, attempts=f.c.attempts + 1, processed_at=_now())
                )

        self._write(work)

    def starts_without_outcome(self, logid: int) -> int:
        """How often earlier runs started this file and died before recording its outcome
        (its `attempts` while IN_PROGRESS); 0 for any other file."""
        f = files_table
        with self.engine.connect() as conn:
            starts = conn.execute(
                select(f.c.attempts).where(f.c.logid == logid, f.c.outcome == IN_PROGRESS)
            ).scalar_one_or_none()
        return starts or 0

    def prediction(self, sha1: str, model_version: str) -> PredictionRecord | None:
        """A stored prediction for these bytes and model, so they are not classified twice."""
        t = predictions_table
        with self.engine.connect() as conn:
            row = conn.execute(
                select(t).where(t.c.sha1 == sha1, t.c.model_version == model_version)
            ).first()
        if row is None:
            return None
        return PredictionRecord(
            sha1=row.sha1,
            model_name=row.model_name,
            model_version=row.model_version,
            operating_point=row.operating_point,
            predictions=tuple(json.loads(row.predictions)),
            probabilities=json.loads(row.probabilities),
        )

    def record_upload(
        self,
        file: FileRecord,
        cursor: Cursor | None,
        prediction: PredictionRecord | None = None,
        suggestions: Iterable[SuggestionRecord] = (),
        features: ImageFeatures | None = None,
        flag: FlagRecord | None = None,
        training: TrainingLogRecord | None = None,
    ) -> bool:
        """Record one upload, its prediction, suggestions, pixel features, flag and
        training-log row (one per SHA-1: the first kept), and move the cursor, all in
        one transaction. Returns False (and changes nothing) if it
        was already recorded with a final outcome; a transient outcome is replaced (a
        retry). One listing per file: an overwrite's flag replaces the earlier one.

        `cursor` None records the file without moving the cursor: a file from outside the
        upload log's walk (an import of backfilled predictions for old files) must not
        change where the live bot resumes."""
        suggestions = tuple(suggestions)

        def work(conn: Connection) -> bool:
            recorded = self._record_upload(conn, file, cursor, prediction, suggestions)
            if recorded and features is not None and file.sha1:
                self._insert_features(conn, file.sha1, features)
            if recorded and flag is not None:
                self._insert_flag(conn, file, flag)
            if recorded and training is not None:
                self._insert_training_row(conn, training)
            return recorded

        return self._write(work)

    def _record_upload(
        self,
        conn: Connection,
        file: FileRecord,
        cursor: Cursor | None,
        prediction: PredictionRecord | None,
        suggestions: tuple[SuggestionRecord, ...],
    ) -> bool:
        now = _now()
        old = conn.execute(
            select(files_table.c.outcome, files_table.c.attempts)
            .where(files_table.c.logid == file.logid)
            .with_for_update()  # MariaDB: a second writer of this file waits here
        ).first()
        if old is not None and old.outcome not in (*TRANSIENT_OUTCOMES, IN_PROGRESS):
            self._move_cursor(conn, cursor)
            return False
        if old is not None:
            conn.execute(files_table.delete().where(files_table.c.logid == file.logid))
        attempts = 1 if old is None else old.attempts + (old.outcome != IN_PROGRESS)
        conn.execute(
            files_table.insert().values(
                attempts=attempts,
                logid=file.logid,
                title=file.title,
                page_id=file.page_id,
                sha1=file.sha1,
                uploader=file.uploader,
                uploaded_at=file.uploaded_at,
                mime=file.mime,
                outcome=file.outcome,
                error=file.error,
                claimed_topics=_topics_json(file.claimed_topics),
                milliseconds=file.milliseconds,
                visible_categories=file.visible_categories,
                processed_at=now,
            )
        )
        if prediction is not None:
            self._insert_prediction(conn, prediction, now)
            self._insert_suggestions(conn, file, prediction, suggestions, now)
        self._move_cursor(conn, cursor)
        return True

    def _insert_prediction(self, conn: Connection, p: PredictionRecord, now: datetime) -> None:
        t = predictions_table
        exists = conn.execute(
            select(t.c.sha1).where(t.c.sha1 == p.sha1, t.c.model_version == p.model_version)
        ).first()
        if exists:
            return
        conn.execute(
            t.insert().values(
                sha1=p.sha1,
                model_version=p.model_version,
                model_name=p.model_name,
                operating_point=p.operating_point,
                predictions=json.dumps(list(p.predictions)),
                probabilities=json.dumps(p.probabilities, sort_keys=True),
                created_at=now,
            )
        )

    def _insert_suggestions(
        self,
        conn: Connection,
        file: FileRecord,
        p: PredictionRecord,
        suggestions: Iterable[SuggestionRecord],
        now: datetime,
    ) -> None:
        t = suggestions_table
        for s in suggestions:
            exists = conn.execute(
                select(t.c.id).where(t.c.title == file.title, t.c.label == s.label)
            ).first()
            if exists:
                continue  # a reviewed or published suggestion is never reset by a rerun
            conn.execute(
                t.insert().values(
                    title=file.title,
                    label=s.label,
                    logid=file.logid,
                    sha1=p.sha1,
                    score=s.score,
                    operating_point=p.operating_point,
                    model_version=p.model_version,
                    adds_topic=s.adds_topic,
                    state="pending",
                    created_at=now,
                    updated_at=now,
                )
            )

    def _insert_features(self, conn: Connection, sha1: str, features: ImageFeatures) -> None:
        t = image_features_table
        if conn.execute(select(t.c.sha1).where(t.c.sha1 == sha1)).first() is None:
            conn.execute(
                t.insert().values(
                    sha1=sha1, dhash=features.dhash, spread=features.spread, created_at=_now()
                )
            )

    def _insert_training_row(self, conn: Connection, row: TrainingLogRecord) -> bool:
        t = training_log_table
        if conn.execute(select(t.c.sha1).where(t.c.sha1 == row.sha1)).first() is not None:
            return False
        conn.execute(
            t.insert().values(
                sha1=row.sha1,
                model_version=row.model_version,
                inputs=row.inputs,
                layout=row.layout,
                claimed_topics=_topics_json(row.claimed_topics),
                walk_complete=row.claimed_topics is not None,
                created_at=_now(),
            )
        )
        return True

    def add_training_rows(self, rows: Sequence[TrainingLogRecord]) -> int:
        """Training-log rows of files the bot never saw (the backfill's), in one
        transaction; an image that has a row keeps it. Returns how many were added."""
        return self._write(lambda conn: sum(self._insert_training_row(conn, r) for r in rows))

    def prune_training_log(self, max_rows: int, retention_days: float) -> int:
        """Drop training-log rows older than `retention_days` (0: no age limit), then the
        oldest beyond `max_rows`; returns how many went."""
        t = training_log_table

        def work(conn: Connection) -> int:
            gone = 0
            if retention_days > 0:
                cutoff = _now() - timedelta(days=retention_days)
                gone += conn.execute(t.delete().where(t.c.created_at < cutoff)).rowcount
            excess = conn.execute(select(func.count()).select_from(t)).scalar_one() - max_rows
            if excess > 0:
                oldest = conn.execute(
                    select(t.c.sha1).order_by(t.c.created_at, t.c.sha1).limit(excess)
                ).scalars().all()
                for start in range(0, len(oldest), 1000):
                    chunk = oldest[start : start + 1000]
                    gone += conn.execute(t.delete().where(t.c.sha1.in_(chunk))).rowcount
            return gone

        return self._write(work)

    def training_log(
        self, since: datetime | None = None, batch: int = 5000, complete_only: bool = True
    ) -> Iterable[Row]:
        """Training-log rows whose category walk completed (every row: `complete_only`
        false), created at or after `since`, in SHA-1 order, read `batch` at a time so a
        million rows never sit in one result."""
        t = training_log_table
        query = select(t.c.sha1, t.c.model_version, t.c.inputs, t.c.layout, t.c.claimed_topics,
                       t.c.walk_complete, t.c.created_at)
        if complete_only:
            query = query.where(t.c.walk_complete.is_(True))
        if since is not None:
            query = query.where(t.c.created_at >= since)
        after = ""
        while True:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    query.where(t.c.sha1 > after).order_by(t.c.sha1).limit(batch)
                ).all()
            yield from rows
            if len(rows) < batch:
                return
            after = rows[-1].sha1

    def training_log_count(self, since: datetime | None = None) -> int:
        """Rows of the training log (created at or after `since`)."""
        t = training_log_table
        query = select(func.count()).select_from(t)
        if since is not None:
            query = query.where(t.c.created_at >= since)
        with self.engine.connect() as conn:
            return conn.execute(query).scalar_one()

    def reviewed_labels(self) -> dict[str, dict[str, str]]:
        """{sha1: {label: accepted or rejected}} from the standing reviews: what people
        said about a file's topics, the clean labels of a retraining. Where two titles of
        the same image were reviewed for one label, the later review counts."""
        r, s = reviews_table, suggestions_table
        query = (
            select(s.c.sha1, s.c.label, r.c.decision)
            .select_from(r)
            .join(s, s.c.id == r.c.live_suggestion_id)
            .where(r.c.live_suggestion_id.is_not(None))
            .order_by(r.c.reviewed_at, r.c.id)
        )
        labels: dict[str, dict[str, str]] = {}
        with self.engine.connect() as conn:
            for sha1, label, decision in conn.execute(query):
                labels.setdefault(sha1, {})[label] = decision
        return labels

    def record_promotion(self, record: PromotionRecord) -> bool:
        """Keep one decision of the promotion gate; False when it was recorded before."""
        if record.decision not in PROMOTION_DECISIONS:
            raise ValueError(f"a promotion is one of {PROMOTION_DECISIONS}, "
                             f"not {record.decision!r}")
        p = promotions_table

        def work(conn: Connection) -> bool:
            known = conn.execute(
                select(p.c.id).where(p.c.candidate_version == record.candidate_version,
                                     p.c.decided_at == record.decided_at)
            ).first()
            if known is not None:
                return False
            values = dataclasses.asdict(record) | {"figures": json.dumps(record.figures),
                                                   "recorded_at": _now()}
            conn.execute(p.insert().values(**values))
            return True

        return self._write(work)

    def last_promotion(self) -> PromotionRecord | None:
        """The latest decision of the promotion gate, or None."""
        p = promotions_table
        query = select(p.c.decided_at, p.c.candidate_version, p.c.installed_version,
                       p.c.decision, p.c.figures, p.c.report_path)
        with self.engine.connect() as conn:
            row = conn.execute(query.order_by(p.c.decided_at.desc(), p.c.id.desc())).first()
        if row is None:
            return None
        return PromotionRecord(*row[:4], json.loads(row.figures), row.report_path)

    def _insert_flag(self, conn: Connection, file: FileRecord, flag: FlagRecord) -> None:
        """One listing per file title. A rerun of the same upload event changes nothing;
        a new upload over the title (an overwrite, whatever its earlier flag's state,
        found fine included) replaces the flag with this one, active and unreviewed:
        new bytes are a new assessment."""
        t = flags_table
        old = conn.execute(select(t.c.id, t.c.logid).where(t.c.title == file.title)).first()
        if old is not None and old.logid == file.logid:
            return
        now = _now()
        values = {
            "logid": file.logid,
            "sha1": file.sha1,
            "uploader": file.uploader,
            "uploaded_at": file.uploaded_at,
            "dhash": flag.dhash,
            **band_values(flag.dhash),
            "score": flag.score,
            "tier": flag.tier,
            "signals": json.dumps([dataclasses.asdict(s) for s in flag.signals]),
            "state": FLAG_ACTIVE,
            "updated_at": now,
        }
        if old is None:
            conn.execute(t.insert().values(title=file.title, created_at=now, **values))
        else:
            conn.execute(
                update(t)
                .where(t.c.id == old.id)
                .values(reviewed_by=None, reviewed_revision=None, created_at=now, **values)
            )

    def _move_cursor(self, conn: Connection, cursor: Cursor | None, name: str = "uploads") -> None:
        """Move the cursor forward, never back: the comparison is in the UPDATE itself, so
        two writers that read the same old cursor cannot undo each other's move. None
        leaves it where it is."""
        if cursor is None:
            return
        t = cursor_table
        ahead = or_(
            t.c.timestamp < cursor.timestamp,
            and_(t.c.timestamp == cursor.timestamp, t.c.logid <= cursor.logid),
        )
        conn.execute(
            update(t)
            .where(t.c.name == name, ahead)
            .values(timestamp=cursor.timestamp, logid=cursor.logid)
        )
        if conn.execute(select(t.c.name).where(t.c.name == name)).first() is None:
            conn.execute(
                t.insert().values(name=name, timestamp=cursor.timestamp, logid=cursor.logid)
            )

    # -- suggestions and reports -------------------------------------------------------

    @staticmethod
    def _report_select() -> Select:
        """A suggestion with its file's uploader and upload time: a ReportRow."""
        s, f = suggestions_table, files_table
        return select(
            s.c.id,
            s.c.title,
            s.c.label,
            s.c.score,
            s.c.adds_topic,
            s.c.state,
            f.c.uploader,
            f.c.uploaded_at,
        ).join(f, f.c.logid == s.c.logid)

    def report_rows(
        self, states: Collection[str] = ("pending", "published", "accepted")
    ) -> list[ReportRow]:
        """Every suggestion in `states`, oldest upload first, with its file's details (all
        of them: for tests and one-off inspection; pages read `worklist`)."""
        s, f = suggestions_table, files_table
        query = (
            self._report_select()
            .where(s.c.state.in_(list(states)))
            .order_by(f.c.uploaded_at, f.c.logid, s.c.id)
        )
        with self.engine.connect() as conn:
            return [ReportRow(*row) for row in conn.execute(query)]

    def worklist(self, label: str, limit: int) -> list[ReportRow]:
        """The newest `limit` suggestions of `label` still awaiting review, newest upload
        first: one topic page reads only the rows it can show."""
        s, f = suggestions_table, files_table
        query = (
            self._report_select()
            .where(s.c.label == label, s.c.state.in_(REVIEWABLE_STATES), f.c.deleted_at.is_(None))
            # log ids grow with upload time: the (label, logid) index walks newest first
            .order_by(s.c.logid.desc(), s.c.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [ReportRow(*row) for row in conn.execute(query)]

    def label_counts(self, new_since: datetime) -> dict[str, LabelCounts]:
        """Per label: suggestions awaiting review, and how many of them were made since
        `new_since` (naive UTC); one grouped query, whatever the store holds."""
        s = suggestions_table
        query = (
            select(
                s.c.label,
                func.count(),
                func.sum(case((s.c.created_at >= new_since, 1), else_=0)),
            )
            .where(s.c.state.in_(REVIEWABLE_STATES))
            .group_by(s.c.label)
        )
        with self.engine.connect() as conn:
            return {
                label: LabelCounts(awaiting=n, new=int(new or 0))
                for label, n, new in conn.execute(query)
            }

    def unsuggested_count(self) -> int:
        """Classified files still on the wiki for which the model suggested nothing."""
        s, f = suggestions_table, files_table
        query = select(func.count(func.distinct(f.c.title))).where(
            f.c.outcome == "classified",
            f.c.deleted_at.is_(None),
            ~select(s.c.id).where(s.c.title == f.c.title).exists(),
        )
        with self.engine.connect() as conn:
            return conn.execute(query).scalar_one()

    def uncategorized(self, limit: int) -> list[UncategorizedFile]:
        """The newest `limit` files on the wiki whose uploader gave them no visible
        category, newest first, each with its suggested labels (best first)."""
        f, s = files_table, suggestions_table
        newest = (
            select(f.c.title, func.max(f.c.logid).label("logid"))
            .where(f.c.visible_categories == 0, f.c.deleted_at.is_(None))
            .group_by(f.c.title)
            .subquery()
        )
        query = (
            select(f.c.title, f.c.uploader, f.c.uploaded_at)
            .join(newest, newest.c.logid == f.c.logid)
            .order_by(f.c.uploaded_at.desc(), f.c.logid.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            files = conn.execute(query).all()
            labels: dict[str, list[tuple[str, float]]] = {r.title: [] for r in files}
            titles = list(labels)
            for start in range(0, len(titles), 500):
                rows = conn.execute(
                    select(s.c.title, s.c.label, s.c.score).where(
                        s.c.title.in_(titles[start : start + 500]),
                        s.c.state.not_in(["rejected", "withdrawn"]),
                    )
                )
                for row in rows:
                    labels[row.title].append((row.label, row.score))
        return [
            UncategorizedFile(
                r.title,
                r.uploader,
                r.uploaded_at,
                tuple(sorted(labels[r.title], key=lambda ls: -ls[1])),
            )
            for r in files
        ]

    def set_visible_categories(self, counts: dict[str, int]) -> None:
        """Note how many visible categories files have now (people categorize later)."""
        f = files_table

        def work(conn: Connection) -> None:
            for title, n in counts.items():
                conn.execute(update(f).where(f.c.title == title).values(visible_categories=n))

        if counts:
            self._write(work)

    def mark_deleted(self, deletions: Iterable[tuple[str, str]], cursor: Cursor) -> int:
        """Note files the wiki deleted, from (title, deletion time) pairs of the delete
        log, and move the deletions cursor, in one transaction: each upload of the title
        made before its deletion leaves every page, and its suggestions awaiting review
        are withdrawn (the store keeps them). Returns how many titles were known."""
        deletions = list(deletions)
        f, s = files_table, suggestions_table

        def work(conn: Connection) -> int:
            known = 0
            for title, at in deletions:
                gone = conn.execute(
                    update(f)
                    .where(f.c.title == title, f.c.uploaded_at <= at, f.c.deleted_at.is_(None))
                    .values(deleted_at=at)
                ).rowcount
                if gone:
                    known += 1
                    conn.execute(
                        update(s)
                        .where(s.c.title == title, s.c.state.in_(REVIEWABLE_STATES))
                        .values(state="withdrawn", updated_at=_now())
                    )
            self._move_cursor(conn, cursor, DELETIONS_CURSOR)
            return known

        return self._write(work)

    def oldest_upload(self) -> str | None:
        """The upload time of the oldest file recorded (where deletions start to matter)."""
        with self.engine.connect() as conn:
            return conn.execute(select(func.min(files_table.c.uploaded_at))).scalar_one()

    def deleted_among(self, titles: Collection[str]) -> set[str]:
        """Which of `titles` the store knows to be deleted (for edit summaries)."""
        f = files_table
        titles = list(titles)
        out: set[str] = set()
        with self.engine.connect() as conn:
            for start in range(0, len(titles), 500):
                out.update(
                    conn.execute(
                        select(f.c.title).where(
                            f.c.title.in_(titles[start : start + 500]), f.c.deleted_at.is_not(None)
                        )
                    ).scalars()
                )
        return out

    def suggestion_states(self) -> dict[str, int]:
        """Suggestions per state (the health check shows those awaiting review)."""
        s = suggestions_table
        query = select(s.c.state, func.count()).group_by(s.c.state)
        with self.engine.connect() as conn:
            return {state: n for state, n in conn.execute(query)}

    def set_state(self, suggestion_ids: Collection[int], state: str) -> None:
        """Move suggestions to a review state (published after a report save, and so on)."""
        if state not in SUGGESTION_STATES:
            raise ValueError(f"unknown suggestion state {state!r}; use one of {SUGGESTION_STATES}")
        if not suggestion_ids:
            return
        t = suggestions_table
        self._write(
            lambda conn: conn.execute(
                update(t)
                .where(t.c.id.in_(list(suggestion_ids)))
                .values(state=state, updated_at=_now())
            )
        )

    def counts(self) -> dict[str, int]:
        """Row counts per table (for summaries and tests)."""
        with self.engine.connect() as conn:
            return {
                t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                for t in (files_table, predictions_table, suggestions_table, category_cache_table)
            }

    def outcomes(self, since: datetime | None = None) -> dict[str, int]:
        """Files per outcome, all of them or those processed since `since` (naive UTC)."""
        f = files_table
        query = select(f.c.outcome, func.count()).group_by(f.c.outcome)
        if since is not None:
            query = query.where(f.c.processed_at >= since)
        with self.engine.connect() as conn:
            return {outcome: n for outcome, n in conn.execute(query)}

    def last_error(self) -> ErrorRecord | None:
        """The most recently processed file whose outcome is an error."""
        f = files_table
        query = (
            select(f.c.title, f.c.outcome, f.c.error, f.c.processed_at)
            .where(f.c.outcome.not_in(EXPECTED_OUTCOMES))
            .order_by(f.c.processed_at.desc(), f.c.logid.desc())
            .limit(1)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return ErrorRecord(*row) if row else None

    def recent_errors(self, since: datetime, max_attempts: int, examples: int = 3) -> RecentErrors:
        """The error outcomes of the files processed since `since` (naive UTC); see
        RecentErrors. `max_attempts` is the bot's: a transient outcome at that many
        attempts is final."""
        f = files_table
        retrying = or_(
            f.c.outcome == IN_PROGRESS,
            and_(f.c.outcome.in_(TRANSIENT_OUTCOMES), f.c.attempts < max_attempts),
        )
        recent = f.c.processed_at >= since
        errors = and_(recent, f.c.outcome.not_in(EXPECTED_OUTCOMES))
        counts = (
            select(f.c.outcome, retrying.label("retrying"), func.count())
            .where(errors)
            .group_by(f.c.outcome, retrying)
        )
        by_kind: dict[bool, dict[str, int]] = {True: {}, False: {}}
        shown: dict[str, list[str]] = {}
        with self.engine.connect() as conn:
            files = conn.execute(select(func.count()).select_from(f).where(recent)).scalar_one()
            for outcome, again, n in conn.execute(counts):
                by_kind[bool(again)][outcome] = n
            for outcome in by_kind[False]:
                shown[outcome] = list(
                    conn.execute(
                        select(f.c.title)
                        .where(errors, ~retrying, f.c.outcome == outcome)
                        .order_by(f.c.processed_at.desc(), f.c.logid.desc())
                        .limit(examples)
                    ).scalars()
                )
        return RecentErrors(files, by_kind[True], by_kind[False], shown)

    # -- flags -------------------------------------------------------------------------

    def image_features(self, sha1: str) -> ImageFeatures | None:
        """Stored pixel features of these bytes (for a file whose prediction is reused)."""
        t = image_features_table
        with self.engine.connect() as conn:
            row = conn.execute(select(t.c.dhash, t.c.spread).where(t.c.sha1 == sha1)).first()
        return ImageFeatures(row.dhash, row.spread) if row else None

    def flagged_hashes(
        self, near: str | None = None, max_distance: int = DHASH_BANDS - 1
    ) -> Iterator[tuple[str, str]]:
        """(title, dhash) of every flag not found fine: active ones, and deleted files,
        whose re-uploads are what the near-duplicate signal is for. With `near`, only
        those that may lie within `max_distance` bits of it: the flags sharing one of
        its bands, read through the band indexes (about 1/32 of the flags for random
        hashes, instead of all of them; a distance the bands cannot vouch for reads
        them all, streamed in chunks, never held whole)."""
        t = flags_table
        kept = t.c.state.in_([*FLAG_LISTED, FLAG_DELETED])
        with self.engine.connect() as conn:
            if near is None or max_distance >= DHASH_BANDS:
                query = select(t.c.title, t.c.dhash).where(kept, t.c.dhash.is_not(None))
                for row in conn.execution_options(yield_per=STREAM_CHUNK).execute(query):
                    yield row.title, row.dhash
                return
            candidates: dict[str, str] = {}  # a near-copy shares several bands: once each
            for i, value in enumerate(dhash_bands(near)):
                query = select(t.c.title, t.c.dhash).where(t.c[f"dhash_band{i}"] == value, kept)
                candidates.update(tuple(row) for row in conn.execute(query))
        yield from candidates.items()

    def flag_rows(
        self, states: Collection[str] = (FLAG_ACTIVE,), titles: Collection[str] | None = None
    ) -> list[FlagRow]:
        """Flags in these states (of these titles only, when given), newest upload first."""
        t = flags_table
        query = select(t).where(t.c.state.in_(list(states)))
        if titles is not None:
            query = query.where(t.c.title.in_(list(titles)))
        return self._flag_rows(query.order_by(t.c.uploaded_at.desc(), t.c.logid.desc()))

    def listed_flags(self, tiers: Sequence[str]) -> Iterator[FlagRow]:
        """The listed flags in the flags page's order: by `tiers` (strongest first), then
        the highest score, then the newest upload. Streamed in chunks, so that the page
        keeps what it shows and only counts the rest."""
        t = flags_table
        tier_order = case(
            {tier: i for i, tier in enumerate(tiers)}, value=t.c.tier, else_=len(tiers)
        )
        query = (
            select(t)
            .where(t.c.state.in_(FLAG_LISTED))
            .order_by(tier_order, t.c.score.desc(), t.c.uploaded_at.desc(), t.c.logid.desc())
        )
        with self.engine.connect() as conn:
            for row in conn.execution_options(yield_per=STREAM_CHUNK).execute(query):
                yield _flag_row(row)

    def _flag_rows(self, query: Select) -> list[FlagRow]:
        with self.engine.connect() as conn:
            return [_flag_row(row) for row in conn.execute(query)]

    def withdraw_flags(self, titles: Collection[str], state: str) -> int:
        """Withdraw the listed flags of these files whose file is gone (FLAG_DELETED);
        returns how many changed."""
        if state != FLAG_DELETED:
            raise ValueError(f"flags are withdrawn here as {FLAG_DELETED}, not {state!r}")
        if not titles:
            return 0
        t = flags_table
        return self._write(
            lambda conn: conn.execute(
                update(t)
                .where(t.c.title.in_(list(titles)), t.c.state.in_(FLAG_LISTED))
                .values(state=state, updated_at=_now())
            ).rowcount
        )

    def flag_count(self, state: str = FLAG_ACTIVE) -> int:
        t = flags_table
        with self.engine.connect() as conn:
            return conn.execute(
                select(func.count()).select_from(t).where(t.c.state == state)
            ).scalar_one()

    # -- page saves --------------------------------------------------------------------

    def record_page_saves(self, results: Iterable[tuple[str, str, str]]) -> None:
        """Note the outcome of each page's latest publishing attempt, as (title, status,
        detail): `saved`, `written` and `unchanged` mean the page is as rendered."""
        t = page_saves_table
        now = _now()

        def work(conn: Connection) -> None:
            for title, status, detail in results:
                values = dict(status=status, detail=detail or None, attempted_at=now)
                if status in ("saved", "written"):
                    values["saved_at"] = now
                if conn.execute(select(t.c.title).where(t.c.title == title)).first() is None:
                    conn.execute(t.insert().values(title=title, **values))
                else:
                    conn.execute(update(t).where(t.c.title == title).values(**values))

        self._write(work)

    def page_saves(self) -> list[PageSave]:
        """The latest attempt of every page, most recent first."""
        t = page_saves_table
        query = select(t).order_by(t.c.attempted_at.desc(), t.c.title)
        with self.engine.connect() as conn:
            return [
                PageSave(r.title, r.status, r.detail, r.attempted_at, r.saved_at)
                for r in conn.execute(query)
            ]

    def review_flags(self, reviews: Iterable[FlagReview]) -> int:
        """Apply trusted verdicts to listed flags (`fine` withdraws, `kept` stays listed),
        recording the reviewer and revision; returns how many changed."""
        t = flags_table
        reviews = [r for r in reviews if r.state in (FLAG_FINE, FLAG_KEPT)]

        def work(conn: Connection) -> int:
            changed = 0
            for r in reviews:
                changed += conn.execute(
                    update(t)
                    .where(
                        t.c.title == r.title,
                        t.c.state.in_(FLAG_LISTED),
                        or_(t.c.state != r.state, t.c.reviewed_revision.is_(None)),
                    )
                    .values(
                        state=r.state,
                        reviewed_by=r.reviewer,
                        reviewed_revision=r.revision,
                        updated_at=_now(),
                    )
                ).rowcount
            return changed

        return self._write(work) if reviews else 0

    def restore_flags(self, titles: Collection[str]) -> int:
        """Make reviewed flags of these files active again (their review was reverted)."""
        if not titles:
            return 0
        t = flags_table
        return self._write(
            lambda conn: conn.execute(
                update(t)
                .where(t.c.title.in_(list(titles)), t.c.state.in_((FLAG_FINE, FLAG_KEPT)))
                .values(
                    state=FLAG_ACTIVE, reviewed_by=None, reviewed_revision=None, updated_at=_now()
                )
            ).rowcount
        )

    def flags_reviewed_in(self, revisions: Collection[int]) -> list[FlagRow]:
        """Flags whose review was read from one of these revisions of the review page."""
        if not revisions:
            return []
        t = flags_table
        return self._flag_rows(select(t).where(t.c.reviewed_revision.in_(list(revisions))))

    # -- passes ------------------------------------------------------------------------

    def record_pass(self, record: PassRecord) -> None:
        """Note a finished pass (the health check's proof of life)."""
        values = dataclasses.asdict(record)
        values["errors"] = json.dumps(record.errors, sort_keys=True)
        self._write(lambda conn: conn.execute(passes_table.insert().values(**values)))

    def last_pass(self) -> PassRecord | None:
        t = passes_table
        query = select(t).order_by(t.c.finished_at.desc(), t.c.id.desc()).limit(1)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        values = {f.name: getattr(row, f.name) for f in dataclasses.fields(PassRecord)}
        values["errors"] = json.loads(row.errors)
        return PassRecord(**values)

    # -- category cache ----------------------------------------------------------------

    def cached_categories(
        self, titles: Collection[str], max_age: timedelta
    ) -> dict[str, CategoryInfo]:
        """Cached category descriptions younger than `max_age`."""
        if not titles:
            return {}
        t = category_cache_table
        oldest = _now() - max_age
        out: dict[str, CategoryInfo] = {}
        with self.engine.connect() as conn:
            titles = list(titles)
            for start in range(0, len(titles), 500):  # stay far below SQL parameter limits
                rows = conn.execute(
                    select(t).where(
                        t.c.title.in_(titles[start : start + 500]), t.c.fetched_at >= oldest
                    )
                )
                for row in rows:
                    out[row.title] = CategoryInfo(
                        parents=tuple(json.loads(row.parents)),
                        hidden=row.hidden,
                        exists=row.page_exists,
                    )
        return out

    def category_fetched_at(self, titles: Collection[str]) -> dict[str, datetime]:
        """When each of these categories was cached (naive UTC), for those cached."""
        t = category_cache_table
        titles = list(titles)
        out: dict[str, datetime] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(titles), 500):
                query = select(t.c.title, t.c.fetched_at).where(
                    t.c.title.in_(titles[start : start + 500])
                )
                out.update({row.title: row.fetched_at for row in conn.execute(query)})
        return out

    def cache_categories(self, infos: dict[str, CategoryInfo]) -> None:
        """Store known category descriptions (never UNKNOWN ones: those are retried)."""
        t = category_cache_table
        now = _now()
        known = {title: info for title, info in infos.items() if info.parents is not None}

        def write(conn: Connection) -> None:
            for title, info in known.items():
                conn.execute(t.delete().where(t.c.title == title))
                conn.execute(
                    t.insert().values(
                        title=title,
                        parents=json.dumps(list(info.parents)),
                        hidden=info.hidden,
                        page_exists=info.exists,
                        fetched_at=now,
                    )
                )

        if known:
            self._write(write)

    # -- reviews and their feedback ----------------------------------------------------

    def record_review(self, suggestion_id: int, decision: str, reviewer: str) -> bool:
        """Accept or reject a suggestion on behalf of `reviewer`, exactly once: True when
        this call decided it, False when it already had a standing review (a double
        click, a second reviewer) or was withdrawn. The state moves by a conditional
        UPDATE and the review row is unique per standing suggestion, so concurrent calls
        (threads, processes, MariaDB connections) leave one review and one state change.
        Raises LookupError for an id the store does not have."""
        if decision not in REVIEW_DECISIONS:
            raise ValueError(f"a review decides one of {REVIEW_DECISIONS}, not {decision!r}")
        if not reviewer:
            raise ValueError("a review needs the reviewer's user name")
        s = suggestions_table

        def work(conn: Connection) -> bool:
            state = conn.execute(select(s.c.state).where(s.c.id == suggestion_id)).scalar()
            if state is None:
                raise LookupError(f"no suggestion {suggestion_id}")
            if state not in REVIEWABLE_STATES:
                return False
            now = _now()
            moved = conn.execute(
                update(s)
                .where(s.c.id == suggestion_id, s.c.state == state)
                .values(state=decision, updated_at=now)
            ).rowcount
            if moved != 1:
                return False  # another reviewer's transaction got there first
            conn.execute(
                reviews_table.insert().values(
                    suggestion_id=suggestion_id,
                    decision=decision,
                    previous_state=state,
                    reviewer=reviewer,
                    reviewed_at=now,
                    live_suggestion_id=suggestion_id,
                )
            )
            return True

        return self._write(work)

    def undo_review(self, suggestion_id: int, reviewer: str) -> bool:
        """Undo the standing review of a suggestion, exactly once: the review row stays
        (with who undid it and when) and the suggestion returns to its earlier state, so it
        can be reviewed again. False when it had no standing review."""
        if not reviewer:
            raise ValueError("an undo needs the reviewer's user name")
        r, s = reviews_table, suggestions_table

        def work(conn: Connection) -> bool:
            review = conn.execute(
                select(r.c.id, r.c.decision, r.c.previous_state).where(
                    r.c.live_suggestion_id == suggestion_id
                )
            ).first()
            if review is None:
                return False
            now = _now()
            undone = conn.execute(
                update(r)
                .where(r.c.id == review.id, r.c.live_suggestion_id.is_not(None))
                .values(live_suggestion_id=None, undone_by=reviewer, undone_at=now)
            ).rowcount
            if undone != 1:
                return False
            conn.execute(
                update(s)
                .where(s.c.id == suggestion_id, s.c.state == review.decision)
                .values(state=review.previous_state, updated_at=now)
            )
            return True

        return self._write(work)

    def reviews_of(self, suggestion_id: int) -> list[ReviewRecord]:
        """Every review of a suggestion, undone ones included, oldest first."""
        r = reviews_table
        query = (
            select(
                r.c.suggestion_id,
                r.c.decision,
                r.c.reviewer,
                r.c.reviewed_at,
                r.c.undone_by,
                r.c.undone_at,
            )
            .where(r.c.suggestion_id == suggestion_id)
            .order_by(r.c.id)
        )
        with self.engine.connect() as conn:
            return [ReviewRecord(*row) for row in conn.execute(query)]

    def label_review_counts(
        self, model_version: str | None = None, labels: Collection[str] | None = None
    ) -> dict[str, tuple[int, int]]:
        """{label: (accepted, rejected)} over standing reviews, of suggestions made by
        `model_version` (None: every model), of `labels` (None: all). The measured
        precision is accepted / both."""
        r, s = reviews_table, suggestions_table
        # grouped by decision first and filtered on reviews, so the database walks the
        # (few) standing reviews rather than every suggestion of every label
        query = (
            select(s.c.label, r.c.decision, func.count())
            .select_from(r)
            .join(s, s.c.id == r.c.live_suggestion_id)
            .where(r.c.live_suggestion_id.is_not(None))
            .group_by(r.c.decision, s.c.label)
        )
        if model_version is not None:
            query = query.where(s.c.model_version == model_version)
        if labels is not None:
            query = query.where(s.c.label.in_(list(labels)))
        counts: dict[str, tuple[int, int]] = {}
        with self.engine.connect() as conn:
            for label, decision, n in conn.execute(query):
                accepted, rejected = counts.get(label, (0, 0))
                counts[label] = (
                    (accepted + n, rejected) if decision == "accepted" else (accepted, rejected + n)
                )
        return counts

    def label_category_confirmations(
        self, model_version: str | None = None, labels: Collection[str] | None = None
    ) -> dict[str, tuple[int, int]]:
        """{label: (confirmed, confirmable)}: of the suggestions whose file's categories
        did not imply the label when suggested (adds_topic true or unknown; withdrawn ones
        left out), how many the file's categories implied later (`confirm_by_categories`)."""
        s, c = suggestions_table, category_confirmations_table
        eligible = select(s.c.label, func.count()).where(_confirmable()).group_by(s.c.label)
        # labels of the (few) confirmations, counted here: grouped in SQL, the database
        # would walk every suggestion of every label instead
        confirmed = (
            select(s.c.label).select_from(c).join(s, s.c.id == c.c.suggestion_id)
            .where(_confirmable())
        )
        if model_version is not None:
            eligible = eligible.where(s.c.model_version == model_version)
            confirmed = confirmed.where(s.c.model_version == model_version)
        if labels is not None:
            eligible = eligible.where(s.c.label.in_(list(labels)))
            confirmed = confirmed.where(s.c.label.in_(list(labels)))
        with self.engine.connect() as conn:
            marked = Counter(conn.execute(confirmed).scalars())
            return {label: (marked.get(label, 0), n) for label, n in conn.execute(eligible)}

    def label_precision(
        self, model_version: str | None = None, labels: Collection[str] | None = None
    ) -> list[LabelPrecision]:
        """The precision table: per label, reviews and confirmations by categories, kept
        apart; labels in alphabetical order (only `labels`, when given)."""
        reviews = self.label_review_counts(model_version, labels)
        confirmations = self.label_category_confirmations(model_version, labels)
        return [
            LabelPrecision(label, *reviews.get(label, (0, 0)), *confirmations.get(label, (0, 0)))
            for label in sorted(reviews.keys() | confirmations.keys())
        ]

    def held_back_labels(
        self, floor: float, min_reviews: int, model_version: str | None = None
    ) -> dict[str, str]:
        """{label: reason} of labels to keep off the worklists: at least `min_reviews`
        standing reviews of `model_version`'s suggestions, and an accepted share under
        `floor` ([review] precision_floor and min_reviews in config.toml). Reviews of an
        earlier model do not count, so a new model version starts with none held back."""
        held = {}
        for label, (accepted, rejected) in self.label_review_counts(model_version).items():
            reason = LabelPrecision(label, accepted, rejected).held_back_reason(
                floor, min_reviews
            )
            if reason:
                held[label] = reason
        return held

    def confirmation_candidates(
        self, since: datetime, limit: int, after_id: int = 0
    ) -> list[tuple[int, str]]:
        """Files whose categories a pass may re-read: (first suggestion id, title) of files
        with a suggestion made since `since` (naive UTC: the bounded look-back) that the
        file's categories did not imply and that is neither confirmed nor withdrawn; in
        id order after `after_id`, so successive passes go round the whole look-back."""
        s, c = suggestions_table, category_confirmations_table
        first = func.min(s.c.id)
        query = (
            select(first, s.c.title)
            .outerjoin(c, c.c.suggestion_id == s.c.id)
            .where(
                s.c.created_at >= since,
                _confirmable(),
                c.c.suggestion_id.is_(None),
            )
            .group_by(s.c.title)
            .having(first > after_id)
            .order_by(first)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [(row[0], row.title) for row in conn.execute(query)]

    def confirm_by_categories(self, claimed: Mapping[str, Collection[str] | None]) -> int:
        """Mark suggestions confirmed by categories: `claimed` maps a file title to the
        topics its categories imply now (re-read by a later pass; None: unknown, skipped).
        Each confirmable suggestion of that file (see `_confirmable`) whose label is among
        them is marked once; returns how many were newly marked."""
        s, c = suggestions_table, category_confirmations_table
        known = {title: set(topics) for title, topics in claimed.items() if topics}
        if not known:
            return 0

        def work(conn: Connection) -> int:
            now = _now()
            marked = 0
            titles = list(known)
            for start in range(0, len(titles), 500):
                rows = conn.execute(
                    select(s.c.id, s.c.title, s.c.label)
                    .outerjoin(c, c.c.suggestion_id == s.c.id)
                    .where(
                        s.c.title.in_(titles[start : start + 500]),
                        c.c.suggestion_id.is_(None),
                        _confirmable(),
                    )
                ).all()
                ids = [row.id for row in rows if row.label in known[row.title]]
                if ids:
                    rows = [{"suggestion_id": i, "confirmed_at": now} for i in ids]
                    conn.execute(c.insert(), rows)
                marked += len(ids)
            return marked

        return self._write(work)

    def gallery_labels(self) -> dict[str, int]:
        """{label: suggestions awaiting review}, for the review tool's topic filter (every
        label with a suggestion, 0 when all are reviewed). Grouped by label and state
        without a WHERE, so the database counts from an index alone."""
        s = suggestions_table
        query = select(s.c.label, s.c.state, func.count()).group_by(s.c.label, s.c.state)
        counts: dict[str, int] = {}
        with self.engine.connect() as conn:
            for label, state, n in conn.execute(query):
                counts[label] = counts.get(label, 0) + (n if state in REVIEWABLE_STATES else 0)
        return dict(sorted(counts.items()))

    def gallery_rows(
        self,
        *,
        states: Collection[str] = REVIEWABLE_STATES,
        label: str | None = None,
        title: str | None = None,
        new_only: bool = False,
        needs_categories: bool = False,
        min_score: float = 0.0,
        before_id: int | None = None,
        limit: int = 48,
    ) -> list[GalleryRow]:
        """A page of the review tool's gallery, newest suggestion first; the next page
        starts before the last row's id (keyset paging: as fast on page 1000 as on page 1).
        `title`: one file's suggestions; `new_only`: labels the file's categories do not
        imply; `needs_categories`: files with no visible category (none, or only hidden
        maintenance ones), as on the needs-categories worklist. Deleted files never show."""
        s, f = suggestions_table, files_table
        query = (
            self._gallery_query()
            .where(f.c.deleted_at.is_(None))
            .order_by(s.c.id.desc())
            .limit(limit)
        )
        for dialect in ("mysql", "mariadb"):
            # MariaDB would start from files and sort every row; suggestions first, it walks
            # the newest ids and stops at the page's end
            query = query.prefix_with("STRAIGHT_JOIN", dialect=dialect)
        # said as the states left out: reviewed and withdrawn rows are few, so the
        # database walks the newest ids instead of sorting every open row by id
        excluded = [state for state in SUGGESTION_STATES if state not in states]
        if excluded:
            query = query.where(s.c.state.not_in(excluded))
        if label is not None:
            query = query.where(s.c.label == label)
        if title is not None:
            query = query.where(s.c.title == title)
        if new_only:
            query = query.where(s.c.adds_topic.is_(True))
        if needs_categories:
            query = query.where(f.c.visible_categories == 0)
        if min_score > 0:
            query = query.where(s.c.score >= min_score)
        if before_id is not None:
            query = query.where(s.c.id < before_id)
        with self.engine.connect() as conn:
            return [_gallery_row(row) for row in conn.execute(query)]

    def gallery_row(self, suggestion_id: int) -> GalleryRow | None:
        """One suggestion as the gallery shows it, in whatever state (after a review)."""
        query = self._gallery_query().where(suggestions_table.c.id == suggestion_id)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return _gallery_row(row) if row else None

    @staticmethod
    def _gallery_query() -> Select:
        s, f, r, c = suggestions_table, files_table, reviews_table, category_confirmations_table
        return (
            select(
                s.c.id,
                s.c.title,
                s.c.label,
                s.c.score,
                s.c.adds_topic,
                s.c.state,
                s.c.model_version,
                f.c.uploader,
                f.c.uploaded_at,
                r.c.reviewer,
                r.c.reviewed_at,
                c.c.suggestion_id.is_not(None),
            )
            .join(f, f.c.logid == s.c.logid)
            .outerjoin(r, r.c.live_suggestion_id == s.c.id)
            .outerjoin(c, c.c.suggestion_id == s.c.id)
        )


def _gallery_row(row: Row) -> GalleryRow:
    return GalleryRow(*row[:-1], confirmed_by_categories=bool(row[-1]))


def _flag_row(row: Row) -> FlagRow:
    return FlagRow(
        title=row.title,
        uploader=row.uploader,
        uploaded_at=row.uploaded_at,
        logid=row.logid,
        score=row.score,
        tier=row.tier,
        signals=tuple(Signal(**s) for s in json.loads(row.signals)),
        state=row.state,
        created_at=row.created_at,
        reviewed_by=row.reviewed_by,
        reviewed_revision=row.reviewed_revision,
    )
