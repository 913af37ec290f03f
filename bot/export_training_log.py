"""`python -m bot.export_training_log`: the training log, with reviewers' decisions, as
one Parquet file for `training.retrain_head` and `training.promote`.

    python -m bot.export_training_log --config config.toml [--since 2026-11-01] --out LOG.parquet

The bot's store is the bot's: the training package never imports it (DESIGN.md's one
rule), so what a retraining reads crosses over as a file. One row per logged image
(SHA-1), complete walks and incomplete ones alike (`walk_complete` says which):

- sha1, model_version, inputs (classifier.head_inputs' bytes), layout, created_at;
- claimed_topics: the topics the image's categories implied (null: walk incomplete);
- accepted, rejected: the labels reviewers accepted or rejected for the image in the
  review tool (standing reviews only): clean labels, and the promotion gate's second
  judge.

The file's schema metadata (key `training_log`) holds the format, the config's model
directory (empty: the classifier's default model), the cut-off and the export time.
Rows are read and written in batches, so a million rows never sit in memory; the file
appears under its name only once complete. Exit status: 0 written, 2 bad configuration,
unreachable store or unwritable output.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy.exc import SQLAlchemyError
from tqdm import tqdm

from bot.config import ConfigError, load_config, resolve_path
from bot.store import Store

FORMAT = 1
METADATA_KEY = b"training_log"
BATCH = 5000
SCHEMA = pa.schema(
    [
        ("sha1", pa.string()),
        ("model_version", pa.string()),
        ("inputs", pa.binary()),
        ("layout", pa.string()),
        ("claimed_topics", pa.list_(pa.string())),
        ("walk_complete", pa.bool_()),
        ("created_at", pa.timestamp("us")),
        ("accepted", pa.list_(pa.string())),
        ("rejected", pa.list_(pa.string())),
    ]
)


def _batch(rows: list, reviews: dict[str, dict[str, str]]) -> pa.RecordBatch:
    def decided(sha1: str, decision: str) -> list[str]:
        return sorted(x for x, d in reviews.get(sha1, {}).items() if d == decision)

    columns = {
        "sha1": [r.sha1 for r in rows],
        "model_version": [r.model_version for r in rows],
        "inputs": [bytes(r.inputs) for r in rows],
        "layout": [r.layout for r in rows],
        "claimed_topics": [
            None if r.claimed_topics is None else json.loads(r.claimed_topics) for r in rows
        ],
        "walk_complete": [bool(r.walk_complete) for r in rows],
        "created_at": [r.created_at for r in rows],
        "accepted": [decided(r.sha1, "accepted") for r in rows],
        "rejected": [decided(r.sha1, "rejected") for r in rows],
    }
    return pa.RecordBatch.from_pydict(columns, schema=SCHEMA)


def export(store: Store, out: Path, since: datetime | None, model_path: str,
           progress: bool = True) -> int:
    """Write the log (rows created at or after `since`) to `out`; returns the row count."""
    reviews = store.reviewed_labels()
    meta = {"format": FORMAT, "model_path": model_path,
            "since": since.isoformat() if since else None,
            "exported_at": datetime.now(UTC).isoformat(timespec="seconds")}
    schema = SCHEMA.with_metadata({METADATA_KEY: json.dumps(meta).encode()})
    partial = out.with_name(out.name + ".partial")
    written = 0
    bar = tqdm(total=store.training_log_count(since), desc="exporting the training log",
               unit="row", disable=not progress)
    try:
        with pq.ParquetWriter(partial, schema) as writer:
            rows = []
            for row in store.training_log(since, batch=BATCH, complete_only=False):
                rows.append(row)
                if len(rows) == BATCH:
                    writer.write_batch(_batch(rows, reviews))
                    written, rows = written + len(rows), []
                    bar.update(BATCH)
            if rows or not written:  # an empty log is still a file with the schema
                writer.write_batch(_batch(rows, reviews))
                written += len(rows)
                bar.update(len(rows))
        partial.replace(out)
    finally:
        bar.close()
        partial.unlink(missing_ok=True)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.export_training_log",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, required=True,
                        help="the bot's config.toml: its [store] holds the training log")
    parser.add_argument("--since", type=datetime.fromisoformat, default=None,
                        help="only rows logged at or after this date (ISO, UTC)")
    parser.add_argument("--out", type=Path, required=True, help="the Parquet file to write")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
        if not args.out.parent.is_dir():
            raise ConfigError(f"{args.out.parent}: no such folder for --out")
        model_path = str(resolve_path(config.model.path)) if config.model.path else ""
        since = args.since.replace(tzinfo=None) if args.since else None
        store = Store(config.store_url())  # a relative path: from here, as the bot reads it
        n = export(store, args.out, since, model_path, progress=not args.quiet)
    except (ConfigError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except SQLAlchemyError as err:
        print(f"error: the store cannot be read: {type(err).__name__}: {err}".splitlines()[0],
              file=sys.stderr)
        return 2
    print(json.dumps({"out": str(args.out), "rows": n}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
