"""Thumbnail downloads: the server-rendered image at a standard width, never the original.

Retries are urllib3's `Retry` (exponential backoff, and `Retry-After` honoured on 429
and 503, but never for longer than `max_retry_after_seconds`), not a hand-written loop.
Every download has a deadline (the caller's per-file budget): the body is read as it
arrives and the download gives up when the deadline passes, so a server that drips one
byte a second cannot hold a pass. The byte cap is enforced while streaming, so a server
that lies about Content-Length cannot make the bot read more than the cap, and a
Content-Length that is not a number is ignored rather than trusted. Redirects are
followed only to the host the thumbnail URL names. A failure is returned as a
`ThumbnailError` value whose `kind` becomes the file's recorded outcome.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.util import Retry

from bot.config import ThumbnailConfig

RETRY_STATUSES = (429, 500, 502, 503, 504)
READ_SIZE = 64 * 1024


@dataclass(frozen=True)
class ThumbnailError:
    """Why no thumbnail bytes: `kind` is a short outcome name, `message` the detail."""

    # thumbnail_http_error, thumbnail_too_large, thumbnail_unreachable, thumbnail_timeout,
    # thumbnail_redirect_refused
    kind: str
    message: str


class RedirectRefused(requests.RequestException):
    """A redirect to another host than the thumbnail URL's."""


def _same_host_only(response: requests.Response, *args: object, **kwargs: object) -> None:
    """A response hook: refuse a redirect whose target leaves the requested host."""
    if not response.is_redirect:
        return
    target = urljoin(response.url, response.headers["Location"])
    here, there = urlsplit(response.url), urlsplit(target)
    if (here.scheme, here.netloc) != (there.scheme, there.netloc):
        raise RedirectRefused(f"redirect from {here.netloc} to {there.netloc} refused")


def _declared_length(response: requests.Response) -> int | None:
    value = response.headers.get("Content-Length", "").strip()
    return int(value) if value.isdigit() else None


class ThumbnailFetcher:
    """Downloads thumbnails over one pooled HTTP session."""

    def __init__(self, config: ThumbnailConfig, user_agent: str):
        self.config = config
        retry = Retry(
            total=config.retries,
            backoff_factor=config.backoff_seconds,
            backoff_max=config.max_retry_after_seconds,
            retry_after_max=config.max_retry_after_seconds,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=("GET",),
            respect_retry_after_header=True,
            raise_on_status=False,  # the last answer's status becomes the outcome
        )
        self.session = requests.Session()
        self.session.headers["User-Agent"] = user_agent
        self.session.hooks["response"].append(_same_host_only)
        adapter = HTTPAdapter(max_retries=retry)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def fetch(self, url: str, deadline: float | None = None) -> bytes | ThumbnailError:
        """The thumbnail's bytes, or why not. `deadline` (a `time.monotonic()` value;
        default: `file_budget_seconds` from now) ends a download still going then."""
        cap = self.config.max_bytes
        if deadline is None:
            deadline = time.monotonic() + self.config.file_budget_seconds
        try:
            with self.session.get(
                url, stream=True, timeout=self.config.timeout_seconds
            ) as response:
                if response.status_code != 200:
                    return ThumbnailError(
                        "thumbnail_http_error", f"HTTP {response.status_code} for {url}"
                    )
                declared = _declared_length(response)
                if declared is not None and declared > cap:
                    return ThumbnailError(
                        "thumbnail_too_large", f"{declared} bytes declared, cap is {cap}"
                    )
                body = bytearray()
                while chunk := response.raw.read1(READ_SIZE, decode_content=True):
                    body += chunk
                    if len(body) > cap:
                        return ThumbnailError(
                            "thumbnail_too_large", f"more than {cap} bytes, cap is {cap}"
                        )
                    if time.monotonic() > deadline:
                        return ThumbnailError(
                            "thumbnail_timeout",
                            f"download still going at its deadline ({len(body):,} bytes read)",
                        )
                return bytes(body)
        except RedirectRefused as err:
            return ThumbnailError("thumbnail_redirect_refused", str(err))
        except (requests.RequestException, Urllib3Error) as err:  # urllib3's: while streaming
            return ThumbnailError("thumbnail_unreachable", f"{type(err).__name__}: {err}")

    def close(self) -> None:
        self.session.close()
