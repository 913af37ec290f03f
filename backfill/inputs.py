"""Thumbnail bytes from the reference the input table gives for a file.

The input table carries one of: the image bytes themselves (an `image` binary column,
the fastest, when the thumbnails were fetched beforehand), or a `thumbnail` string
that is an http(s) URL or a path on a filesystem every executor sees. A reference
that cannot be read becomes an outcome for that file, as an undecodable image does,
so one bad file never fails a Spark task (and with it thousands of good files).
"""

from __future__ import annotations

import urllib.request
from dataclasses import dataclass
from pathlib import Path

USER_AGENT = "commons-topic-bot-backfill/0.1 (https://github.com/; backfill of Commons files)"
MAX_THUMBNAIL_BYTES = 20_000_000
"""Far above a 330 px thumbnail; a larger answer is not a thumbnail."""


@dataclass(frozen=True)
class Unreadable:
    """Why a reference gave no bytes; `outcome` is what the file's row records."""

    outcome: str  # thumbnail_unreachable, thumbnail_too_large, no_thumbnail
    message: str


def read_reference(image: bytes | None, thumbnail: str | None,
                   timeout: float = 30.0) -> bytes | Unreadable:
    """The bytes of one file's thumbnail, from whichever reference it has."""
    if image is not None:
        return bytes(image)
    if not thumbnail:
        return Unreadable("no_thumbnail", "the input row has neither image bytes nor a reference")
    if thumbnail.startswith(("http://", "https://")):
        return _download(thumbnail, timeout)
    try:
        data = Path(thumbnail).read_bytes()
    except OSError as err:
        return Unreadable("thumbnail_unreachable", f"cannot read {thumbnail}: {err.strerror}")
    return data


def _download(url: str, timeout: float) -> bytes | Unreadable:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            data = response.read(MAX_THUMBNAIL_BYTES + 1)
    except OSError as err:  # URLError, HTTPError and timeouts are all OSError
        return Unreadable("thumbnail_unreachable", f"cannot download {url}: {err}")
    if len(data) > MAX_THUMBNAIL_BYTES:
        return Unreadable("thumbnail_too_large", f"{url} is over {MAX_THUMBNAIL_BYTES} bytes")
    return data
