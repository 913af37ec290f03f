#!/usr/bin/env python3
"""Measure the peak memory of the bot's per-pass store work as the store grows.

    .venv/bin/python scripts/bench_store_growth.py [--files 1000 100000] [--url URL]

For each size it fills a fresh SQLite store (or the empty database at --url, one size
only) with synthetic uploads: two suggestions each (as scripts/bench_worklists.py
stores them), pixel features for every file and a flag for every fifth one, in all
four flag states. Then a fresh Python process, which imports what the bot imports,
does what one pass does with the store: decides the flags of 50 new uploads (the
near-duplicate signal reads the earlier flags that share a band of the new hash,
bot.image_features.DHASH_BANDS), renders the flags page and every worklist page. It
prints that process's peak RSS (VmHWM) after its imports and after the work. Target:
the peak at 100,000 files within 10 % of the peak at 1,000. It also times the 50 flag
checks alone, both through the bands and reading every flagged hash (as the bot did
before migration 0009).
The numbers are printed, never asserted: they depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_worklists import fill as fill_suggestions  # noqa: E402 - scripts/ is sys.path[0]

from bot.store import (  # noqa: E402 - the repository root is on the path only now
    FLAG_STATES,
    Store,
    band_values,
    files_table,
    flags_table,
    image_features_table,
)

FLAGGED_EVERY = 5
NEW_UPLOADS = 50


def vm_hwm_mib() -> float:
    """This process's peak resident set size so far, in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def fill_flags(store: Store) -> int:
    """Pixel features for every stored file, a flag for every FLAGGED_EVERY-th."""
    rng = random.Random(1)
    now = datetime.now(UTC).replace(tzinfo=None)
    with store.engine.connect() as conn:
        files = conn.execute(
            files_table.select().with_only_columns(
                files_table.c.logid,
                files_table.c.title,
                files_table.c.sha1,
                files_table.c.uploader,
                files_table.c.uploaded_at,
            )
        ).all()
    features, flags = [], []
    for f in files:
        dhash = f"{rng.getrandbits(64):016x}"
        features.append(dict(sha1=f.sha1, dhash=dhash, spread=rng.uniform(0, 60), created_at=now))
        if f.logid % FLAGGED_EVERY:
            continue
        signals = [{"name": "tiny", "points": 4.0, "reason": "tiny: 60x40 px"}]
        flags.append(
            dict(
                title=f.title,
                logid=f.logid,
                sha1=f.sha1,
                uploader=f.uploader,
                uploaded_at=f.uploaded_at,
                dhash=dhash,
                **band_values(dhash),
                score=rng.choice([3.5, 5.0, 7.5]),
                tier=rng.choice(["may have problems", "likely have problems"]),
                signals=json.dumps(signals),
                state=rng.choice(FLAG_STATES),
                created_at=now,
                updated_at=now,
            )
        )
    with store.engine.begin() as conn:
        conn.execute(image_features_table.insert(), features)
        conn.execute(flags_table.insert(), flags)
    return len(flags)


def measure(url: str) -> dict:
    """One pass's store work, in this process (run as a fresh child)."""
    import bot.run  # noqa: F401 - the bot's imports belong in the baseline
    from bot.config import FlagsConfig, ReportConfig
    from bot.flag_review import flags_page
    from bot.flag_score import Evidence, assess
    from bot.flag_signals import Account
    from bot.flags_report import render_flags_page
    from bot.report import PageStyle
    from bot.worklists import render_worklists
    from classifier.taxonomy import load_taxonomy

    taxonomy = load_taxonomy()
    store = Store(url)
    config, report = FlagsConfig(), ReportConfig()
    baseline = vm_hwm_mib()
    began = time.perf_counter()
    now = datetime.now(UTC)

    def checks(banded: bool) -> int:
        """The flags of NEW_UPLOADS new uploads; how many would be flagged."""
        rng = random.Random(2)
        tiers = 0
        for _ in range(NEW_UPLOADS):
            dhash = f"{rng.getrandbits(64):016x}"
            flagged = (
                store.flagged_hashes(dhash, config.limits.duplicate_bits)
                if banded
                else store.flagged_hashes()
            )
            tiers += assess(evidence(dhash, flagged), config).tier is not None
        return tiers

    def evidence(dhash: str, flagged) -> Evidence:
        return Evidence(
            mime="image/jpeg",
            width=4000,
            height=3000,
            size_bytes=3_000_000,
            has_camera_exif=True,
            account=Account("Someone", 12, now),
            spread=30.0,
            dhash=dhash,
            claimed=None,
            predicted=(),
            probabilities={},
            thresholds={},
            flagged=flagged,
            now=now,
        )

    tiers = checks(banded=True)
    checks_seconds = time.perf_counter() - began
    flags_text = render_flags_page(flags_page(store, config.per_uploader_cap), "R")
    style = PageStyle("User:Bot/Topics", report.page_max_bytes, report.page_max_files, "https://t")
    pages = render_worklists(store, taxonomy, style, "User:Bot/Topics/Flags", now, {})
    seconds, peak = time.perf_counter() - began, vm_hwm_mib()
    scan_began = time.perf_counter()
    assert checks(banded=False) == tiers  # the same flags either way
    return dict(
        baseline_mib=baseline,
        peak_mib=peak,
        seconds=seconds,
        checks_seconds=checks_seconds,
        scan_seconds=time.perf_counter() - scan_began,
        flagged_new=tiers,
        flags_page_bytes=len(flags_text.encode()),
        worklist_pages=len(pages),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--files", type=int, nargs="+", default=[1_000, 100_000], help="store sizes to measure"
    )
    parser.add_argument("--url", help="an empty database's SQLAlchemy URL (default: SQLite)")
    parser.add_argument("--measure", metavar="URL", help=argparse.SUPPRESS)  # the child's part
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return 0
    if args.url and len(args.files) > 1:
        parser.error("--url takes one size: the database must be empty")
    from classifier.taxonomy import load_taxonomy

    labels = load_taxonomy().labels
    peaks = {}
    for files in args.files:
        with tempfile.TemporaryDirectory() as tmp:
            url = args.url or f"sqlite:///{tmp}/growth.sqlite"
            store = Store(url)
            fill_suggestions(store, files * 2, labels)
            flags = fill_flags(store)
            store.engine.dispose()
            child = subprocess.run(
                [sys.executable, __file__, "--measure", url],
                check=True,
                capture_output=True,
                text=True,
            )
            result = json.loads(child.stdout.strip().splitlines()[-1])
        peaks[files] = result["peak_mib"]
        print(
            f"{files:>7,} files, {flags:,} flags: peak RSS {result['peak_mib']:.1f} MiB "
            f"(after imports {result['baseline_mib']:.1f} MiB), {result['seconds']:.1f} s for "
            f"{NEW_UPLOADS} flag checks, the flags page ({result['flags_page_bytes']:,} bytes) "
            f"and {result['worklist_pages']} worklist pages"
        )
        print(
            f"{files:>7,} files, {flags:,} flags: {NEW_UPLOADS} flag checks "
            f"{result['checks_seconds']:.3f} s through the hash bands, "
            f"{result['scan_seconds']:.3f} s reading every flagged hash"
        )
    smallest, largest = min(peaks), max(peaks)
    if smallest != largest:
        growth = peaks[largest] / peaks[smallest] - 1
        print(f"peak at {largest:,} vs {smallest:,} files: {growth:+.1%} (target within 10 %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
