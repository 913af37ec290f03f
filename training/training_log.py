"""The bot's training log as training reads it: the Parquet file `bot.export_training_log`
writes (one row per logged image: the head's inputs, 8-bit, the topics its categories
implied, and reviewers' accepted and rejected labels).

Training never imports the bot (DESIGN.md's one rule): when given the bot's config
instead of a file, `export_from_store` runs the bot's export command in a subprocess
into a temporary file, so the only coupling is this file format. The head's inputs are
kept as the logged bytes and decoded only for the rows used, and scored with a model's
head, hierarchy and thresholds by `predicted_sets`, the same steps the model runs on an
image after its graph.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from classifier.head_inputs import HeadInputs, decode
from classifier.hierarchy import max_constraint, predicted_labels
from classifier.model import TopicModel

COLUMNS = ("sha1", "inputs", "layout", "claimed_topics", "walk_complete", "created_at",
           "accepted", "rejected")
METADATA_KEY = b"training_log"


@dataclass(frozen=True)
class LogRow:
    """One logged image: its encoded head inputs and what is known of its labels."""

    sha1: str
    inputs: bytes
    layout: str
    claimed: tuple[str, ...] | None  # None: the category walk did not complete
    accepted: tuple[str, ...]
    rejected: tuple[str, ...]

    @property
    def reviewed(self) -> bool:
        return bool(self.accepted or self.rejected)


@dataclass(frozen=True)
class LogExport:
    rows: list[LogRow]
    meta: dict  # the export's: format, model_path ("" for the default model), since, time


def read_export(path: Path, since: datetime | None = None) -> LogExport:
    """The rows of an export (created at or after `since`); a file that is not an
    export is a ValueError naming what is missing."""
    try:
        file = pq.ParquetFile(path)
    except (OSError, ValueError) as err:  # pyarrow's ArrowInvalid is a ValueError
        raise ValueError(f"{path}: not a Parquet file: {err}") from None
    missing = [c for c in COLUMNS if c not in file.schema_arrow.names]
    meta = (file.schema_arrow.metadata or {}).get(METADATA_KEY)
    if missing or meta is None:
        raise ValueError(f"{path}: not a training-log export (python -m bot."
                         f"export_training_log): missing {', '.join(missing) or 'its metadata'}")
    rows = []
    for batch in file.iter_batches(columns=list(COLUMNS), batch_size=5000):
        for r in batch.to_pylist():
            if since is not None and r["created_at"] < since:
                continue
            claimed = r["claimed_topics"] if r["walk_complete"] else None
            rows.append(LogRow(r["sha1"], r["inputs"], r["layout"],
                               None if claimed is None else tuple(claimed),
                               tuple(r["accepted"] or ()), tuple(r["rejected"] or ())))
    return LogExport(rows, json.loads(meta))


@contextmanager
def export_from_store(config: Path, since: datetime | None = None) -> Iterator[Path]:
    """The bot's training log exported by the bot's own command into a temporary file
    (removed afterwards). Raises ValueError when the export fails; its error is on
    standard error already."""
    with tempfile.TemporaryDirectory(prefix="training-log-") as tmp:
        out = Path(tmp) / "training_log.parquet"
        command = [sys.executable, "-m", "bot.export_training_log", "--config", str(config),
                   "--out", str(out)]
        if since is not None:
            command += ["--since", since.isoformat()]
        done = subprocess.run(command, stdout=subprocess.DEVNULL)
        if done.returncode != 0:
            raise ValueError(f"python -m bot.export_training_log --config {config} failed "
                             f"(exit {done.returncode})")
        yield out


def fits(model: TopicModel, inputs: HeadInputs) -> bool:
    """Whether logged inputs match the model's head (same backbone and labels)."""
    return (len(inputs.graph_scores) == len(model.labels)
            and len(inputs.features) == dict(model.head.inputs)["features"])


def decoded(model: TopicModel, rows: Sequence[LogRow]) -> tuple[list[int], list[HeadInputs]]:
    """(positions, inputs) of the rows whose logged inputs fit the model's head."""
    kept, inputs = [], []
    for i, row in enumerate(rows):
        x = decode(row.inputs, row.layout)
        if fits(model, x):
            kept.append(i)
            inputs.append(x)
    return kept, inputs


def _blocks(inputs: Sequence[HeadInputs]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return tuple(np.stack([getattr(x, name) for x in inputs])
                 for name in ("graph_scores", "features", "face"))


def head_matrix(model: TopicModel, inputs: Sequence[HeadInputs]) -> tuple[np.ndarray, np.ndarray]:
    """(the head's input matrix in the model's layout, the graph's scores)."""
    graph, features, face = _blocks(inputs)
    return model.head.matrix(graph, features, face).astype(np.float32), graph


def predicted_sets(model: TopicModel, inputs: Sequence[HeadInputs],
                   point: str) -> list[tuple[str, ...]]:
    """What the model predicts at `point` for each image from its logged inputs: head,
    hierarchy and thresholds, as `TopicModel.predict_images` after the graph."""
    scores = max_constraint(np.clip(model.head.scores(*_blocks(inputs)), 0.0, 1.0),
                            model.taxonomy)
    thresholds = model.thresholds(point)
    return [predicted_labels(row, model.taxonomy, thresholds) for row in scores]


JUDGE_SHARE = 5  # one reviewed image in this many is the promotion gate's, never trained on


def judges(row: LogRow) -> bool:
    """Whether a reviewed image is kept for the promotion gate's second judge (chosen by
    its SHA-1, so retraining and the gate agree without sharing anything else): its
    reviews then never teach a candidate, and the gate's precision is out of sample."""
    return row.reviewed and int(row.sha1[-8:], 16) % JUDGE_SHARE == 0
