"""A downstream target's HTTP API on loopback: a handler per request, every request kept,
failures injectable (the next answers, or the whole target down), stoppable and restartable
on the same port."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Answer:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class Ids:
    """Increasing ids from `start`: a plain counter, so that a target's state can be kept
    (hub/sandbox/running.py) and the ids go on where they stopped."""

    def __init__(self, start: int) -> None:
        self.next = start

    def __next__(self) -> int:
        value, self.next = self.next, self.next + 1
        return value


class TargetServer:
    """Serves `handle` on 127.0.0.1; `injected` answers come first, `down` answers 503."""

    def __init__(self, handle: Callable[[Request], Answer]) -> None:
        self.handle = handle
        self.requests: list[Request] = []
        self.injected: deque[Answer] = deque()
        self.down = False
        self.delay = 0.0  # seconds each answer takes (a slow target)
        self.port = 0
        self._httpd: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> TargetServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(
                    self.command,
                    parts.path,
                    parse_qs(parts.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length),
                )
                if server.delay:
                    time.sleep(server.delay)
                with server._lock:  # one at a time: the targets' stores are plain dicts
                    server.requests.append(request)
                    if server.down:
                        answer = Answer(503, {"message": "down"}, {"Retry-After": "0"})
                    elif server.injected:
                        answer = server.injected.popleft()
                    else:
                        answer = server.handle(request)
                body = b"" if answer.body is None else json.dumps(answer.body).encode()
                self.send_response(answer.status)
                for name, value in {"Content-Type": "application/json", **answer.headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._httpd.allow_reuse_address = True
        self.port = self._httpd.server_address[1]
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stops listening (connections are refused) until `start` again, same port."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
