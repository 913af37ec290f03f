"""One pass over new uploads: `process_upload` handles one file end to end.

The pass reads the upload log from the stored cursor, asks for the metadata of up to
50 uploads at a time, and then, per file: downloads its thumbnail (or reuses the
prediction stored for the same bytes and model), classifies it, finds the topics its
own categories already imply, decides whether it deserves a vandalism-candidate flag
(bot.flag_score, with the uploader's account read once per batch), and records
everything with the cursor move in one transaction. Every failure of one file
(deleted, no thumbnail, HTTP error, undecodable image, API error) becomes that file's
recorded outcome; the pass goes on. A stop request (SIGTERM) is honoured between
files, so the current file is always finished.

The cost of one file is bounded whatever its bytes: the download has a deadline, the
decoding caps the memory the pixels take (bot.thumbnail_pixels), and the whole file has
a wall-clock budget ([thumbnails] file_budget_seconds) checked after each step. Before
its download and decoding begin, the file is marked in progress in the store; a file
still in progress at a later start killed the process that took it (out of memory, a
crash in a decoder, or an unlucky kill): it is tried once more, and after a second
death recorded as `poison`, so the cursor always moves on.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import threading
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pywikibot
from sqlalchemy.exc import SQLAlchemyError

from bot.category_recheck import implied_topics
from bot.config import FlagsConfig, TrainingLogConfig
from bot.flag_score import Evidence, assess
from bot.flag_signals import Account
from bot.image_features import ImageFeatures
from bot.metadata import FileInfo, FileMetadata, MetadataError, Missing, fetch_metadata
from bot.source import Upload, new_uploads, start_cursor
from bot.store import (
    POISON,
    POISON_AFTER_STARTS,
    Cursor,
    FileRecord,
    FlagRecord,
    PassRecord,
    PredictionRecord,
    Store,
    SuggestionRecord,
    TrainingLogRecord,
)
from bot.thumbnail_pixels import classify_thumbnail
from bot.thumbnails import ThumbnailError, ThumbnailFetcher
from bot.uploader_info import fetch_accounts
from bot.wiki_query import API_ERRORS
from bot.wikitext import for_log
from classifier.category_heuristic import TopicHeuristic
from classifier.head_inputs import encode
from classifier.images import ImageError, ImageTimeoutError
from classifier.model import TopicModel

log = logging.getLogger(__name__)

CLASSIFIED = "classified"
RETRY = "retry"  # the action of an upload taken up again after a transient error
FILE_TIMEOUT = "file_timeout"  # the file's budget ran out while decoding, or by its end
THUMBNAIL_ERROR = "thumbnail_error"  # the wiki's thumberror: a rendering failure, retried


@dataclass
class PassContext:
    """Everything a pass works with, built once per run."""

    site: pywikibot.site.APISite
    store: Store
    model: TopicModel
    operating_point: str
    fetcher: ThumbnailFetcher
    topics: TopicHeuristic | None  # None: claimed topics are not computed
    thumb_width: int
    metadata_batch: int = 50
    max_attempts: int = 3  # for files whose outcome was transient (API or HTTP errors)
    flags: FlagsConfig | None = None  # None: no flags are decided
    training_log: TrainingLogConfig | None = None  # None: no training log is kept
    stop: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class FileOutcome:
    """What happened to one upload (also what its log line says)."""

    title: str
    outcome: str
    labels: tuple[str, ...] = ()
    new_suggestions: int = 0
    milliseconds: int = 0
    recorded: bool = True  # False when an earlier run had already recorded it
    flag_tier: str | None = None  # the tier of a new flag


@dataclass
class PassSummary:
    """The per-pass summary; `to_dict` is the JSON line `--once` prints."""

    files_seen: int = 0
    files_classified: int = 0
    files_retried: int = 0
    errors: Counter = field(default_factory=Counter)
    suggestions: int = 0
    flags: int = 0
    pages_written: list[str] = field(default_factory=list)
    dry_run: bool = True
    cursor: Cursor | None = None
    seconds: float = 0.0
    stopped: bool = False
    publish_failed: bool = False  # a page that should have been saved was not

    def add(self, outcome: FileOutcome) -> None:
        self.files_seen += 1
        if outcome.outcome == CLASSIFIED:
            self.files_classified += 1
        else:
            self.errors[outcome.outcome] += 1
        self.suggestions += outcome.new_suggestions
        self.flags += outcome.flag_tier is not None

    def to_dict(self) -> dict:
        return {
            "files_seen": self.files_seen,
            "files_classified": self.files_classified,
            "files_retried": self.files_retried,
            "errors": dict(sorted(self.errors.items())),
            "suggestions": self.suggestions,
            "flags": self.flags,
            "pages_written": self.pages_written,
            "dry_run": self.dry_run,
            "cursor": None
            if self.cursor is None
            else {"timestamp": self.cursor.timestamp, "logid": self.cursor.logid},
            "seconds": round(self.seconds, 3),
            "stopped": self.stopped,
        }


def run_pass(
    ctx: PassContext,
    limit: int,
    since: str | None = None,
    lookback_hours: float = 1.0,
    summary: PassSummary | None = None,
) -> PassSummary:
    """Process up to `limit` uploads: first those whose earlier attempt met a transient
    error (an outage must not lose files), then new ones after the stored cursor (first
    run: `since`)."""
    summary = summary or PassSummary()
    started = time.monotonic()
    started_at = datetime.now(UTC).replace(tzinfo=None)
    after = ctx.store.cursor()
    if after is None:
        after = start_cursor(since, lookback_hours)
    elif since:
        log.info("--since ignored: resuming from the stored cursor %s", after)
    retries = [
        Upload(r.logid, r.uploaded_at, r.title, r.uploader, RETRY)
        for r in ctx.store.retry_candidates(ctx.max_attempts, limit)
    ]
    taken = {r.logid for r in retries}  # a file left in progress is also after the cursor
    fresh = (u for u in new_uploads(ctx.site, after) if u.logid not in taken)
    uploads = itertools.islice(itertools.chain(retries, fresh), limit)
    chunks = iter(lambda: list(itertools.islice(uploads, ctx.metadata_batch)), [])
    try:
        for chunk in chunks:
            if ctx.stop.is_set():
                break
            titles = sorted({u.title for u in chunk})
            metadata = fetch_metadata(ctx.site, titles, ctx.thumb_width, ctx.metadata_batch)
            accounts = (
                fetch_accounts(ctx.site, {u.user for u in chunk if u.user}, ctx.metadata_batch)
                if ctx.flags
                else {}
            )
            for upload in chunk:
                if ctx.stop.is_set():
                    break
                account = accounts.get(upload.user) if upload.user else None
                summary.add(_process_logged(upload, metadata[upload.title], ctx, account))
                summary.files_retried += upload.action == RETRY
    except API_ERRORS as err:  # the upload log itself could not be read: end this pass
        log.error("reading the upload log failed: %s", err)
        summary.errors["upload_log_unreadable"] += 1
    if ctx.training_log is not None:
        pruned = ctx.store.prune_training_log(
            ctx.training_log.max_rows, ctx.training_log.retention_days
        )
        if pruned:
            log.info("training log: %d old rows dropped", pruned)
    summary.stopped = ctx.stop.is_set()
    summary.cursor = ctx.store.cursor()
    summary.seconds = time.monotonic() - started
    ctx.store.record_pass(
        PassRecord(
            started_at=started_at,
            finished_at=datetime.now(UTC).replace(tzinfo=None),
            files_seen=summary.files_seen,
            files_classified=summary.files_classified,
            errors=dict(summary.errors),
            model_name=ctx.model.name,
            model_version=ctx.model.version,
            stopped=summary.stopped,
        )
    )
    log.info(
        "pass done: %d files, %d classified, errors %s, %d new suggestions, %.1f s",
        summary.files_seen,
        summary.files_classified,
        dict(summary.errors),
        summary.suggestions,
        summary.seconds,
    )
    return summary


def _process_logged(
    upload: Upload, meta: FileMetadata, ctx: PassContext, account: Account | None = None
) -> FileOutcome:
    """`process_upload`, with an unexpected error turned into the file's outcome (a bug
    on one file must not block the cursor forever) and one log line per file. A
    database error that persists even for the error's record ends only that file (the
    next file's record moves the cursor on), not the pass."""
    started = time.monotonic()
    try:
        outcome = process_upload(upload, meta, ctx, account)
    except Exception as err:  # noqa: BLE001 - the boundary: record it, go on
        log.exception("unexpected error on %s", upload.title)
        ms = int((time.monotonic() - started) * 1000)
        message = "".join(traceback.format_exception_only(err)).strip()
        record = FileRecord(
            logid=upload.logid,
            title=upload.title,
            uploaded_at=upload.timestamp,
            uploader=upload.user,
            outcome="internal_error",
            error=message,
            milliseconds=ms,
        )
        try:
            recorded = ctx.store.record_upload(record, upload.cursor)
        except SQLAlchemyError:  # the store refuses this file even so: log it, go on
            log.exception("recording the error of %s failed", upload.title)
            recorded = False
        outcome = FileOutcome(upload.title, "internal_error", milliseconds=ms, recorded=recorded)
    log.info(
        "%s: %s%s [%s]%s %d ms",
        for_log(outcome.title),
        outcome.outcome,
        "" if outcome.recorded else " (already recorded)",
        ", ".join(outcome.labels[:5]),
        f" flagged: {outcome.flag_tier}" if outcome.flag_tier else "",
        outcome.milliseconds,
    )
    return outcome


