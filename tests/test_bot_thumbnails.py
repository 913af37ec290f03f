"""Thumbnail downloads from the local wiki through a fault-injecting proxy: retries that
honour Retry-After, HTTP errors and the byte cap become values, never exceptions."""

from __future__ import annotations

import time

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
