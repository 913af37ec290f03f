"""Benchmark the classifier runtime on this machine (prints numbers; asserts nothing).

    .venv/bin/python scripts/benchmark_classifier.py [--model DIR] [--float-model DIR]

Measures, for one thread on one core:
- end to end: encoded JPEG thumbnail bytes -> decode + resize -> inference -> labels;
- inference alone (graph, and the face detector and head where the model has them), on
  images decoded and prepared beforehand; the face detector alone;
- the same for the float model built beside the int8 one (runs/default-model/float,
  made by `python -m training.build_default_model`), if present;
- startup to the first prediction, and peak RSS, each in a fresh process.

The inputs are the real photos that ship in packages, re-encoded as 330 px wide JPEGs
(one of Commons' standard thumbnail widths), since the bot classifies thumbnails.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from classifier.artifact import DEFAULT_MODEL_DIR  # noqa: E402
from classifier.images import decode_image  # noqa: E402
from classifier.model import TopicModel  # noqa: E402
from training.sample_images import package_photos  # noqa: E402

THUMB_WIDTH = 330

# Run in a fresh interpreter: time from start to the first prediction, and peak RSS
# after classifying every image end to end.
_CHILD = """
import time, sys, json
t0 = time.perf_counter()
from classifier.model import TopicModel
model = TopicModel.load(sys.argv[1] if sys.argv[1] != '-' else None)
paths = sys.argv[2:]
first = open(paths[0], 'rb').read()
model.predict_bytes([first])
startup = time.perf_counter() - t0
for p in paths:
    model.predict_bytes([open(p, 'rb').read()])
# VmHWM is this process's own peak; ru_maxrss can carry over the parent's across exec.
hwm = next(l for l in open('/proc/self/status') if l.startswith('VmHWM'))
print(json.dumps({"startup_s": startup, "peak_rss_mb": int(hwm.split()[1]) / 1024}))
"""


def thumbnails() -> list[bytes]:
    out = []
    for data in package_photos().values():
        image = Image.open(io.BytesIO(data)).convert("RGB")
        height = max(1, round(image.height * THUMB_WIDTH / image.width))
        buffer = io.BytesIO()
        image.resize((THUMB_WIDTH, height), Image.Resampling.LANCZOS).save(
            buffer, format="JPEG", quality=85
        )
        out.append(buffer.getvalue())
    return out


def rate(fn, items, repeats: int) -> float:
    """Items per second, best of `repeats` passes (the least disturbed by other load)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for item in items:
            fn(item)
        best = min(best, time.perf_counter() - start)
    return len(items) / best


def measure(model_dir: Path, images: list[bytes], repeats: int) -> dict:
    model = TopicModel.load(model_dir, num_threads=1)

    def prepare(data: bytes):
        """Decode once, then every input size the model reads (as predict_bytes does)."""
        pixels, boxed = model.prepare(decode_image(data, min_size=max(model.input_sizes)))
        return pixels[None], None if boxed is None else boxed[None]

    prepared = [prepare(data) for data in images]
    model.predict_bytes(images[:3])  # warm-up
    end_to_end = rate(lambda data: model.predict_bytes([data]), images, repeats)
    inference = rate(lambda p: model.predict_arrays(*p), prepared, repeats)
    decode = rate(prepare, images, repeats)
    detector = {}
    if model.face_detector is not None:
        face = rate(lambda p: model.face_signals(p[1]), prepared, repeats)
        detector = {"face_detector_ms": round(1000 / face, 2)}
    return {
        **detector,
        "end_to_end_images_per_s_per_core": round(end_to_end, 1),
        "inference_images_per_s_per_core": round(inference, 1),
        "preprocess_images_per_s_per_core": round(decode, 1),
        "end_to_end_ms": round(1000 / end_to_end, 2),
        "inference_ms": round(1000 / inference, 2),
        "end_to_end_over_inference": round(inference / end_to_end, 2),
    }


def fresh_process(model_dir: Path, paths: list[str], runs: int) -> dict:
    results = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", _CHILD, str(model_dir), *paths],
            cwd=ROOT, capture_output=True, text=True, check=True,
        )
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {
        "startup_to_first_prediction_s": round(
            statistics.median(r["startup_s"] for r in results), 3
        ),
        "peak_rss_mb": round(max(r["peak_rss_mb"] for r in results), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_DIR)
    parser.add_argument("--float-model", type=Path, default=ROOT / "runs/default-model/float")
    parser.add_argument("--repeats", type=int, default=3, help="passes; the best is kept")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args()

    images = thumbnails()
    tmp = ROOT / "runs" / "benchmark-thumbs"
    tmp.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, data in enumerate(images):
        path = tmp / f"{i:03d}.jpg"
        path.write_bytes(data)
        paths.append(str(path))
    print(f"{len(images)} JPEG thumbnails, {THUMB_WIDTH} px wide, "
          f"mean {np.mean([len(d) for d in images]) / 1024:.0f} KiB")

    report = {"images": len(images), "int8": measure(args.model, images, args.repeats)}
    report["int8"].update(fresh_process(args.model, paths, runs=3))
    if (args.float_model / "model.tflite").is_file():
        report["float"] = measure(args.float_model, images, args.repeats)
        report["int8_speedup_over_float_inference"] = round(
            report["int8"]["inference_images_per_s_per_core"]
            / report["float"]["inference_images_per_s_per_core"], 2
        )
    else:
        print(f"no float model at {args.float_model}: run python -m training.build_default_model")
    for kind in ("int8", "float"):
        for key, value in report.get(kind, {}).items():
            print(f"{kind:6s} {key:38s} {value}")
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
