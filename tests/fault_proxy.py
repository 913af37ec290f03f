"""A small HTTP proxy on loopback that forwards to the test wiki and injects faults.

The bot is pointed at the proxy's api.php; a rule (a Fault) meets matching requests a
given number of times, or at random with a given chance, in one of these ways:

- `status`: an HTTP error (500, or 429 with Retry-After) instead of forwarding;
- `drop`: the connection closed without an answer;
- `stall`: no answer for `delay` seconds, then the connection closed (a timeout);
- `slow`: the answer forwarded after `delay` seconds;
- `truncate`: the answer's headers promise the whole body, half of it comes, then the
  connection closes;
- `forward`: the request forwarded unchanged, after the rule's `before` has run (a
  person acting on the wiki at that very moment, such as turning the kill switch off
  while the bot saves a page).

With `rewrite_urls`, the wiki's own address in forwarded answers is replaced by the
proxy's, so the thumbnails the API points to are fetched through the proxy too. Every
request is counted, which also measures how many API requests the bot makes (the
server-side count, continuations included).
"""

from __future__ import annotations

import http.client
import random
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
    status: int = 500
    times: int = 1_000_000
    retry_after: int | None = None
    kind: str = "status"  # status, drop, stall, slow, truncate or forward
    delay: float = 0.0  # seconds, for stall and slow
    chance: float = 1.0  # of meeting a matching request
    before: Callable[[], None] | None = None  # run before the request is answered
    hits: list[float] = field(default_factory=list)  # monotonic times of injected answers


@dataclass(frozen=True)
class Seen:
    method: str
    params: dict[str, str]
    at: float


class FaultProxy:
    def __init__(self, upstream_port: int, rewrite_urls: bool = False, seed: int = 0):
        self.upstream_port = upstream_port
        self.rewrite_urls = rewrite_urls
        self.rng = random.Random(seed)
        self.faults: list[Fault] = []
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        # a client killed mid-request resets its connection: expected here, not news
        self._server.handle_error = lambda request, client_address: None
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
                if (
                    fault.times > 0
                    and fault.match(params)
                    and (fault.chance >= 1 or self.rng.random() < fault.chance)
                ):
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
                kind = fault.kind if fault else None
                if fault and fault.before:
                    fault.before()
                if kind in ("drop", "stall"):
                    time.sleep(fault.delay if kind == "stall" else 0)
                    self.close_connection = True
                    return
                if kind == "slow":
                    time.sleep(fault.delay)
                if kind == "status":
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
                if proxy.rewrite_urls:  # plain bodies, so that the addresses can be replaced
                    headers = {k: v for k, v in headers.items() if k.lower() != "accept-encoding"}
                headers["Host"] = f"127.0.0.1:{proxy.upstream_port}"
                upstream.request(method, self.path, body=body or None, headers=headers)
                response = upstream.getresponse()
                data = response.read()
                upstream.close()
                if proxy.rewrite_urls:
                    data = data.replace(
                        f"127.0.0.1:{proxy.upstream_port}".encode(),
                        f"127.0.0.1:{proxy.port}".encode(),
                    )
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in HOP_HEADERS:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if kind == "truncate":
                    self.wfile.write(data[: len(data) // 2])
                    self.close_connection = True
                    return
                self.wfile.write(data)

        return Handler
