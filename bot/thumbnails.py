"""Thumbnail downloads: the server-rendered image at a standard width, never the original.

Retries are urllib3's `Retry` (exponential backoff, and `Retry-After` honoured on 429
and 503), not a hand-written loop. The byte cap is enforced while streaming, so a
server that lies about Content-Length cannot make the bot read more than the cap.
A failure is returned as a `ThumbnailError` value whose `kind` becomes the file's
recorded outcome.
"""

from __future__ import annotations

from dataclasses import dataclass

import requests
from requests.adapters import HTTPAdapter
from urllib3.util import Retry

from bot.config import ThumbnailConfig

RETRY_STATUSES = (429, 500, 502, 503, 504)


@dataclass(frozen=True)
class ThumbnailError:
    """Why no thumbnail bytes: `kind` is a short outcome name, `message` the detail."""

    kind: str  # thumbnail_http_error, thumbnail_too_large, thumbnail_unreachable
    message: str


class ThumbnailFetcher:
    """Downloads thumbnails over one pooled HTTP session."""

    def __init__(self, config: ThumbnailConfig, user_agent: str):
        self.config = config
        retry = Retry(
            total=config.retries,
            backoff_factor=config.backoff_seconds,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=("GET",),
            respect_retry_after_header=True,
            raise_on_status=False,  # the last answer's status becomes the outcome
        )
        self.session = requests.Session()
        self.session.headers["User-Agent"] = user_agent
        adapter = HTTPAdapter(max_retries=retry)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def fetch(self, url: str) -> bytes | ThumbnailError:
        cap = self.config.max_bytes
        try:
            with self.session.get(
                url, stream=True, timeout=self.config.timeout_seconds
            ) as response:
                if response.status_code != 200:
                    return ThumbnailError(
                        "thumbnail_http_error", f"HTTP {response.status_code} for {url}"
                    )
                declared = int(response.headers.get("Content-Length") or 0)
                if declared > cap:
                    return ThumbnailError(
                        "thumbnail_too_large", f"{declared} bytes declared, cap is {cap}"
                    )
                body = bytearray()
                for chunk in response.iter_content(chunk_size=64 * 1024):
                    body += chunk
                    if len(body) > cap:
                        return ThumbnailError(
                            "thumbnail_too_large", f"more than {cap} bytes, cap is {cap}"
                        )
                return bytes(body)
        except requests.RequestException as err:
            return ThumbnailError("thumbnail_unreachable", f"{type(err).__name__}: {err}")

    def close(self) -> None:
        self.session.close()
