"""The backfill job: every file of an input table through the classifier, on Spark.

Input: a Parquet table with `title`, `sha1` and a thumbnail reference (`image` bytes,
or a `thumbnail` URL or path; see `backfill.inputs`), and optionally `logid`,
`uploaded_at` (or `timestamp`, the upload log's name for it), `uploader`, `page_id`
and `categories`, which are carried through so the results can be imported into the
bot's store (`backfill.import_predictions`). Output: one row per distinct sha1 in the bot's
prediction format, as Parquet partitioned by `model_version`.

Resumable by construction: the work is cut into chunks by a hash of the sha1 and
each chunk is one Spark write that commits (appends) on its own, so a job killed
midway keeps every chunk it committed, and a rerun first drops the files that
already have a row for this model version. A rerun after a complete run therefore
writes nothing, and a new model version gets its own partition beside the old one.

Inference is `mapInPandas` over `classifier.batch.classify_batch`, the same
function the bot and a plain loop call, with one LiteRT interpreter per Python
worker process (loaded on its first batch, one thread, since Spark already runs one
task per core).
"""

from __future__ import annotations

import functools
import logging
import math
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from backfill.inputs import Unreadable, read_reference
from classifier.batch import classify_batch
from classifier.model import TopicModel

log = logging.getLogger(__name__)

REFERENCE_COLUMNS = ("image", "thumbnail")
PASSTHROUGH = {
    "logid": T.LongType(),
    "uploaded_at": T.StringType(),
    "uploader": T.StringType(),
    "page_id": T.LongType(),
    "categories": T.ArrayType(T.StringType()),
}
"""Optional input columns copied to the output: what the bot's store needs per file."""

ALIASES = {"timestamp": "uploaded_at"}
"""Input names accepted for a carried column: the upload log calls the upload time
`timestamp`; the output (and the bot's store) call it `uploaded_at`."""

RESULT_FIELDS = [
    T.StructField("sha1", T.StringType(), False),
    T.StructField("title", T.StringType(), True),
    T.StructField("outcome", T.StringType(), False),
    T.StructField("error", T.StringType(), True),
    T.StructField("model_name", T.StringType(), False),
    T.StructField("operating_point", T.StringType(), False),
    T.StructField("predictions", T.ArrayType(T.StringType()), True),
    T.StructField("probabilities", T.MapType(T.StringType(), T.DoubleType()), True),
    # with --training-log: what the learned head read, as the bot's training log keeps it
    T.StructField("head_inputs", T.BinaryType(), True),
    T.StructField("head_layout", T.StringType(), True),
    *(T.StructField(name, kind, True) for name, kind in PASSTHROUGH.items()),
    T.StructField("model_version", T.StringType(), False),  # the partition column, last
]
OUTPUT_SCHEMA = T.StructType(RESULT_FIELDS)
HEAD_COLUMNS = ("head_inputs", "head_layout")


def output_schema(training_log: bool) -> T.StructType:
    """The columns a run writes: the head's inputs only with --training-log (an output
    folder may then hold parts with and without them; readers see null where absent)."""
    return T.StructType([f for f in RESULT_FIELDS
                         if training_log or f.name not in HEAD_COLUMNS])


class InputTableError(ValueError):
    """The input table lacks a column the job needs; the message says which."""


@dataclass(frozen=True)
class BackfillSettings:
    """What every worker needs to classify: plain values, so Spark can ship them."""

    model_dir: str
    operating_point: str
    batch_size: int = 32  # images per interpreter call
    timeout: float = 30.0  # seconds per thumbnail download
    training_log: bool = False  # also keep the head's inputs (head_inputs, head_layout)


@dataclass(frozen=True)
class BackfillSummary:
    model_version: str
    already_done: int  # distinct files that had a row for this version before the run
    processed: int  # files classified or given an outcome by this run
    outcomes: dict[str, int]
    seconds: float


@functools.lru_cache(maxsize=2)
def worker_model(model_dir: str) -> TopicModel:
    """The model of this Python worker process, loaded once and kept while Spark reuses
    the worker (its default), with one thread: Spark runs one task per core already."""
    return TopicModel.load(model_dir, num_threads=1)


def classify_frames(frames: Iterator[pd.DataFrame], settings: BackfillSettings
                    ) -> Iterator[pd.DataFrame]:
    """The `mapInPandas` function: input rows in, output rows out, batch by batch."""
    model = worker_model(settings.model_dir)
    for frame in frames:
        for start in range(0, len(frame), settings.batch_size):
            yield classify_part(model, frame.iloc[start:start + settings.batch_size], settings)


