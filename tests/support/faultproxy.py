"""A fault-injecting HTTP proxy on loopback, for registries whose client is not Python (obstore) or not boto3.

It forwards every request to the emulator behind it, records each one, and counts the writes (every
method but GET and HEAD); `at=0` never holds one, for counting only. Before the Nth write it writes `marker` and holds the request: when `go` appears it
forwards it (a stall), and when the client hangs up first it drops it (the writer was killed before
that write reached the store). That is where the sitecustomize hook stops a local or boto3
publisher, seen from the wire instead of from inside the process.
"""

from __future__ import annotations

import http.client
import select
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}
_HOLD_SECONDS = 300


class FaultProxy:
    """`with FaultProxy(upstream, at=3, marker=..., go=...) as proxy:` then point the client at proxy.url."""

    def __init__(self, upstream: str, *, at: int, marker: Path, go: Path | None = None) -> None:
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self.at = at
        self.marker = marker
        self.go = go
        self.writes = 0
        self.requests: list[tuple[str, str]] = []  # (method, path and query) of every request, in order
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _should_hold(self, method: str) -> bool:
        if method in ("GET", "HEAD"):
            return False
        with self._lock:
            self.writes += 1
            return self.writes == self.at

    def _hold(self, handler: BaseHTTPRequestHandler, what: str) -> bool:
        """True to forward (go appeared), False when the client went away first."""
        self.marker.write_text(what)
        deadline = time.monotonic() + _HOLD_SECONDS
        while time.monotonic() < deadline:
            if self.go is not None and self.go.exists():
                return True
            readable, _, _ = select.select([handler.connection], [], [], 0.01)
            if readable and not handler.connection.recv(1, 0x2):  # MSG_PEEK: b"" is a hang-up
                return False
        return False

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with proxy._lock:
                    proxy.requests.append((self.command, self.path))
                if proxy._should_hold(self.command) and not proxy._hold(self, f"{self.command} {self.path}"):
                    self.close_connection = True
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                headers["Host"] = f"{proxy.upstream_host}:{proxy.upstream_port}"
                upstream = http.client.HTTPConnection(proxy.upstream_host, proxy.upstream_port, timeout=60)
                try:
                    upstream.request(self.command, self.path, body=body or None, headers=headers)
                    response = upstream.getresponse()
                    data = response.read()
                finally:
                    upstream.close()
                self.send_response(response.status, response.reason)
                for name, value in response.getheaders():
                    if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length":
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = do_PATCH = _forward

        return Handler
