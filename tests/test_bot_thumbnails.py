"""Thumbnail downloads from the local wiki through a fault-injecting proxy: retries that
honour Retry-After (capped), HTTP errors and the byte cap become values, never
exceptions; a dripping server meets the deadline, redirects stay on the host."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot.config import ThumbnailConfig
from bot.thumbnails import ThumbnailError, ThumbnailFetcher
from tests.fault_proxy import Fault, FaultProxy

pytestmark = pytest.mark.integration


@pytest.fixture
def thumb_path(wiki, uploaded) -> str:
    url = wiki.client().thumb_url("File:Chelsea the cat.jpg", 330)
    return "/images/" + url.split("/images/", 1)[1]


def _fetcher(**kwargs) -> ThumbnailFetcher:
    config = ThumbnailConfig(**{"retries": 2, "backoff_seconds": 0.1, **kwargs})
    return ThumbnailFetcher(config, "commons-topic-bot-tests/0.1")


def test_retry_after_is_honoured_then_the_thumbnail_arrives(wiki, thumb_path):
    with FaultProxy(wiki.port) as proxy:
        fault = Fault(lambda p: p["_path"] == thumb_path, 429, times=1, retry_after=1)
        proxy.faults.append(fault)
        started = time.monotonic()
        data = _fetcher().fetch(f"http://127.0.0.1:{proxy.port}{thumb_path}")
        assert isinstance(data, bytes) and data[:2] == b"\xff\xd8"
        assert time.monotonic() - started >= 0.9 and len(fault.hits) == 1


def test_server_errors_and_missing_thumbnails_become_outcomes(wiki, thumb_path):
    with FaultProxy(wiki.port) as proxy:
        proxy.faults.append(Fault(lambda p: p["_path"] == thumb_path, 500))
        result = _fetcher().fetch(f"http://127.0.0.1:{proxy.port}{thumb_path}")
        assert isinstance(result, ThumbnailError) and result.kind == "thumbnail_http_error"
        assert len(proxy.faults[0].hits) == 3  # the first try and two retries
    missing = _fetcher().fetch(f"http://127.0.0.1:{wiki.port}/images/nope/nope.jpg")
    assert isinstance(missing, ThumbnailError) and "HTTP 404" in missing.message
    closed = _fetcher(timeout_seconds=2).fetch("http://127.0.0.1:9/x.jpg")
    assert isinstance(closed, ThumbnailError) and closed.kind == "thumbnail_unreachable"


def test_byte_cap(wiki, thumb_path):
    result = _fetcher(max_bytes=1000).fetch(f"http://127.0.0.1:{wiki.port}{thumb_path}")
    assert isinstance(result, ThumbnailError) and result.kind == "thumbnail_too_large"


class HostileServer:
    """A stand-in for a misbehaving thumbnail server (a fake: the local wiki cannot be
    made to drip bytes or lie in its headers). `body` is a real thumbnail of the wiki.

    /drip: one byte every 0.2 s; /bad-length: `Content-Length: abc`; /to-other-host: a
    redirect to the wiki under another host name; /to-same-host: a redirect to /plain."""

    def __init__(self, body: bytes, wiki_url: str):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - the http.server name
                if self.path == "/drip":
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    for byte in body[:100]:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(0.2)
                elif self.path == "/bad-length":
                    self.send_response(200)
                    self.send_header("Content-Length", "abc")
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(body)
                    self.close_connection = True
                elif self.path in ("/to-other-host", "/to-same-host"):
                    target = wiki_url if self.path == "/to-other-host" else server.url("/plain")
                    self.send_response(302)
                    self.send_header("Location", target)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                else:
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def hostile(wiki, thumb_path):
    body = _fetcher().fetch(f"http://127.0.0.1:{wiki.port}{thumb_path}")
    assert isinstance(body, bytes)
    # the wiki under another name for the same address: a different host to the fetcher
    server = HostileServer(body, f"http://localhost:{wiki.port}{thumb_path}")
    yield server, body
    server.close()


def test_a_dripping_download_ends_at_its_deadline(hostile):
    """One byte every 0.2 s never trips the 5 s read timeout; the deadline ends it."""
    server, _ = hostile
    started = time.monotonic()
    result = _fetcher(timeout_seconds=5).fetch(server.url("/drip"), deadline=started + 2)
    assert isinstance(result, ThumbnailError) and result.kind == "thumbnail_timeout"
    assert 2 <= time.monotonic() - started < 3.5


def test_a_long_retry_after_is_capped(wiki, thumb_path):
    with FaultProxy(wiki.port) as proxy:
        slow = Fault(lambda p: p["_path"] == thumb_path, 429, times=1, retry_after=3600)
        proxy.faults.append(slow)
        started = time.monotonic()
        fetcher = _fetcher(max_retry_after_seconds=1)
        data = fetcher.fetch(f"http://127.0.0.1:{proxy.port}{thumb_path}")
        assert isinstance(data, bytes) and time.monotonic() - started < 10


def test_redirects_stay_on_the_thumbnail_host(hostile):
    server, body = hostile
    other = _fetcher().fetch(server.url("/to-other-host"))
    assert isinstance(other, ThumbnailError) and other.kind == "thumbnail_redirect_refused"
    assert "to localhost:" in other.message
    assert _fetcher().fetch(server.url("/to-same-host")) == body


def test_a_content_length_that_is_not_a_number_is_ignored(hostile):
    server, body = hostile
    assert _fetcher().fetch(server.url("/bad-length")) == body
    capped = _fetcher(max_bytes=1000).fetch(server.url("/bad-length"))
    assert isinstance(capped, ThumbnailError) and capped.kind == "thumbnail_too_large"
