"""A small HTTP proxy on loopback that forwards to the test wiki and injects faults.

The bot is pointed at the proxy's api.php; a rule answers matching requests with an
HTTP error (500, or 429 with Retry-After) instead of forwarding them, a given number
of times. Every request is counted, which also measures how many API requests the bot
makes (the server-side count, continuations included).
"""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "host", "content-length"}


@dataclass
class Fault:
    """Answer requests whose parameters satisfy `match` with `status`, `times` times."""

    match: Callable[[dict[str, str]], bool]
    status: int
    times: int = 1_000_000
    retry_after: int | None = None
    hits: list[float] = field(default_factory=list)  # monotonic times of injected answers


@dataclass(frozen=True)
class Seen:
    method: str
    params: dict[str, str]
    at: float


class FaultProxy:
    def __init__(self, upstream_port: int):
        self.upstream_port = upstream_port
        self.faults: list[Fault] = []
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self._server.server_address[1]
        self.api_url = f"http://127.0.0.1:{self.port}/api.php"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def api_requests(self, since: float = 0.0) -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if s.at >= since]

    def _fault_for(self, params: dict[str, str]) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.times > 0 and fault.match(params):
                    fault.times -= 1
                    fault.hits.append(time.monotonic())
                    return fault
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:
                self._relay("GET")

            def do_POST(self) -> None:
                self._relay("POST")

            def _relay(self, method: str) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                url = urlsplit(self.path)
                params = {k: v[0] for k, v in parse_qs(url.query).items()}
                params["_path"] = url.path  # so a fault can match a thumbnail URL too
                if "x-www-form-urlencoded" in self.headers.get("Content-Type", ""):
                    params.update({k: v[0] for k, v in parse_qs(body.decode()).items()})
                with proxy._lock:
                    proxy.seen.append(Seen(method, params, time.monotonic()))
                fault = proxy._fault_for(params)
                if fault is not None:
                    payload = f"<html><body>injected HTTP {fault.status}</body></html>".encode()
                    self.send_response(fault.status)
                    if fault.retry_after is not None:
                        self.send_header("Retry-After", str(fault.retry_after))
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                upstream = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=120)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
                headers["Host"] = f"127.0.0.1:{proxy.upstream_port}"
                upstream.request(method, self.path, body=body or None, headers=headers)
                response = upstream.getresponse()
                data = response.read()
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in HOP_HEADERS:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                upstream.close()

        return Handler
