"""Benchmark the bot's decoding on hostile images (prints numbers; asserts nothing).

    .venv/bin/python scripts/benchmark_hostile_images.py [--max-decoded-bytes N] [--budget S]

Each file of the battery in tests/hostile_images.py (a 16-bit 330 x 150,000 strip, a
49 MP palette PNG with tRNS, a 7000 x 7000 GIF, an int32 TIFF, a 16383 x 3000 WebP, a
progressive-JPEG scan bomb, an ICO that embeds a 12000 x 12000 PNG), then files just
under the bot's caps, then an ordinary 330 px thumbnail, goes through the bot's own path
(bot.thumbnail_pixels.classify_thumbnail: one decode, the classifier and the flag
features) in a fresh process with the default model loaded. Printed per file: the
outcome, the wall time of that call, and the process's peak RSS (VmHWM: the model and
libraries included; "baseline" is the same process's peak before the image).
Targets (issue 15): under 250 MB and 2 s per file. With --budget, each call gets the
bot's per-file deadline that many seconds after it starts: a file slower than that ends
as "file_timeout" once the decoder has been stopped.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.config import ThumbnailConfig  # noqa: E402
from tests.hostile_images import HOSTILE, NEAR_CAP  # noqa: E402
from tests.wiki_fixtures import sample_images  # noqa: E402

CHILD = r"""
import json, sys, time
from classifier.images import ImageError, ImageTimeoutError
from classifier.model import TopicModel
from bot.thumbnail_pixels import classify_thumbnail

def rss_mb():  # VmHWM: this process's peak; ru_maxrss would inherit the parent's
    status = open("/proc/self/status").read()
    return int(status.split("VmHWM:")[1].split()[0]) / 1024

model = TopicModel.load()
baseline = rss_mb()
data = open(sys.argv[1], "rb").read()
budget = float(sys.argv[3])
start = time.perf_counter()
try:
    result = classify_thumbnail(data, model, model.default_operating_point, int(sys.argv[2]),
                                deadline=time.monotonic() + budget if budget else None)
    outcome = "classified: " + ", ".join(result.prediction.predictions[:3])
except ImageTimeoutError:
    outcome = f"file_timeout: stopped while decoding (budget {budget:g} s)"
except ImageError as err:
    outcome = f"image_{err.kind}: {err}"
seconds = time.perf_counter() - start
print(json.dumps({"outcome": outcome, "seconds": seconds, "peak_mb": rss_mb(),
                  "baseline_mb": baseline}))
"""


def thumbnail_330() -> bytes:
    """An ordinary thumbnail: a package photo at Commons' 330 px step width, as JPEG."""
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(sample_images()["Chelsea the cat.jpg"]))
    image = image.resize((330, round(image.height * 330 / image.width)))
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=87)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--max-decoded-bytes",
        type=int,
        default=ThumbnailConfig.max_decoded_bytes,
        help="the decoding cap to use (default: the bot's, %(default)s)",
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=0.0,
        help="seconds each file may take, as the bot's [thumbnails] file_budget_seconds "
        "(default: 0, no deadline)",
    )
    args = parser.parse_args()
    battery = [("hostile", n, f) for n, f in HOSTILE.items()]
    battery += [("under the caps", n, f) for n, f in NEAR_CAP.items()]
    battery.append(("ordinary", "jpeg 330 px thumbnail", thumbnail_330))
    print(
        f"{'group':<15} {'file':<46} {'bytes':>10} {'s':>6} {'peak MB':>8} {'baseline':>8}"
        "  outcome"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for group, name, make in battery:
            data = make()
            path = Path(tmp) / "image"
            path.write_bytes(data)
            done = subprocess.run(
                [sys.executable, "-c", CHILD, str(path), str(args.max_decoded_bytes)]
                + [str(args.budget)],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=600,
            )
            if done.returncode != 0:
                print(f"{group:<15} {name:<46} {len(data):>10,} died: {done.stderr[-300:]}")
                continue
            r = json.loads(done.stdout.strip().splitlines()[-1])
            print(
                f"{group:<15} {name:<46} {len(data):>10,} {r['seconds']:>6.2f} "
                f"{r['peak_mb']:>8.0f} {r['baseline_mb']:>8.0f}  {r['outcome'][:80]}"
            )


if __name__ == "__main__":
    main()
