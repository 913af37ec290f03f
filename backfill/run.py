"""Classify every file of a table on Apache Spark, resumably.

    python -m backfill.run INPUT OUTPUT [--master local[*]] [--model DIR] ...

INPUT is a Parquet table (a file or a folder) with `title`, `sha1` and either `image`
(the thumbnail's bytes) or `thumbnail` (an http(s) URL or a path every executor can
read); `logid`, `uploaded_at` (or `timestamp`), `uploader`, `page_id` and `categories`
are optional and carried through, for `backfill.import_predictions`.
OUTPUT is a Parquet folder partitioned by `model_version`: one row per sha1 with its
outcome and, when classified, its predictions and probabilities. Rerun the same
command after a failure or a kill: files already done for this model version are
skipped. Progress is one line per chunk on standard error. On a cluster, submit this
module with spark-submit instead (backfill/README.md); `--master` is then ignored in
favour of spark-submit's.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence

from backfill.job import InputTableError, run_backfill
from backfill.session import spark_session
from classifier.artifact import ModelArtifactError


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m backfill.run",
        description=__doc__.split("\n\n")[0],
        epilog="Input and output formats are described in backfill/README.md.",
    )
    parser.add_argument("input", help="Parquet table of files (path or URI Spark can read)")
    parser.add_argument("output", help="Parquet folder for the predictions (appended to)")
    parser.add_argument("--master", default="local[*]",
                        help="Spark master (default: local[*], every core of this machine)")
    parser.add_argument("--model", default=None, help="model directory (default: shipped model)")
    parser.add_argument("--operating-point", default=None,
                        help="the model's named thresholds (default: the model's default)")
    parser.add_argument("--chunk-files", type=int, default=100_000,
                        help="files per committed chunk: the most a kill can lose")
    parser.add_argument("--batch-size", type=int, default=32, help="images per model call")
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="seconds per thumbnail download")
    parser.add_argument("--training-log", action="store_true",
                        help="also keep what the learned head read (head_inputs, head_layout, "
                        "about 1.4 KB a file) for backfill.import_training_log")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    logging.getLogger("py4j").setLevel(logging.WARNING)

    spark = spark_session(args.master)
    spark.sparkContext.setLogLevel("WARN")
    try:
        summary = run_backfill(
            spark, args.input, args.output, model_dir=args.model,
            operating_point=args.operating_point, chunk_files=args.chunk_files,
            batch_size=args.batch_size, timeout=args.timeout, training_log=args.training_log,
        )
    except (InputTableError, ModelArtifactError, ValueError) as err:
        print(f"backfill: {err}", file=sys.stderr)
        return 2
    finally:
        spark.stop()
    print(json.dumps({
        "model_version": summary.model_version,
        "already_done": summary.already_done,
        "processed": summary.processed,
        "outcomes": summary.outcomes,
        "seconds": round(summary.seconds, 1),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
