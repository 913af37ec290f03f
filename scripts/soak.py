#!/usr/bin/env python3
"""Soak the bot against a real local MediaWiki: uploads of several kinds, random faults
on every request, random SIGKILLs; then count the uploads that went missing, were
recorded twice or were recorded wrongly.

    .venv/bin/python scripts/soak.py [--uploads 60] [--kills 3] [--fault-rate 0.1]
                                     [--seed 0] [--store sqlite|mariadb]

It starts a wiki on a free loopback port (and, with `--store mariadb`, a local MariaDB
server reached as on ToolsDB) and uploads, in rounds, files of four kinds: ordinary
photos (variants of the scikit-image / scikit-learn samples), PNGs cut short (the
wiki stores them as 0x0), tiny images, and hostile ones (tests/hostile_images.py: the
16-bit strip as itself, the others served as the file's thumbnail). After each round
`python -m bot.run --once` runs, publishing, through a fault-injecting proxy
(tests/fault_proxy.py) that meets `--fault-rate` of all requests (login, the upload
log, metadata, categories, users, page saves, and thumbnails, whose URLs the proxy
points at itself) with an HTTP 500, a 429, a dropped connection, a timeout, a slow
answer or a truncated body; `--kills` passes are SIGKILLed at a random moment (2 to 15
s after their start; a pass that ends sooner is followed by another). Then passes
without faults run until one finds nothing to do, and the store is compared with the
wiki's upload log:

- missing: an upload of the log with no row in the store;
- duplicated: an upload with more than one row, or a suggestion or flag stored twice;
- wrong: a photo not `classified`, a tiny image neither `classified` nor
  `no_thumbnail`, a cut PNG recorded as `classified`, or any upload left `in_progress`.

The summary is printed as JSON; the exit status is 1 when any count is not zero.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.store import (  # noqa: E402 - the repository root is on the path only now
    IN_PROGRESS,
    Store,
    files_table,
    flags_table,
    suggestions_table,
)
from tests.conftest import (  # noqa: E402
    UPLOAD_CATEGORIES,
    bot_env,
    local_services,
    write_bot_config,
)
from tests.fault_proxy import Fault, FaultProxy  # noqa: E402
from tests.hostile_images import HOSTILE  # noqa: E402
from tests.mariadb_fixtures import PASSWORD, USER, mariadb_available  # noqa: E402
from tests.wiki_fixtures import (  # noqa: E402
    ADMIN_LOGIN,
    ADMIN_PASSWORD,
    LocalWiki,
    sample_images,
    variant,
    wait_next_second,
    wiki_available,
)

KINDS = ("photo", "photo", "photo", "cut_png", "tiny", "hostile")
"""One upload in six is not a photo."""

FAULTS = ("http500", "http429", "drop", "timeout", "slow", "truncate")

TIMEOUT = 5.0
"""The bot's request timeouts in a soak (pywikibot's socket timeout, thumbnails'
timeout_seconds): a `timeout` fault stalls longer than this."""

SENSIBLE = {
    "photo": lambda outcome: outcome == "classified",
    "tiny": lambda outcome: outcome in ("classified", "no_thumbnail"),
    "cut_png": lambda outcome: outcome not in ("classified", IN_PROGRESS),
    "hostile": lambda outcome: outcome != IN_PROGRESS,
}


def faults(rate: float) -> list[Fault]:
    """One rule per fault kind, each meeting rate/len(FAULTS) of all requests."""

    def every(_params: dict[str, str]) -> bool:
        return True

    share = rate / len(FAULTS)
    return [
        Fault(every, 500, chance=share),
        Fault(every, 429, retry_after=1, chance=share),
        Fault(every, kind="drop", chance=share),
        Fault(every, kind="stall", delay=TIMEOUT + 3, chance=share),
        Fault(every, kind="slow", delay=TIMEOUT / 2, chance=share),
        Fault(every, kind="truncate", chance=share),
    ]


class Uploader:
    """Uploads files of every kind straight to the wiki (not through the proxy)."""

    def __init__(self, wiki: LocalWiki, run: str, seed: int):
        self.wiki = wiki
        self.client = wiki.client()
        self.run = run
        self.rng = random.Random(seed)
        self.samples = sample_images()
        self.hostile_names = sorted(HOSTILE)
        self.kinds: dict[str, str] = {}  # title -> kind
        self.count = 0

    def upload(self, n: int) -> None:
        for _ in range(n):
            kind = KINDS[self.count % len(KINDS)]
            self.count += 1
            getattr(self, kind)(f"Soak {self.run} {self.count} {kind}")

    def _put(self, name: str, data: bytes, kind: str, categories: list[str] = ()) -> str:
        self.client.upload(name, data, categories)
        title = f"File:{name.replace('_', ' ')}"  # as the wiki spells it
        self.kinds[title] = kind
        return title

    def photo(self, stem: str) -> None:
        sample = self.rng.choice(sorted(self.samples))
        data = variant(self.samples[sample], self.count)
        self._put(f"{stem}.jpg", data, "photo", UPLOAD_CATEGORIES[sample])

    def cut_png(self, stem: str) -> None:
        array = np.random.default_rng(self.count).integers(0, 255, (300, 400, 3), np.uint8)
        buf = io.BytesIO()
        Image.fromarray(array).save(buf, "PNG")
        self._put(f"{stem}.png", buf.getvalue()[: buf.tell() * 3 // 5], "cut_png")

    def tiny(self, stem: str) -> None:
        buf = io.BytesIO()
        Image.new("RGB", (8, 6), tuple(self.rng.randrange(256) for _ in range(3))).save(buf, "PNG")
        self._put(f"{stem}.png", buf.getvalue(), "tiny")

    def hostile(self, stem: str) -> None:
        """The strip is its own thumbnail; the others replace a photo's thumbnail file."""
        name = self.hostile_names[(self.count // len(KINDS)) % len(self.hostile_names)]
        data = HOSTILE[name]()
        if name.startswith("png 16-bit strip"):
            self._put(f"{stem}.png", data, "hostile")
            return
        title = self._put(
            f"{stem}.jpg", variant(self.samples["Coffee cup.jpg"], self.count), "hostile"
        )
        url = self.client.thumb_url(title, 330)  # renders the thumbnail file
        (self.wiki.dir / "images" / url.split("/images/", 1)[1]).write_bytes(data)


def bot_pass(
    workdir: Path, env: dict, kill_after: float | None, log: Path, args: list[str] = ()
) -> dict:
    """One `bot.run --once`; SIGKILLed after `kill_after` seconds if still running.
    Returns its exit status and, when it finished, its summary."""
    with log.open("a") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot.run", "--once", *args],
            cwd=workdir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        try:
            stdout, _ = proc.communicate(timeout=kill_after)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.communicate()
            return {"returncode": proc.returncode, "killed": True}
    lines = stdout.strip().splitlines()
    summary = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else {}
    return {"returncode": proc.returncode, "killed": False, "summary": summary}


def upload_log(wiki: LocalWiki, since: str) -> dict[int, str]:
    """logid -> title of every upload since `since`, as the wiki logged them."""
    client = wiki.client(ADMIN_LOGIN, ADMIN_PASSWORD)
    events: dict[int, str] = {}
    params = dict(action="query", list="logevents", letype="upload", ledir="newer",
                  lestart=since, lelimit="max")  # fmt: skip
    while True:
        answer = client.get(**params)
        events.update({e["logid"]: e["title"] for e in answer["query"]["logevents"]})
        if "continue" not in answer:
            return events
        params.update(answer["continue"])


def check(store: Store, logged: dict[int, str], kinds: dict[str, str]) -> dict:
    """Compare the store with the wiki's upload log."""
    f, s, fl = files_table, suggestions_table, flags_table
    with store.engine.connect() as conn:
        rows = conn.execute(select(f.c.logid, f.c.title, f.c.outcome)).all()
        twice_suggested = conn.execute(
            select(s.c.title, s.c.label).group_by(s.c.title, s.c.label).having(func.count() > 1)
        ).all()
        twice_flagged = conn.execute(
            select(fl.c.title).group_by(fl.c.title).having(func.count() > 1)
        ).all()
    per_logid = Counter(r.logid for r in rows)
    outcome = {r.logid: r.outcome for r in rows}
    missing = sorted(logged[i] for i in logged if i not in per_logid)
    duplicated = sorted(logged[i] for i in logged if per_logid[i] > 1)
    duplicated += [f"suggestion {t} / {label}" for t, label in twice_suggested]
    duplicated += [f"flag {t}" for (t,) in twice_flagged]
    wrong = sorted(
        f"{title} ({kinds.get(title, 'not ours')}): {outcome[i]}"
        for i, title in logged.items()
        if i in outcome and not SENSIBLE.get(kinds.get(title), lambda o: True)(outcome[i])
    )
    by_kind: dict[str, Counter] = {}
    for i, title in logged.items():
        by_kind.setdefault(kinds.get(title, "other"), Counter())[outcome.get(i, "missing")] += 1
    return {
        "missing": missing,
        "duplicated": duplicated,
        "wrong": wrong,
        "outcomes": {k: dict(v) for k, v in by_kind.items()},
    }


def soak(
    wiki: LocalWiki,
    workdir: Path,
    uploads: int,
    kills: int,
    fault_rate: float,
    seed: int,
    store_section: dict | None = None,
    extra_env: dict | None = None,
) -> dict:
    """The soak against a running wiki, in `workdir`; returns its summary."""
    rng = random.Random(seed)
    run = f"{seed}-{int(time.time())}"
    admin = wiki.client(ADMIN_LOGIN, ADMIN_PASSWORD)
    prefix = f"User:Bot/Soak/{run}"
    kill_switch = f"User:Bot/Soak/Run/{run}"
    admin.edit(kill_switch, "true")
    rounds = kills + 1
    since = wait_next_second()
    uploader = Uploader(wiki, run, seed)
    log = workdir / "bot.log"
    started = time.monotonic()
    with FaultProxy(wiki.port, rewrite_urls=True, seed=seed) as proxy:
        sections = {
            "report": {"page_prefix": prefix, "kill_switch_page": kill_switch},
            "thumbnails": {"retries": 1, "backoff_seconds": 0.1, "timeout_seconds": TIMEOUT},
            "flags": {"enabled": True},
        }
        if store_section:
            sections["store"] = store_section
        write_bot_config(workdir / "config.toml", proxy.api_url, **sections)
        env = bot_env(workdir / "pwb", {"localwiki": wiki.port, "proxywiki": proxy.port})
        env.update(extra_env or {})
        with (workdir / "pwb" / "user-config.py").open("a") as config:
            config.write(f"socket_timeout = {TIMEOUT}\n")
        passes = []
        proxy.faults += faults(fault_rate)
        killed, i = 0, 0
        # a pass that ends before its kill moment is followed by another one to kill
        while i < rounds or (killed < kills and i < 3 * rounds):
            if i < rounds:
                uploader.upload(uploads // rounds + (i < uploads % rounds))
            kill_after = rng.uniform(2.0, 15.0) if killed < kills else None
            since_args = ["--since", since] if i == 0 else []  # then the cursor goes on
            done = bot_pass(workdir, env, kill_after, log, since_args)
            passes.append(done | {"faults": True})
            killed += done["killed"]
            i += 1
        injected = {name: len(fault.hits) for name, fault in zip(FAULTS, proxy.faults, strict=True)}
        requests = proxy.api_requests()
        proxy.faults.clear()
        for _ in range(5):  # the outage is over: retries and killed files complete
            done = bot_pass(workdir, env, None, log)
            passes.append(done | {"faults": False})
            seen = done.get("summary", {}).get("files_seen")
            if done["returncode"] == 0 and seen == 0:
                break
    config_store = store_section or {}
    url = (
        f"sqlite:///{workdir}/var/bot.sqlite"
        if not config_store
        else f"mysql+pymysql://{USER}:{PASSWORD}@127.0.0.1:{config_store['port']}/"
        f"{config_store['database']}"
    )
    result = check(Store(url), upload_log(wiki, since), uploader.kinds)
    thumbnails = [r for r in requests if "/images/" in r.params["_path"]]
    return {
        "uploads": dict(Counter(uploader.kinds.values())),
        "passes": len(passes),
        "kills": sum(p["killed"] for p in passes),
        "failed_passes": sum(not p["killed"] and p["returncode"] != 0 for p in passes),
        "requests_during_faults": len(requests),
        "thumbnail_requests_during_faults": len(thumbnails),
        "faults_injected": injected,
        "seconds": round(time.monotonic() - started, 1),
        **result,
        "counts": {k: len(result[k]) for k in ("missing", "duplicated", "wrong")},
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--uploads", type=int, default=60, help="files to upload (default 60)")
    parser.add_argument("--kills", type=int, default=3, help="passes to SIGKILL (default 3)")
    parser.add_argument(
        "--fault-rate", type=float, default=0.1, help="share of requests faulted (default 0.1)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of every random choice")
    parser.add_argument("--store", choices=("sqlite", "mariadb"), default="sqlite")
    args = parser.parse_args()
    reason = wiki_available() or (mariadb_available() if args.store == "mariadb" else None)
    if reason:
        parser.error(f"cannot run: {reason}")
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        base = Path(tmp)
        with local_services(base, with_mariadb=args.store == "mariadb") as (wiki, db):
            store = None
            extra = None
            if db:
                store = {"host": "127.0.0.1", "port": db.port, "database": db.new_database()}
                extra = dict(TOOL_TOOLSDB_USER=USER, TOOL_TOOLSDB_PASSWORD=PASSWORD)
            (base / "work").mkdir()
            summary = soak(
                wiki, base / "work", args.uploads, args.kills, args.fault_rate, args.seed,
                store, extra,
            )  # fmt: skip
    summary["store"] = args.store
    print(json.dumps(summary, indent=2))
    return 1 if any(summary["counts"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
