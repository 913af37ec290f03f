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
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Double,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    create_engine,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import IntegrityError, OperationalError

from bot import migrate
from bot.flag_signals import Signal
from bot.image_features import ImageFeatures
from classifier.category_graph import CategoryInfo

log = logging.getLogger(__name__)

T = TypeVar("T")

SUGGESTION_STATES = ("pending", "published", "accepted", "rejected", "withdrawn")

FLAG_ACTIVE = "active"
FLAG_KEPT = "kept"  # a trusted reviewer marked it `not fine`: still listed, with who said so
FLAG_FINE = "fine"  # a trusted reviewer marked it `fine`: withdrawn until that edit is reverted
FLAG_DELETED = "deleted"  # the file is gone: withdrawn, but its hash still warns of re-uploads
FLAG_STATES = (FLAG_ACTIVE, FLAG_KEPT, FLAG_FINE, FLAG_DELETED)
FLAG_LISTED = (FLAG_ACTIVE, FLAG_KEPT)

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
    ) -> bool:
        """Record one upload, its prediction, suggestions, pixel features and flag, and
        move the cursor, all in one transaction. Returns False (and changes nothing) if it
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
                claimed_topics=None
                if file.claimed_topics is None
                else json.dumps(list(file.claimed_topics)),
                milliseconds=file.milliseconds,
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

    def report_rows(
        self, states: Collection[str] = ("pending", "published", "accepted")
    ) -> list[ReportRow]:
        """Suggestions to show in reports, oldest upload first, with their file's details."""
        s, f = suggestions_table, files_table
        query = (
            select(
                s.c.id,
                s.c.title,
                s.c.label,
                s.c.score,
                s.c.adds_topic,
                s.c.state,
                f.c.uploader,
                f.c.uploaded_at,
            )
            .join(f, f.c.logid == s.c.logid)
            .where(s.c.state.in_(list(states)))
            .order_by(f.c.uploaded_at, f.c.logid, s.c.id)
        )
        with self.engine.connect() as conn:
            return [ReportRow(*row) for row in conn.execute(query)]

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

    # -- flags -------------------------------------------------------------------------

    def image_features(self, sha1: str) -> ImageFeatures | None:
        """Stored pixel features of these bytes (for a file whose prediction is reused)."""
        t = image_features_table
        with self.engine.connect() as conn:
            row = conn.execute(select(t.c.dhash, t.c.spread).where(t.c.sha1 == sha1)).first()
        return ImageFeatures(row.dhash, row.spread) if row else None

    def flagged_hashes(self) -> list[tuple[str, str]]:
        """(title, dhash) of every flag not found fine: active ones, and deleted files,
        whose re-uploads are what the near-duplicate signal is for."""
        t = flags_table
        query = select(t.c.title, t.c.dhash).where(
            t.c.state.in_([*FLAG_LISTED, FLAG_DELETED]), t.c.dhash.is_not(None)
        )
        with self.engine.connect() as conn:
            return [(row.title, row.dhash) for row in conn.execute(query)]

    def flag_rows(self, states: Collection[str] = (FLAG_ACTIVE,)) -> list[FlagRow]:
        """Flags in these states, newest upload first."""
        t = flags_table
        return self._flag_rows(
            select(t)
            .where(t.c.state.in_(list(states)))
            .order_by(t.c.uploaded_at.desc(), t.c.logid.desc())
        )

    def _flag_rows(self, query: Select) -> list[FlagRow]:
        with self.engine.connect() as conn:
            return [
                FlagRow(
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
                for row in conn.execute(query)
            ]

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
