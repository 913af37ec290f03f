"""The training log's costs: logging speed, store growth, and retraining time.

    .venv/bin/python scripts/benchmark_training_log.py [--rows 100000] [--uploads 1000]

Prints (1) per upload, the store's record_upload with and without a training-log row
and the classification with and without the head's inputs, on a real SQLite file and
the real model, so the share a pass slows by is visible; (2) the SQLite file's growth
per 1,000 uploads with and without the log; (3) the wall time of `python -m
training.retrain_head` on `--rows` synthetic log rows (the default model's layout:
clusters of features per topic, one to three topics per row closed under ancestors,
frequencies falling like Commons'). Synthetic rows measure time, not quality.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sqlalchemy import insert

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.store import (  # noqa: E402
    FileRecord,
    PredictionRecord,
    Store,
    TrainingLogRecord,
    training_log_table,
)
from classifier.head_inputs import HeadInputs, encode  # noqa: E402
from classifier.images import decode_image  # noqa: E402
from classifier.model import TopicModel  # noqa: E402
from training.sample_images import package_photos  # noqa: E402


def synthetic_rows(model: TopicModel, n: int, seed: int):
    """`n` (HeadInputs, topics) pairs in the model's layout, separable by construction."""
    rng = np.random.default_rng(seed)
    labels, taxonomy = model.labels, model.taxonomy
    leaves = [x for x in labels if not taxonomy.children(x)]
    frequency = 1.0 / np.arange(1, len(leaves) + 1)
    frequency /= frequency.sum()
    centres = rng.normal(0, 1.0, (len(leaves), 1280)).astype(np.float32)
    for _ in range(n):
        picked = rng.choice(len(leaves), size=rng.integers(1, 4), replace=False, p=frequency)
        features = np.clip(1.0 + rng.normal(0, 1.0, 1280) + centres[picked].sum(0), 0, 6)
        graph = rng.random(len(labels)).astype(np.float32) ** 4
        topics = set()
        for i in picked:
            topics |= {leaves[i], *taxonomy.ancestors(leaves[i])}
        yield HeadInputs(graph, features.astype(np.float32), rng.random(4).astype(np.float32)), \
            tuple(sorted(topics))


def logging_cost(model: TopicModel, uploads: int, folder: Path) -> dict:
    photos = list(package_photos(include_opencv=False).values())
    images = [decode_image(p, min_size=max(model.input_sizes)) for p in photos]
    out = {}
    for _ in range(3):  # interleaved rounds, the best of each: other processes share the CPU
        for with_inputs in (False, True):
            start = time.perf_counter()
            for i in range(50):
                model.predict_images([images[i % len(images)]], return_inputs=with_inputs)
            key = f"classify_ms{'_with_inputs' if with_inputs else ''}"
            ms = round((time.perf_counter() - start) * 1000 / 50, 3)
            out[key] = min(out.get(key, ms), ms)
    rows = list(synthetic_rows(model, uploads, 1))
    stores, sizes, seconds = {}, {}, {False: 0.0, True: 0.0}
    for logged in (False, True):
        path = folder / f"{'with' if logged else 'without'}.sqlite"
        stores[logged] = (Store(f"sqlite:///{path}"), path)
        sizes[logged] = path.stat().st_size
    for start_row in range(0, uploads, 100):  # interleaved: both stores see the same load
        for logged in (False, True):
            store = stores[logged][0]
            start = time.perf_counter()
            for i in range(start_row, min(start_row + 100, uploads)):
                inputs, topics = rows[i]
                sha1 = f"{i:040x}"
                prediction = PredictionRecord(sha1, model.name, model.version, "precise",
                                              ("Art",), {x: 0.1 for x in model.labels})
                training = (TrainingLogRecord(sha1, model.version, *encode(inputs), topics)
                            if logged else None)
                store.record_upload(
                    FileRecord(logid=i, title=f"File:{i}.jpg",
                               uploaded_at="2026-12-01T00:00:00Z", outcome="classified",
                               sha1=sha1, claimed_topics=topics),
                    None, prediction, training=training)
            seconds[logged] += time.perf_counter() - start
    for logged in (False, True):
        key = "with_log" if logged else "without_log"
        out[f"record_ms_{key}"] = round(seconds[logged] * 1000 / uploads, 3)
        out[f"rows_per_second_{key}"] = round(uploads / seconds[logged], 1)
        growth = stores[logged][1].stat().st_size - sizes[logged]
        out[f"store_bytes_per_1000_uploads_{key}"] = int(growth * 1000 / uploads)
    out["encoded_row_bytes"] = len(encode(rows[0][0])[0]) + len(encode(rows[0][0])[1])
    per_file = out["classify_ms"] + out["record_ms_without_log"]
    extra = (out["classify_ms_with_inputs"] - out["classify_ms"]
             + out["record_ms_with_log"] - out["record_ms_without_log"])
    out["pass_slowdown_percent_without_network"] = round(100 * extra / per_file, 2)
    return out


def retraining_time(model: TopicModel, n: int, folder: Path, head: str) -> dict:
    store_path = folder / "log.sqlite"
    store = Store(f"sqlite:///{store_path}")
    now = datetime.now(UTC).replace(tzinfo=None)
    batch = []
    with store.engine.begin() as conn:
        for i, (inputs, topics) in enumerate(synthetic_rows(model, n, 2)):
            data, layout = encode(inputs)
            batch.append({"sha1": f"{i:040x}", "model_version": model.version, "inputs": data,
                          "layout": layout, "claimed_topics": json.dumps(topics),
                          "walk_complete": True, "created_at": now})
            if len(batch) == 5000:
                conn.execute(insert(training_log_table), batch)
                batch = []
        if batch:
            conn.execute(insert(training_log_table), batch)
    (folder / "config.toml").write_text(f'[store]\npath = "{store_path}"\n', encoding="utf-8")
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "training.retrain_head", "--from-store",
         str(folder / "config.toml"), "--out", str(folder / "model"), "--head", head],
        cwd=REPO, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(done.stderr[-2000:])
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return {"retrain_head": head, "retrain_rows_in_log": result["rows_in_log"],
            "retrain_rows_used": result["rows_used"], "retrain_seconds": round(seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="synthetic rows to retrain on")
    parser.add_argument("--uploads", type=int, default=1000, help="uploads for the logging cost")
    parser.add_argument("--head", choices=("linear", "hierarchical"), default="linear",
                        help="the head retrain_head fits (default: %(default)s)")
    args = parser.parse_args()
    model = TopicModel.load()
    with tempfile.TemporaryDirectory() as tmp:
        result = logging_cost(model, args.uploads, Path(tmp))
        result |= retraining_time(model, args.rows, Path(tmp), args.head)
    for key, value in result.items():
        print(f"{key:45} {value}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