def process_upload(
    upload: Upload, meta: FileMetadata, ctx: PassContext, account: Account | None = None
) -> FileOutcome:
    """Take one upload from its metadata to recorded predictions, suggestions and flag."""
    started = time.monotonic()
    base = FileRecord(
        logid=upload.logid,
        title=upload.title,
        uploaded_at=upload.timestamp,
        uploader=upload.user,
        outcome="",
    )

    def finish(
        outcome: str,
        error: str | None = None,
        prediction: PredictionRecord | None = None,
        suggestions: tuple[SuggestionRecord, ...] = (),
        claimed: tuple[str, ...] | None = None,
        features: ImageFeatures | None = None,
        flag: FlagRecord | None = None,
        training: TrainingLogRecord | None = None,
    ) -> FileOutcome:
        ms = int((time.monotonic() - started) * 1000)
        info = meta if isinstance(meta, FileInfo) else None
        record = dataclasses.replace(
            base,
            outcome=outcome,
            error=error,
            page_id=info.page_id if info else None,
            sha1=info.sha1 if info else None,
            mime=info.mime if info else None,
            uploader=(info.uploader if info else None) or upload.user,
            claimed_topics=claimed,
            visible_categories=len(info.categories) if info else None,
            milliseconds=ms,
        )
        recorded = ctx.store.record_upload(
            record, upload.cursor, prediction, suggestions, features, flag, training
        )
        return FileOutcome(
            upload.title,
            outcome,
            labels=prediction.predictions if prediction else (),
            new_suggestions=len(suggestions) if recorded else 0,
            milliseconds=ms,
            recorded=recorded,
            flag_tier=flag.tier if flag and recorded else None,
        )

    if isinstance(meta, MetadataError):
        return finish("api_error", meta.message)
    if isinstance(meta, Missing):
        return finish("deleted", "the file page no longer exists")
    if meta.thumb_error:
        return finish(THUMBNAIL_ERROR, f"the wiki could not render a thumbnail: {meta.thumb_error}")
    if meta.thumb_url is None:
        return finish("no_thumbnail", f"no raster thumbnail for {meta.mime}")

    starts = ctx.store.starts_without_outcome(upload.logid)
    if starts >= POISON_AFTER_STARTS:
        return finish(POISON, f"the bot died {starts} times downloading or decoding this file")
    prediction = ctx.store.prediction(meta.sha1, ctx.model.version)
    inputs = None
    features = ctx.store.image_features(meta.sha1) if ctx.flags else None
    if prediction is None or prediction.operating_point != ctx.operating_point:
        budget = ctx.fetcher.config.file_budget_seconds
        ctx.store.mark_in_progress(base)
        data = ctx.fetcher.fetch(meta.thumb_url, deadline=started + budget)
        if isinstance(data, ThumbnailError):
            return finish(data.kind, data.message)
        try:
            result = classify_thumbnail(
                data,
                ctx.model,
                ctx.operating_point,
                ctx.fetcher.config.max_decoded_bytes,
                with_features=features is None and ctx.flags is not None,
                with_inputs=ctx.training_log is not None,
                deadline=started + budget,
            )
        except ImageTimeoutError:
            return finish(FILE_TIMEOUT, f"over the budget of {budget:g} s for one file (decoding)")
        except ImageError as err:
            return finish(f"image_{err.kind}", str(err))
        if time.monotonic() - started > budget:
            return finish(FILE_TIMEOUT, f"over the budget of {budget:g} s for one file")
        prediction = PredictionRecord(
            sha1=meta.sha1,
            model_name=result.prediction.model_name,
            model_version=result.prediction.model_version,
            operating_point=ctx.operating_point,
            predictions=result.prediction.predictions,
            probabilities=result.prediction.probabilities,
        )
        features = features or result.features
        inputs = result.prediction.head_inputs

    claimed = claimed_topics(meta, ctx)
    suggestions = tuple(
        SuggestionRecord(
            label=label,
            score=prediction.probabilities[label],
            adds_topic=None if claimed is None else label not in claimed,
        )
        for label in prediction.predictions
    )
    flag = decide_flag(meta, account, prediction, claimed, features, ctx)
    training = (
        None
        if inputs is None
        else TrainingLogRecord(meta.sha1, prediction.model_version, *encode(inputs), claimed)
    )
    return finish(CLASSIFIED, None, prediction, suggestions, claimed, features, flag, training)


