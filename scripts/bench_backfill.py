"""Benchmark the backfill and the whole-graph labelling on this machine (not a test).

    .venv/bin/python scripts/bench_backfill.py images [--n 400]
    .venv/bin/python scripts/bench_backfill.py graph --categories 11000000 --edges 25000000

`images`: classify the same N thumbnails (330 px JPEGs, bytes in Parquet) with one and
two plain processes over `classify_batch`, and with the Spark job on local[1] and
local[2]; prints images/s (Spark: the job alone and with session start-up).
`graph`: label a synthetic graph of the given size (titles "C<n>", each category's
parents drawn from the level above, a few from anywhere higher, 30 anchors at the top)
and print the time of each step and the peak RSS of the process.
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def thumbnails(n: int) -> list[bytes]:
    from PIL import Image
    from skimage import data

    photos = [data.coffee(), data.chelsea(), data.astronaut(), data.rocket()]
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        array = photos[i % len(photos)].copy()
        y, x = rng.integers(0, 100, 2)
        array[y:y + 20, x:x + 20] = rng.integers(0, 255, 3, dtype=np.uint8)
        image = Image.fromarray(array)
        image.thumbnail((330, 330))
        buf = io.BytesIO()
        image.save(buf, format="JPEG", quality=85)
        out.append(buf.getvalue())
    return out


def _plain(blobs: list[bytes]) -> int:
    from classifier.batch import classify_batch
    from classifier.model import TopicModel

    model = TopicModel.load(num_threads=1)
    for start in range(0, len(blobs), 32):
        classify_batch(model, list(enumerate(blobs[start:start + 32])))
    return len(blobs)


def bench_images(n: int) -> dict:
    from backfill.job import run_backfill
    from backfill.session import spark_session

    blobs = thumbnails(n)
    results = {}
    for procs in (1, 2):
        start = time.perf_counter()
        with multiprocessing.get_context("spawn").Pool(procs) as pool:
            pool.map(_plain, [blobs[i::procs] for i in range(procs)])
        results[f"plain_{procs}_process"] = round(n / (time.perf_counter() - start), 1)
    with tempfile.TemporaryDirectory() as tmp:
        table = pd.DataFrame({"title": [f"F{i}.jpg" for i in range(n)],
                              "sha1": [f"{i:040x}" for i in range(n)], "image": blobs})
        table.to_parquet(Path(tmp) / "in.parquet")
        for cores in (1, 2):
            start = time.perf_counter()
            spark = spark_session(f"local[{cores}]")
            spark.sparkContext.setLogLevel("ERROR")
            summary = run_backfill(spark, str(Path(tmp) / "in.parquet"),
                                   str(Path(tmp) / f"out{cores}"), progress=lambda _: None)
            total = time.perf_counter() - start
            spark.stop()
            results[f"spark_local_{cores}"] = round(n / summary.seconds, 1)
            results[f"spark_local_{cores}_with_startup"] = round(n / total, 1)
    return results


def synthetic_graph(folder: Path, categories: int, edges: int, seed: int = 0) -> None:
    """Levels of growing width under a root; parents mostly from the level above."""
    from classifier.taxonomy import load_taxonomy

    rng = np.random.default_rng(seed)
    anchors = list(load_taxonomy("1.4").anchor_labels)
    levels = 14
    widths = np.maximum((categories * 2.0 ** np.arange(levels) / (2 ** levels - 1)).astype(int), 1)
    widths[-1] += categories - widths.sum()
    depth = np.repeat(np.arange(levels) + 3, widths)  # anchors sit at depth 2
    starts = np.r_[0, np.cumsum(widths)[:-1]]
    extra = edges - categories
    child = np.r_[np.arange(categories), rng.integers(widths[0], categories, max(extra, 0))]
    level = depth[child] - 3
    above = np.maximum(level - 1, 0)
    parent = starts[above] + (rng.random(len(child)) * widths[above]).astype(np.int64)
    titles = np.array([f"C{i}" for i in range(categories)], dtype=object)
    top = level == 0
    parent_title = titles[parent].copy()
    parent_title[top] = np.array(anchors, dtype=object)[rng.integers(0, len(anchors), top.sum())]
    pd.DataFrame({"category": titles, "depth": depth}).to_parquet(folder / "nodes.parquet")
    pd.DataFrame({"child": titles[child], "parent": parent_title}).to_parquet(
        folder / "edges.parquet")


def bench_graph(categories: int, edges: int) -> dict:
    from backfill.label_graph import label_categories, peak_rss_mb, read_graph
    from classifier.taxonomy import load_taxonomy

    taxonomy = load_taxonomy("1.4")
    out: dict = {"categories": categories, "edges": edges}
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        synthetic_graph(Path(tmp), categories, edges)
        out["generate_s"] = round(time.perf_counter() - start, 1)
        base = peak_rss_mb()
        start = time.perf_counter()
        graph = read_graph(Path(tmp), taxonomy)
        out["read_s"] = round(time.perf_counter() - start, 1)
        start = time.perf_counter()
        steps: list[str] = []
        labelling = label_categories(graph, taxonomy, progress=steps.append)
        out["label_s"] = round(time.perf_counter() - start, 1)
        out["iterations"] = labelling.iterations
        out["steps"] = steps[:2] + steps[-1:]
        out["peak_rss_mb"] = round(peak_rss_mb())
        out["peak_rss_mb_before_labelling"] = round(base)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    images = sub.add_parser("images")
    images.add_argument("--n", type=int, default=400)
    graph = sub.add_parser("graph")
    graph.add_argument("--categories", type=int, default=11_000_000)
    graph.add_argument("--edges", type=int, default=25_000_000)
    args = parser.parse_args()
    if args.what == "images":
        print(json.dumps(bench_images(args.n)))
    else:
        print(json.dumps(bench_graph(args.categories, args.edges)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
