#!/usr/bin/env python3
"""Time the review tool's pages on a store with many suggestions (target: the gallery
answers in under 300 ms with 50,000 rows).

    .venv/bin/python scripts/bench_review_gallery.py [--suggestions 50000] [--store mariadb]

It fills a fresh store (SQLite, or with `--store mariadb` a local MariaDB server as on
ToolsDB) with synthetic uploads, two suggestions each over 24 labels, a share of them
reviewed and confirmed by categories, then requests each page through Flask's test client
as a logged-in reviewer (the session is set directly: no OAuth provider is involved) and
prints the median and the slowest of the repeats in milliseconds. Numbers are printed,
never asserted: timings depend on the machine. The time is the application's (routing,
queries, templates), without a network or a WSGI server in front.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config import Config, WikiConfig  # noqa: E402 - the repository root is on the path now
from bot.store import (  # noqa: E402
    PassRecord,
    Store,
    _now,
    category_confirmations_table,
    files_table,
    suggestions_table,
)
from review.app import Secrets, create_app  # noqa: E402
from tests.mariadb_fixtures import LocalMariaDB, mariadb_available  # noqa: E402

LABELS = [f"Topic {n:02d}" for n in range(24)]


def fill(store: Store, suggestions: int, seed: int = 1) -> None:
    """Synthetic uploads, two suggestions each; 4 % reviewed, 2 % confirmed by categories."""
    rng = random.Random(seed)
    now = _now()
    files, rows = [], []
    for logid in range(1, suggestions // 2 + 1):
        ts = f"2024-{1 + logid % 12:02d}-{1 + logid % 28:02d}T{logid % 24:02d}:00:00Z"
        title = f"File:Bench upload {logid}.jpg"
        claimed = "[]" if logid % 10 == 0 else '["Nature"]'
        files.append(
            dict(
                logid=logid,
                title=title,
                sha1=f"{logid:040x}",
                uploader=f"User {logid % 500}",
                uploaded_at=ts,
                outcome="classified",
                claimed_topics=claimed,
                attempts=1,
                processed_at=now,
            )
        )
        for label in rng.sample(LABELS, 2):
            rows.append(
                dict(
                    title=title,
                    label=label,
                    logid=logid,
                    sha1=f"{logid:040x}",
                    score=rng.uniform(0.3, 1.0),
                    operating_point="op",
                    model_version="1",
                    adds_topic=rng.random() < 0.6,
                    state=rng.choice(["pending", "published"]),
                    created_at=now,
                    updated_at=now,
                )
            )
    with store.engine.begin() as conn:
        for start in range(0, len(files), 5000):
            conn.execute(files_table.insert(), files[start : start + 5000])
        for start in range(0, len(rows), 5000):
            conn.execute(suggestions_table.insert(), rows[start : start + 5000])
    ids = list(range(1, len(rows) + 1))
    for sid in rng.sample(ids, len(ids) // 25):
        store.record_review(sid, rng.choice(["accepted", "accepted", "rejected"]), "Bench")
    with store.engine.begin() as conn:
        conn.execute(
            category_confirmations_table.insert(),
            [
                {"suggestion_id": sid, "confirmed_at": now}
                for sid in rng.sample(ids, len(ids) // 50)
            ],
        )
    store.record_pass(PassRecord(now, now, 0, 0, {}, "m", "1", False))


def timed(client, path: str, repeats: int) -> tuple[float, float]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        answer = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, (path, answer.status_code)
    return statistics.median(times), max(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suggestions", type=int, default=50_000, help="rows to store")
    parser.add_argument("--store", choices=("sqlite", "mariadb"), default="sqlite")
    parser.add_argument("--repeats", type=int, default=20, help="requests per page")
    args = parser.parse_args()
    if args.store == "mariadb" and (reason := mariadb_available()):
        sys.exit(f"cannot run: {reason}")
    with tempfile.TemporaryDirectory(prefix="bench-review-") as tmp:
        db = LocalMariaDB.start(Path(tmp) / "mariadb") if args.store == "mariadb" else None
        try:
            url = db.url(db.new_database()) if db else f"sqlite:///{tmp}/bot.sqlite"
            store = Store(url)
            started = time.monotonic()
            fill(store, args.suggestions)
            counts = store.counts()
            print(
                f"{args.store}: {counts['suggestions']} suggestions, {counts['files']} files, "
                f"{sum(map(sum, store.label_review_counts().values()))} reviews; "
                f"filled in {time.monotonic() - started:.1f} s"
            )
            config = Config(wiki=WikiConfig(api_url="https://commons.wikimedia.org/w/api.php"))
            app = create_app(config, store, Secrets("id", "secret", "bench-key"))
            client = app.test_client()
            with client.session_transaction() as session:
                session["user"] = "Bench"
            middle = args.suggestions // 2
            pages = {
                "gallery, first page": "/",
                "gallery, one topic": "/?topic=Topic+07",
                "gallery, page deep in the list": f"/?before={middle}",
                "gallery, new only, score >= 0.8": "/?new=1&min_score=0.8",
                "gallery, needs categories, one topic": "/?needs=1&topic=Topic+03",
                "gallery, reviewed": "/?status=reviewed",
                "precision table": "/precision",
            }
            timed(client, "/", 2)  # warm the templates and the connection pool
            print(f"{'page':42s} {'median ms':>10s} {'max ms':>8s}   ({args.repeats} requests)")
            for name, path in pages.items():
                median, slowest = timed(client, path, args.repeats)
                print(f"{name:42s} {median:10.1f} {slowest:8.1f}")
        finally:
            if db:
                db.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