def classify_part(model: TopicModel, part: pd.DataFrame, settings: BackfillSettings
                  ) -> pd.DataFrame:
    """Resolve each row's thumbnail, classify the readable ones in one batch, and give
    every row its output row (an unreadable reference is an outcome like a bad image)."""
    images = part["image"] if "image" in part else [None] * len(part)
    links = part["thumbnail"] if "thumbnail" in part else [None] * len(part)
    rows: list[dict | None] = [None] * len(part)
    readable: list[tuple[int, bytes]] = []
    for i, (image, link) in enumerate(zip(images, links, strict=True)):
        # Arrow gives a missing string as None or NaN depending on the pandas version
        data = read_reference(None if _missing(image) else image,
                              None if _missing(link) else link, settings.timeout)
        if isinstance(data, Unreadable):
            rows[i] = {"outcome": data.outcome, "error": data.message,
                       "model_name": model.name, "model_version": model.version,
                       "operating_point": settings.operating_point,
                       "predictions": None, "probabilities": None,
                       **(dict.fromkeys(HEAD_COLUMNS) if settings.training_log else {})}
        else:
            readable.append((i, data))
    for row in classify_batch(model, readable, settings.operating_point,
                              with_inputs=settings.training_log):
        rows[row.pop("key")] = row
    out = pd.DataFrame(rows)
    for name in ("sha1", "title", *PASSTHROUGH):
        out[name] = part[name].to_numpy() if name in part else None
    return out[output_schema(settings.training_log).names]


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def read_done(spark: SparkSession, output: str, model_version: str) -> DataFrame | None:
    """The sha1s that already have a row for this model version; None before the first
    write. The schema is given, so a version such as "1.0" stays a string."""
    try:
        table = spark.read.schema(OUTPUT_SCHEMA).parquet(output)
    except AnalysisException:  # the output path does not exist yet
        return None
    return table.where(F.col("model_version") == model_version).select("sha1").distinct()


def read_input(spark: SparkSession, path: str) -> DataFrame:
    """The input table, checked, one row per sha1, with only the columns the job uses."""
    table = spark.read.parquet(path)
    for alias, name in ALIASES.items():
        if alias in table.columns and name not in table.columns:
            table = table.withColumnRenamed(alias, name)
    columns = set(table.columns)
    missing = {"title", "sha1"} - columns
    if missing:
        raise InputTableError(f"{path}: the input table has no column {', '.join(sorted(missing))}")
    if not columns & set(REFERENCE_COLUMNS):
        raise InputTableError(
            f"{path}: the input table needs an `image` (bytes) or `thumbnail` (URL or path) column"
        )
    keep = ["sha1", "title", *(c for c in (*REFERENCE_COLUMNS, *PASSTHROUGH) if c in columns)]
    typed = [F.col(c).cast(PASSTHROUGH[c]) if c in PASSTHROUGH else F.col(c) for c in keep]
    return table.select(*typed).where(F.col("sha1").isNotNull()).dropDuplicates(["sha1"])


def run_backfill(
    spark: SparkSession,
    input_path: str,
    output_path: str,
    model_dir: str | Path | None = None,
    operating_point: str | None = None,
    chunk_files: int = 100_000,
    batch_size: int = 32,
    timeout: float = 30.0,
    progress: Callable[[str], None] = log.info,
    training_log: bool = False,
) -> BackfillSummary:
    """Classify every file of the input that has no row yet for this model version."""
    started = time.perf_counter()
    model = TopicModel.load(model_dir)  # on the driver: only its name, version, path
    settings = BackfillSettings(
        model_dir=str(model.model_dir),
        operating_point=operating_point or model.default_operating_point,
        batch_size=batch_size,
        timeout=timeout,
        training_log=training_log,
    )
    model.thresholds(settings.operating_point)  # an unknown point fails here, not on workers
    files = read_input(spark, input_path)
    done = read_done(spark, output_path, model.version)
    todo = files if done is None else files.join(done, "sha1", "left_anti")
    total, remaining = files.count(), todo.count()
    progress(f"model {model.name} {model.version}: {total} files, "
             f"{total - remaining} already done, {remaining} to do")
    chunks = max(1, math.ceil(remaining / chunk_files))
    todo = todo.withColumn("_chunk", F.pmod(F.xxhash64("sha1"), F.lit(chunks)))
    parallelism = spark.sparkContext.defaultParallelism
    outcomes: Counter[str] = Counter()
    for chunk in range(chunks):
        chunk_start = time.perf_counter()
        part = todo.where(F.col("_chunk") == chunk).drop("_chunk").repartition(parallelism)
        # Materialised once, without its lineage: the plan reads the output folder (to
        # skip done files), so a cached plan would be invalidated by this very write and
        # recomputed, against the new rows, for the counts.
        result = part.mapInPandas(
            functools.partial(classify_frames, settings=settings),
            output_schema(settings.training_log),
        ).localCheckpoint(eager=True)
        result.write.mode("append").partitionBy("model_version").parquet(output_path)
        counts = {r["outcome"]: r["count"] for r in result.groupBy("outcome").count().collect()}
        result.unpersist()
        outcomes.update(counts)
        n, seconds = sum(counts.values()), time.perf_counter() - chunk_start
        progress(f"chunk {chunk + 1}/{chunks}: {n} files in {seconds:.1f} s "
                 f"({n / seconds if seconds else 0:.1f} files/s); {sum(outcomes.values())}/"
                 f"{remaining} done; " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return BackfillSummary(
        model_version=model.version,
        already_done=total - remaining,
        processed=sum(outcomes.values()),
        outcomes=dict(outcomes),
        seconds=time.perf_counter() - started,
    )
