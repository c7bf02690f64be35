"""A source system's HTTP API on loopback, for testing fetch and poll against real sockets."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

# The shapes the product's sandbox targets (hub/sandbox/) answer in too.
from hub.sandbox.exchange import Request, Response

Handler = Callable[[Request], Response]


@dataclass
class SourceServer:
    """Routes (method, path) to handlers; records every request it saw."""

    routes: dict[tuple[str, str], Handler]
    requests: list[Request] = field(default_factory=list)
    base_url: str = ""


@contextmanager
def serve(routes: dict[tuple[str, str], Handler]) -> Iterator[SourceServer]:
    """Serves the routes on 127.0.0.1 at a free port until the block ends."""
    server_state = SourceServer(routes)

    class _Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            request = Request(
                self.command,
                parts.path,
                parse_qs(parts.query),
                dict(self.headers.items()),
                self.rfile.read(length),
            )
            server_state.requests.append(request)
            handler = server_state.routes.get((self.command, parts.path))
            response = handler(request) if handler else Response(404, {"error": "not found"})
            body = (
                response.body
                if isinstance(response.body, bytes)
                else json.dumps(response.body).encode()
            )
            self.send_response(response.status)
            headers = {"Content-Type": "application/json", **response.headers}
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = _handle

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server_state.base_url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield server_state
    finally:
        httpd.shutdown()
        httpd.server_close()
