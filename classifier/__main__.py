"""Classify images from the command line: one JSON object per image on standard output.

    python -m classifier photo.jpg https://example.org/thumb.png
    python -m classifier --all --threshold 0.3 photo.jpg

An image that cannot be read gives one JSON line with an "error" (and a line on
standard error), never a traceback; the exit status is 1 if any image failed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.request
from pathlib import Path

from classifier.artifact import ModelArtifactError
from classifier.images import DEFAULT_MAX_PIXELS, ImageError
from classifier.model import TopicModel

USER_AGENT = "commons-topic-bot-classifier/0.1 (python -m classifier)"
MAX_DOWNLOAD_BYTES = 50_000_000


class InputError(Exception):
    """A file or URL that could not be read (before any decoding)."""


def read_input(source: str, timeout: float = 30.0) -> bytes:
    """Bytes of a local file or an http(s) URL, with a size cap for downloads."""
    if source.startswith(("http://", "https://")):
        request = urllib.request.Request(source, headers={"User-Agent": USER_AGENT})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                data = response.read(MAX_DOWNLOAD_BYTES + 1)
        except OSError as err:
            raise InputError(f"cannot download: {err}") from None
        if len(data) > MAX_DOWNLOAD_BYTES:
            raise InputError(f"download exceeds {MAX_DOWNLOAD_BYTES:,} bytes")
        return data
    try:
        return Path(source).read_bytes()
    except OSError as err:
        raise InputError(f"cannot read file: {err.strerror}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m classifier",
        description="Suggest Commons topics for images (files or URLs) with a topic model.",
    )
    parser.add_argument("images", nargs="+", metavar="IMAGE_OR_URL")
    parser.add_argument("--model", type=Path, default=None,
                        help="model directory (default: the model shipped with the classifier)")
    parser.add_argument("--operating-point", default=None,
                        help="named per-label thresholds from model.json (default: the model's)")
    parser.add_argument("--threshold", type=float, default=None,
                        help="one threshold for every label instead of the operating point")
    parser.add_argument("--all", action="store_true",
                        help="print every label's probability and the time taken per step "
                        "(like Lift Wing's debug)")
    parser.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS,
                        help="refuse images larger than this many pixels (default: %(default)s)")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    try:
        model = TopicModel.load(args.model)
        model.thresholds(args.operating_point, args.threshold)  # validate before any work
    except (ModelArtifactError, ValueError) as err:
        parser.error(str(err))
    load_ms = (time.perf_counter() - start) * 1000

    failures = 0
    for source in args.images:
        fetch_start = time.perf_counter()
        try:
            data = read_input(source)
        except InputError as err:
            result: object = err
        else:
            fetch_ms = (time.perf_counter() - fetch_start) * 1000
            result = model.predict_bytes(
                [data], args.operating_point, args.threshold, max_pixels=args.max_pixels
            )[0]
        if isinstance(result, (ImageError, InputError)):
            failures += 1
            kind = getattr(result, "kind", "unreadable")
            print(f"{source}: {result}", file=sys.stderr)
            print(json.dumps({"image": source, "error": kind, "message": str(result)}))
            continue
        output = {"image": source, **result.to_dict(all_probabilities=args.all)}
        if args.all:
            output["timings_ms"] = {"load_model": round(load_ms, 1),
                                    "read": round(fetch_ms, 1), **result.timings_ms}
        print(json.dumps(output, ensure_ascii=False))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
