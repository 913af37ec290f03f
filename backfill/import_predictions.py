"""Import the backfill's predictions into the bot's store, so old files join the queue.

    python -m backfill.import_predictions PARQUET_DIR [--config config.toml]
                                          [--model-version V]

PARQUET_DIR is the backfill's output (`backfill.run`): Parquet partitioned by
`model_version`, one row per file with its outcome and, when classified, its
predictions and probabilities, plus the columns carried from the input table. Each
usable row becomes what the live bot would have recorded for that upload: a `files`
row, and for a classified file its prediction and one pending suggestion per
predicted label, so the bot's report pages (one per upload day) and its suggestion
queue cover old files exactly as they cover new ones.

What the import does not do, and why:
- It never moves the uploads cursor: old files are not part of the upload log's walk,
  and moving it would make the live bot skip (or, never, repeat) new uploads.
- It never overwrites a file the store already has with a final outcome (the live
  bot's record, or an earlier import): a rerun writes nothing. A file whose stored
  outcome is transient (an API or download error the bot would retry) is completed
  with the backfill's result, which is what the bot's own retry would do.
- It does not import transient outcomes (`thumbnail_unreachable`): the bot retries
  files with those outcomes before any new upload, so a backfill's worth of them would
  hold up the live bot for days. They are counted; to try them again, give their rows
  to a backfill run with a fresh output folder (a rerun into the same folder skips
  every file that has a row, whatever its outcome).
- It leaves `adds_topic` and `claimed_topics` unknown (None, shown as not new): both
  need the file's categories walked through the category graph, which the live bot
  does per file over the API and which would cost one walk per old file here. The
  `categories` column is carried through the backfill for that later step
  (`backfill.label_graph` labels every file from the whole graph at once).
- It decides no vandalism-candidate flags: those are about new uploads.

Rows without a `logid` or a readable upload time cannot be keyed or placed on a report
day; they are refused and counted. Each file is one transaction, so a killed import
keeps every file it recorded and a rerun finishes the rest. The last line on standard
output is a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
from tqdm import tqdm

from bot.config import DEFAULT_CONFIG, ConfigError, find_config, resolve_path
from bot.store import (
    TRANSIENT_OUTCOMES,
    FileRecord,
    PredictionRecord,
    Store,
    SuggestionRecord,
)

log = logging.getLogger(__name__)

CLASSIFIED = "classified"
FILE_NAMESPACE = "File:"
COLUMNS = (
    "sha1", "title", "outcome", "error", "model_name", "operating_point", "predictions",
    "probabilities", "logid", "uploaded_at", "uploader", "page_id",
)
"""The output columns the import reads (`categories` is carried but not stored)."""
REQUIRED = ("sha1", "title", "outcome", "model_name", "operating_point")
"""Columns every backfill output has; the carried ones may be missing from old runs."""


class PredictionsError(ValueError):
    """The folder is not a backfill output the import can use; the message says why."""


@dataclass
class ImportSummary:
    model_version: str
    imported: int = 0  # files recorded by this run
    skipped_existing: int = 0  # already in the store with a final outcome
    skipped_transient: int = 0  # transient outcomes, left to a later backfill run
    refused: Counter = field(default_factory=Counter)  # reason -> rows
    outcomes: Counter = field(default_factory=Counter)  # outcome -> files imported
    suggestions: int = 0  # pending suggestions of the imported files

    def to_dict(self) -> dict:
        return {
            "model_version": self.model_version,
            "imported": self.imported,
            "skipped_existing": self.skipped_existing,
            "skipped_transient": self.skipped_transient,
            "refused": sum(self.refused.values()),
            "refused_by_reason": dict(sorted(self.refused.items())),
            "by_outcome": dict(sorted(self.outcomes.items())),
            "suggestions": self.suggestions,
        }


def open_predictions(path: str | Path) -> ds.Dataset:
    """The backfill output as one dataset: `model_version` read as a string (a version
    such as "1.0" must not become a float) and the columns of every part file unified,
    so parts written before a carried column existed read it as null."""
    partitioning = ds.partitioning(pa.schema([("model_version", pa.string())]), flavor="hive")
    try:
        dataset = ds.dataset(str(path), format="parquet", partitioning=partitioning)
    except (FileNotFoundError, pa.ArrowInvalid) as err:
        raise PredictionsError(f"{path}: not a backfill output: {err}") from None
    fragments = list(dataset.get_fragments())
    if not fragments:
        raise PredictionsError(f"{path}: no Parquet files (run backfill.run first)")
    schema = pa.unify_schemas(
        [f.physical_schema for f in fragments] + [pa.schema([("model_version", pa.string())])]
    )
    missing = [c for c in REQUIRED if c not in schema.names]
    if missing:
        raise PredictionsError(f"{path}: not a backfill output: no column {', '.join(missing)}")
    return ds.dataset(str(path), format="parquet", partitioning=partitioning, schema=schema)


def choose_version(dataset: ds.Dataset, wanted: str | None) -> str:
    """The model version to import: the one asked for, else the only one there is (with
    several, guessing would import the wrong model's suggestions, so the caller names it)."""
    versions = sorted(
        v for v in dataset.to_table(columns=["model_version"]).column(0).unique().to_pylist()
        if v is not None
    )
    if wanted is not None:
        if wanted not in versions:
            raise PredictionsError(
                f"no rows for model version {wanted!r}; the output has {', '.join(versions)}"
            )
        return wanted
    if len(versions) != 1:
        raise PredictionsError(
            f"the output has model versions {', '.join(versions)}: choose one with "
            "--model-version"
        )
    return versions[0]


def upload_time(value: object) -> str | None:
    """The upload time as the bot stores it ("2024-05-01T12:00:00Z", UTC), from an ISO
    8601 string (a time without an offset is UTC) or MediaWiki's "20240501120000" as the
    dumps give it; None when there is none or it cannot be read."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    try:
        if re.fullmatch(r"\d{14}", text):
            moment = datetime.strptime(text, "%Y%m%d%H%M%S")
        else:
            moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def file_title(title: str) -> str:
    """A title as the upload log and the bot give it ("File:Cat photo.jpg"), from the
    image table's form ("Cat_photo.jpg"): the suggestion queue is unique per title and
    label, so both forms of one file must not become two entries."""
    title = title.replace("_", " ").strip()
    return title if title.startswith(FILE_NAMESPACE) else FILE_NAMESPACE + title


@dataclass(frozen=True)
class Entry:
    """One output row as the store records it."""

    file: FileRecord
    prediction: PredictionRecord | None
    suggestions: tuple[SuggestionRecord, ...]


def entry_of(row: dict, model_version: str) -> Entry | str:
    """The store's records for one output row, or the reason it is refused."""
    if row.get("logid") is None:
        return "no_logid"
    uploaded_at = upload_time(row.get("uploaded_at"))
    if uploaded_at is None:
        return "no_upload_time"
    if not row.get("title"):
        return "no_title"
    classified = row["outcome"] == CLASSIFIED
    file = FileRecord(
        logid=int(row["logid"]),
        title=file_title(row["title"]),
        uploaded_at=uploaded_at,
        outcome=row["outcome"],
        page_id=None if row.get("page_id") is None else int(row["page_id"]),
        sha1=row["sha1"],
        uploader=row.get("uploader"),
        error=row.get("error"),
    )
    if not classified:
        return Entry(file, None, ())
    probabilities = dict(row["probabilities"] or ())  # Arrow gives a map as pairs
    prediction = PredictionRecord(
        sha1=row["sha1"],
        model_name=row["model_name"],
        model_version=model_version,
        operating_point=row["operating_point"],
        predictions=tuple(row["predictions"] or ()),
        probabilities=probabilities,
    )
    suggestions = tuple(
        SuggestionRecord(label=label, score=probabilities[label], adds_topic=None)
        for label in prediction.predictions
    )
    return Entry(file, prediction, suggestions)


def read_rows(dataset: ds.Dataset, model_version: str, batch_rows: int = 2048
              ) -> Iterator[dict]:
    """The rows of one model version, a batch at a time (bounded memory at any size)."""
    columns = [c for c in COLUMNS if c in dataset.schema.names]
    scanner = dataset.scanner(columns=columns, filter=ds.field("model_version") == model_version,
                              batch_size=batch_rows)
    for batch in scanner.to_batches():
        yield from batch.to_pylist()


def import_predictions(
    store: Store,
    path: str | Path,
    model_version: str | None = None,
    progress: bool = True,
    warn: Callable[[str], None] = log.warning,
) -> ImportSummary:
    """Record every usable row of one model version's output in the store (see the
    module's docstring for what is skipped and refused)."""
    dataset = open_predictions(path)
    version = choose_version(dataset, model_version)
    total = dataset.count_rows(filter=ds.field("model_version") == version)
    summary = ImportSummary(model_version=version)
    rows = tqdm(read_rows(dataset, version), total=total, unit="file", disable=not progress,
                desc=f"importing {version}", file=sys.stderr)
    for row in rows:
        entry = entry_of(row, version)
        if isinstance(entry, str):
            summary.refused[entry] += 1
            continue
        if entry.file.outcome in TRANSIENT_OUTCOMES:
            summary.skipped_transient += 1
            continue
        if store.record_upload(entry.file, None, entry.prediction, entry.suggestions):
            summary.imported += 1
            summary.outcomes[entry.file.outcome] += 1
            summary.suggestions += len(entry.suggestions)
        else:
            summary.skipped_existing += 1
    if summary.refused:
        warn(f"refused {sum(summary.refused.values())} of {total} rows, which the store cannot "
             "key or place on a report day: "
             + ", ".join(f"{n} {reason}" for reason, n in sorted(summary.refused.items()))
             + " (add logid and uploaded_at to the backfill input: backfill/README.md)")
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m backfill.import_predictions",
        description=__doc__.split("\n\n")[0],
        epilog="What is imported, skipped and refused: backfill/README.md.",
    )
    parser.add_argument("predictions", metavar="PARQUET_DIR",
                        help="the backfill's output folder (partitioned by model_version)")
    parser.add_argument("--config", type=Path, default=None,
                        help=f"the bot's configuration, for its store (default: ./{DEFAULT_CONFIG} "
                             "if present, else the built-in defaults)")
    parser.add_argument("--model-version", default=None,
                        help="the model version to import (default: the only one in the output)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    try:
        config = find_config(args.config)
        if not (config.store.url or config.store.host):
            resolve_path(config.store.path).parent.mkdir(parents=True, exist_ok=True)
        store = Store(config.store_url())
        summary = import_predictions(store, args.predictions, args.model_version,
                                     progress=not args.no_progress)
    except (ConfigError, PredictionsError) as err:
        print(f"import_predictions: {err}", file=sys.stderr)
        return 2
    print(json.dumps(summary.to_dict()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