def decide_flag(
    meta: FileInfo,
    account: Account | None,
    prediction: PredictionRecord,
    claimed: tuple[str, ...] | None,
    features: ImageFeatures | None,
    ctx: PassContext,
) -> FlagRecord | None:
    """The file's flag, or None when its signals stay under the lowest tier (or flags
    are off). Earlier flags not found fine are the near-duplicate signal's memory."""
    if ctx.flags is None:
        return None
    dhash = features.dhash if features else None  # near-copies: only flags sharing a band
    evidence = Evidence(
        mime=meta.mime,
        width=meta.width,
        height=meta.height,
        size_bytes=meta.size_bytes,
        has_camera_exif=meta.has_camera_exif,
        account=account,
        spread=features.spread if features else None,
        dhash=dhash,
        claimed=claimed,
        predicted=prediction.predictions,
        probabilities=prediction.probabilities,
        thresholds=ctx.model.thresholds(prediction.operating_point),
        flagged=ctx.store.flagged_hashes(dhash, ctx.flags.limits.duplicate_bits) if dhash else (),
        now=datetime.now(UTC),
        specific=frozenset(filter(ctx.model.taxonomy.is_leaf, ctx.model.taxonomy.labels)),
    )
    result = assess(evidence, ctx.flags)
    if result.tier is None:
        return None
    return FlagRecord(result.score, result.tier, result.signals, evidence.dhash)


def claimed_topics(meta: FileInfo, ctx: PassContext) -> tuple[str, ...] | None:
    """Topics the file's own categories imply, closed under ancestors; None when unknown
    (no heuristic configured, or the walk met categories whose parents are unknown)."""
    if ctx.topics is None:
        return None
    return implied_topics(meta.categories, ctx.topics)
