#!/usr/bin/env python3
"""Measure one bot pass over N uploads on a fresh local MediaWiki: files per second,
peak RSS, CPU time, and API requests per upload with a cold and a warm category cache.

    .venv/bin/python scripts/bench-bot-pass.py [--uploads 100] [--store mariadb] [--model DIR]
                                               [--hostile]

It starts a wiki on a free loopback port, uploads N real photos (variants of the
scikit-image / scikit-learn samples, so every file has its own sha1) into a small
category tree, puts a counting proxy in front of the API, and runs
`python -m bot.run --once --dry-run` as a subprocess, with its store in SQLite or, with
`--store mariadb`, on a local MariaDB server reached as on ToolsDB. The numbers are
printed, never asserted: timings depend on the machine.

With `--hostile`, the first pass also meets every file of the hostile battery
(tests/hostile_images.py): the 16-bit strip uploaded as itself (no wider than the
thumbnail, so its own thumbnail), the others served where the wiki keeps a rendered
thumbnail, as a broken or malicious thumbnail server would. The job's memory request on
Toolforge is 384 MiB; the cursor must reach the last upload.

Peak RSS is the bot process's own VmHWM from /proc/<pid>/status, read until it exits.
(getrusage(RUSAGE_CHILDREN).ru_maxrss is not that: a child forked from this big parent
can report the parent's peak across exec, and it takes the largest of all children.)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import (  # noqa: E402 - the repository root is on the path only now
    UPLOAD_CATEGORIES,
    bot_env,
    local_services,
    write_bot_config,
)
from tests.fault_proxy import FaultProxy  # noqa: E402
from tests.hostile_images import HOSTILE  # noqa: E402
from tests.mariadb_fixtures import PASSWORD, USER, mariadb_available  # noqa: E402
from tests.wiki_fixtures import (  # noqa: E402
    LocalWiki,
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


def upload_hostile(wiki: LocalWiki) -> None:
    """The hostile battery: the strip as an upload, the rest as thumbnails."""
    client = wiki.client()
    photo = sample_images()["Coffee cup.jpg"]
    client.upload("Hostile strip.png", HOSTILE["png 16-bit strip 330x150000"]())
    for i, (name, make) in enumerate(HOSTILE.items()):
        title = f"Hostile {i}.jpg"
        client.upload(title, variant(photo, 9000 + i))
        url = client.thumb_url(f"File:{title}", 330)  # renders the thumbnail file
        (wiki.dir / "images" / url.split("/images/", 1)[1]).write_bytes(make())
        print(f"hostile thumbnail of File:{title}: {name}")


def _peak_and_cpu(pid: int) -> tuple[int, float] | None:
    """(VmHWM in KiB, user+system CPU seconds) of a live process; None once it has exited
    (a zombie's status has no memory lines)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    hwm = [int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM")]
    if not hwm:
        return None
    cpu = (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
    return hwm[0], cpu


def measured_pass(workdir: Path, env: dict, proxy: FaultProxy, since: str) -> dict:
    before = len(proxy.api_requests())
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.run", "--once", "--dry-run", "--since", since],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=open(workdir / "bot.log", "w"),
        text=True,
    )
    peak_kib, cpu = 0, 0.0
    while proc.poll() is None:  # VmHWM only grows: the last reading is the peak
        sample = _peak_and_cpu(proc.pid)
        if sample:
            peak_kib, cpu = sample
        time.sleep(0.05)
    wall = time.monotonic() - started
    stdout = proc.stdout.read()
    if proc.returncode != 0:
        sys.exit((workdir / "bot.log").read_text()[-3000:])
    summary = json.loads(stdout.strip().splitlines()[-1])
    requests = proxy.api_requests()[before:]
    files = summary["files_seen"]
    return {
        "files": files,
        "pass_seconds": summary["seconds"],
        "files_per_second": round(files / summary["seconds"], 2),
        "wall_seconds_with_startup": round(wall, 2),
        "peak_rss_mib": round(peak_kib / 1024, 1),
        "cpu_seconds": round(cpu, 1),
        "api_requests": len(requests),
        "api_requests_per_upload": round(len(requests) / files, 3),
        "category_requests": sum("categoryinfo" in s.params.get("prop", "") for s in requests),
        "errors": summary["errors"],
        "cursor": summary["cursor"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uploads", type=int, default=100)
    parser.add_argument("--warm-uploads", type=int, default=20)
    parser.add_argument("--model", help="model directory (default: the shipped model)")
    parser.add_argument("--store", choices=("sqlite", "mariadb"), default="sqlite")
    parser.add_argument(
        "--hostile", action="store_true", help="add the hostile battery to the first pass"
    )
    args = parser.parse_args()
    reason = wiki_available() or (mariadb_available() if args.store == "mariadb" else None)
    if reason:
        sys.exit(f"cannot run: {reason}")

    with tempfile.TemporaryDirectory(prefix="bench-bot-") as tmp:
        base = Path(tmp)
        with local_services(base, with_mariadb=args.store == "mariadb") as (wiki, db):
            since = wait_next_second()
            started = time.monotonic()
            if args.hostile:
                upload_hostile(wiki)
            upload_variants(wiki, args.uploads, 0)
            print(f"uploaded {args.uploads} files in {time.monotonic() - started:.1f} s")

            with FaultProxy(wiki.port) as proxy:
                sections: dict = {"model": {"path": args.model}} if args.model else {}
                if db:  # as on ToolsDB: host and database in config, account in env
                    name = db.new_database()
                    sections["store"] = {"host": "127.0.0.1", "port": db.port, "database": name}
                write_bot_config(base / "config.toml", proxy.api_url, **sections)
                env = bot_env(base / "pwb", {"localwiki": wiki.port, "proxywiki": proxy.port})
                env.update(TOOL_TOOLSDB_USER=USER, TOOL_TOOLSDB_PASSWORD=PASSWORD)
                cold = measured_pass(base, env, proxy, since)
                upload_variants(wiki, args.warm_uploads, args.uploads)
                warm = measured_pass(base, env, proxy, since)
    result = {"store": args.store, "uploads": args.uploads, "cold_cache": cold, "warm_cache": warm}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
