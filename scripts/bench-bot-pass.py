#!/usr/bin/env python3
"""Measure one bot pass over N uploads on a fresh local MediaWiki: files per second,
peak RSS, and API requests per upload with a cold and a warm category cache.

    .venv/bin/python scripts/bench-bot-pass.py [--uploads 100] [--model DIR]

It starts a wiki on a free loopback port, uploads N real photos (variants of the
scikit-image / scikit-learn samples, so every file has its own sha1) into a small
category tree, puts a counting proxy in front of the API, and runs
`python -m bot.run --once --dry-run` as a subprocess. The numbers are printed, never
asserted: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import (  # noqa: E402 - the repository root is on the path only now
    CATEGORY_TREE,
    UPLOAD_CATEGORIES,
    bot_env,
    write_bot_config,
)
from tests.fault_proxy import FaultProxy  # noqa: E402
from tests.wiki_fixtures import (  # noqa: E402
    LocalWiki,
    run_bot,
    sample_images,
    variant,
    wait_next_second,
    wiki_available,
)


def upload_variants(wiki: LocalWiki, count: int, offset: int) -> None:
    images = sample_images()
    names = sorted(images)
    client = wiki.client()
    for i in range(count):
        name = names[i % len(names)]
        stem, ext = name.rsplit(".", 1)
        # a JPEG variant of each sample (new bytes, new sha1), in the sample's categories
        client.upload(
            f"Bench {offset + i} {stem}.jpg",
            variant(images[name], offset + i),
            UPLOAD_CATEGORIES[name],
        )


def measured_pass(workdir: Path, env: dict, proxy: FaultProxy, since: str) -> dict:
    before = len(proxy.api_requests())
    started = time.monotonic()
    done = run_bot(["--once", "--dry-run", "--since", since], workdir, env, timeout=1200)
    wall = time.monotonic() - started
    if done.returncode != 0:
        sys.exit(done.stderr[-3000:])
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    requests = proxy.api_requests()[before:]
    files = summary["files_seen"]
    return {
        "files": files,
        "pass_seconds": summary["seconds"],
        "files_per_second": round(files / summary["seconds"], 2),
        "wall_seconds_with_startup": round(wall, 2),
        "api_requests": len(requests),
        "api_requests_per_upload": round(len(requests) / files, 3),
        "category_requests": sum("categoryinfo" in s.params.get("prop", "") for s in requests),
        "errors": summary["errors"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uploads", type=int, default=100)
    parser.add_argument("--warm-uploads", type=int, default=20)
    parser.add_argument("--model", help="model directory (default: the shipped model)")
    args = parser.parse_args()
    reason = wiki_available()
    if reason:
        sys.exit(f"cannot run: {reason}")

    with tempfile.TemporaryDirectory(prefix="bench-bot-") as tmp:
        base = Path(tmp)
        wiki = LocalWiki.start(base / "wiki")
        try:
            client = wiki.client()
            for child, parents in CATEGORY_TREE.items():
                client.edit(
                    f"Category:{child}", "Bench." + "".join(f"[[Category:{p}]]" for p in parents)
                )
            since = wait_next_second()
            started = time.monotonic()
            upload_variants(wiki, args.uploads, 0)
            print(f"uploaded {args.uploads} files in {time.monotonic() - started:.1f} s")

            with FaultProxy(wiki.port) as proxy:
                model = {"model": {"path": args.model}} if args.model else {}
                write_bot_config(base / "config.toml", proxy.api_url, **model)
                env = bot_env(base / "pwb", {"localwiki": wiki.port, "proxywiki": proxy.port})
                cold = measured_pass(base, env, proxy, since)
                peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
                upload_variants(wiki, args.warm_uploads, args.uploads)
                warm = measured_pass(base, env, proxy, since)
        finally:
            wiki.stop()
    result = {"cold_cache": cold, "warm_cache": warm, "peak_rss_mb": round(peak_mb, 1)}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
