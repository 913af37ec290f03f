"""Load the backfill's head inputs into the bot's training log, so the first retraining
need not wait for months of uploads.

    python -m backfill.import_training_log PARQUET_DIR LABELS [--config config.toml]
                                           [--model-version V] [--max-rows N]

PARQUET_DIR is the output of `python -m backfill.run ... --training-log`: per file, what
the learned head read (`head_inputs`, `head_layout`, encoded as the bot's training log
encodes them). LABELS is `files.parquet` of `python -m backfill.label_graph` run on the
same input table: per file title, each label's confidence from its categories (0:
absent) and `touched_unknown`. Each classified file becomes the row the live bot would
have logged for it: keyed by SHA-1, the model version, the inputs, the topics its
categories imply (closed under ancestors, as the bot's `claimed_topics`), and whether
the walk was complete (a walk that touched a category of unknown parents, or a file
LABELS lacks, is incomplete: logged, never trained on).

A file whose image already has a row (the live bot's, or an earlier import's) keeps it,
so a rerun adds nothing. At most --max-rows files are imported (default: the store's
`[training_log] max_rows`, as the bot's own pruning keeps no more): LABELS is read for
their titles only, so memory follows that bound, not the size of Commons. The rows are
dated at the import, so the bot's age pruning (`retention_days`) drops them that long
after. The last line on standard output is a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

import pyarrow.dataset as ds
import pyarrow.parquet as pq
from tqdm import tqdm

from backfill.import_predictions import (
    CLASSIFIED,
    PredictionsError,
    choose_version,
    open_predictions,
)
from bot.config import DEFAULT_CONFIG, ConfigError, find_config, resolve_path
from bot.store import Store, TrainingLogRecord
from classifier.taxonomy import DEFAULT_VERSION, Taxonomy, load_taxonomy

BATCH = 500  # rows per store transaction
CONFIDENCE = "confidence:"


def logged_files(dataset: ds.Dataset, version: str, columns: list[str],
                 limit: int) -> Iterator[dict]:
    """The classified files of `version` that carry head inputs, at most `limit`."""
    if "head_inputs" not in dataset.schema.names:
        raise PredictionsError("the backfill output has no head inputs: run backfill.run "
                               "with --training-log")
    wanted = ((ds.field("model_version") == version) & (ds.field("outcome") == CLASSIFIED)
              & ds.field("head_inputs").is_valid())
    seen = 0
    for batch in dataset.scanner(columns=columns, filter=wanted, batch_size=2048,
                                   use_threads=False).to_batches():
        for row in batch.to_pylist():
            if seen == limit:
                return
            seen += 1
            yield row


def read_labels(path: Path, titles: set[str], taxonomy: Taxonomy
                ) -> dict[str, tuple[str, ...] | None]:
    """{title: implied topics closed under ancestors, or None for an incomplete walk} for
    the `titles` in label_graph's files.parquet."""
    try:
        file = pq.ParquetFile(path)
    except (OSError, ValueError) as err:
        raise PredictionsError(f"{path}: not a Parquet file: {err}") from None
    names = file.schema_arrow.names
    labels = [n[len(CONFIDENCE):] for n in names if n.startswith(CONFIDENCE)]
    if "title" not in names or "touched_unknown" not in names or not labels:
        raise PredictionsError(f"{path}: not the files.parquet of backfill.label_graph "
                               "(title, confidence:<label>, touched_unknown)")
    unknown = set(labels) - set(taxonomy.labels)
    if unknown:
        raise PredictionsError(f"{path}: labels {', '.join(sorted(unknown))} are not in "
                               f"taxonomy {taxonomy.version} (--taxonomy)")
    found: dict[str, tuple[str, ...] | None] = {}
    for batch in file.iter_batches(batch_size=100_000):
        for row in batch.to_pylist():
            if row["title"] in titles:
                found[row["title"]] = None if row["touched_unknown"] else \
                    taxonomy.close_under_ancestors(x for x in labels if row[CONFIDENCE + x] > 0)
    return found


def import_training_log(store: Store, predictions: str | Path, labels: Path,
                        taxonomy: Taxonomy, max_rows: int, model_version: str | None = None,
                        progress: bool = True) -> dict:
    """Add the backfill's files to the store's training log; returns the summary."""
    dataset = open_predictions(predictions)
    version = choose_version(dataset, model_version)
    titles = {r["title"] for r in logged_files(dataset, version, ["title"], max_rows)}
    topics = read_labels(labels, titles, taxonomy)
    counts = Counter()
    rows = logged_files(dataset, version, ["sha1", "title", "head_inputs", "head_layout"],
                        max_rows)
    batch: list[TrainingLogRecord] = []
    for row in tqdm(rows, total=len(titles), unit="file", disable=not progress,
                    desc=f"logging {version}", file=sys.stderr):
        claimed = topics.get(row["title"])
        counts["unlabelled" if row["title"] not in topics else
               "walk_incomplete" if claimed is None else "walk_complete"] += 1
        batch.append(TrainingLogRecord(row["sha1"], version, row["head_inputs"],
                                       row["head_layout"], claimed))
        if len(batch) == BATCH:
            counts["added"] += store.add_training_rows(batch)
            batch = []
    counts["added"] += store.add_training_rows(batch) if batch else 0
    read = counts["unlabelled"] + counts["walk_incomplete"] + counts["walk_complete"]
    return {"model_version": version, "files": read, "added": counts["added"],
            "already_logged": read - counts["added"],
            **{k: counts[k] for k in ("walk_complete", "walk_incomplete", "unlabelled")}}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m backfill.import_training_log",
        description=__doc__.split("\n\n")[0],
        epilog="The whole pipeline: backfill/README.md.",
    )
    parser.add_argument("predictions", metavar="PARQUET_DIR",
                        help="the output of backfill.run --training-log")
    parser.add_argument("labels", metavar="LABELS", type=Path,
                        help="files.parquet of backfill.label_graph on the same input table")
    parser.add_argument("--config", type=Path, default=None,
                        help=f"the bot's configuration, for its store (default: ./{DEFAULT_CONFIG} "
                             "if present, else the built-in defaults)")
    parser.add_argument("--model-version", default=None,
                        help="the model version to import (default: the only one in the output)")
    parser.add_argument("--max-rows", type=int, default=None,
                        help="files to import at most (default: [training_log] max_rows)")
    parser.add_argument("--taxonomy", default=DEFAULT_VERSION,
                        help="the taxonomy label_graph used (default: %(default)s)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    try:
        config = find_config(args.config)
        if not (config.store.url or config.store.host):
            resolve_path(config.store.path).parent.mkdir(parents=True, exist_ok=True)
        store = Store(config.store_url())
        summary = import_training_log(
            store, args.predictions, args.labels, load_taxonomy(args.taxonomy),
            args.max_rows or config.training_log.max_rows, args.model_version,
            progress=not args.no_progress)
    except (ConfigError, PredictionsError, ValueError) as err:
        print(f"import_training_log: {err}", file=sys.stderr)
        return 2
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
