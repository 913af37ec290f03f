#!/usr/bin/env python3
"""Measure rendering every worklist page (index, one page per topic, needs-categories)
from a store holding many suggestions.

    .venv/bin/python scripts/bench_worklists.py [--suggestions 50000] [--url SQLALCHEMY_URL]

It fills a fresh SQLite store (or the empty database at --url) with synthetic uploads,
two suggestions each over the taxonomy's labels, a tenth of them without categories
and some deleted, in bulk inserts, then times `bot.worklists.render_worklists` with the
default page budget, twice (cold and warm caches). The numbers are printed, never
asserted: timings depend on the machine. Target: under 10 s for 50,000 suggestions.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config import ReportConfig  # noqa: E402 - the repository root is on the path only now
from bot.report import PageStyle  # noqa: E402
from bot.store import Store, files_table, suggestions_table  # noqa: E402
from bot.worklists import render_worklists  # noqa: E402
from classifier.taxonomy import load_taxonomy  # noqa: E402


def fill(store: Store, suggestions: int, labels: tuple[str, ...]) -> None:
    rng = random.Random(0)
    now = datetime.now(UTC).replace(tzinfo=None)
    start = now - timedelta(days=60)
    files, suggs = [], []
    for i in range(suggestions // 2):
        at = start + timedelta(seconds=i * 60 * 24 * 60 // (suggestions // 2))
        ts = at.strftime("%Y-%m-%dT%H:%M:%SZ")
        title = f"File:Synthetic upload {i}.jpg"
        files.append(
            dict(
                logid=i + 1,
                title=title,
                sha1=f"{i:040x}",
                uploader=f"User {i % 997}",
                uploaded_at=ts,
                outcome="classified",
                attempts=1,
                processed_at=at,
                visible_categories=0 if i % 10 == 0 else 2,
                deleted_at=ts if i % 50 == 0 else None,
            )
        )
        for label in rng.sample(labels, 2):
            suggs.append(
                dict(
                    title=title,
                    label=label,
                    logid=i + 1,
                    sha1=f"{i:040x}",
                    score=rng.uniform(0.3, 1.0),
                    operating_point="bench",
                    model_version="bench",
                    adds_topic=rng.random() < 0.5,
                    state="withdrawn" if i % 50 == 0 else rng.choice(["pending", "published"]),
                    created_at=at,
                    updated_at=at,
                )
            )
    with store.engine.begin() as conn:
        conn.execute(files_table.insert(), files)
        conn.execute(suggestions_table.insert(), suggs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suggestions", type=int, default=50_000, help="suggestions to store")
    parser.add_argument("--url", help="an empty database's SQLAlchemy URL (default: SQLite)")
    args = parser.parse_args()
    taxonomy = load_taxonomy()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(args.url or f"sqlite:///{tmp}/bench.sqlite")
        began = time.perf_counter()
        fill(store, args.suggestions, taxonomy.labels)
        print(f"stored {args.suggestions} suggestions in {time.perf_counter() - began:.1f} s")
        report = ReportConfig()
        style = PageStyle(
            "User:Bot/Topics", report.page_max_bytes, report.page_max_files, "https://tool"
        )
        for run in ("cold", "warm"):
            began = time.perf_counter()
            pages = render_worklists(
                store,
                taxonomy,
                style,
                "User:Bot/Topics/Flags",
                datetime.now(UTC).replace(tzinfo=None),
            )
            seconds = time.perf_counter() - began
            sizes = [len(p.text.encode("utf-8")) for p in pages]
            print(
                f"{run}: rendered {len(pages)} pages in {seconds:.2f} s; largest page "
                f"{max(sizes):,} bytes (budget {report.page_max_bytes:,}), "
                f"{sum(len(p.files or ()) for p in pages):,} gallery entries"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
