"""A target system's HTTP API on loopback, for testing the outbound writers against sockets.

Each target's server (quickbooks.py, xero.py, sharepoint.py beside this) subclasses
LoopbackApi: it routes by method and path pattern, keeps what it is given, and answers in the
target's own shapes. `throttle()` makes the next requests answer 429 (or 503) with Retry-After,
before the request reaches the target's logic, as a rate limiter in front of the API would.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, unquote, urlsplit

import httpx

from adapters.target_answers import wire
from hub.sandbox.exchange import Request, Response

Route = tuple[str, re.Pattern[str], Callable[..., Response]]


class LoopbackApi:
    """Serves `routes` on 127.0.0.1 at a free port while used as a context manager."""

    token = "loopback-token"  # noqa: S105 (the sandbox's own token, not a secret)

    def __init__(self) -> None:
        self.lock = threading.Lock()  # handlers run on the server's threads
        self.requests: list[Request] = []
        self.base_url = ""
        self._throttles: list[tuple[int, str]] = []
        self._httpd: ThreadingHTTPServer | None = None

    def routes(self) -> list[Route]:
        """(method, path pattern, handler(request, **groups)) the API serves."""
        raise NotImplementedError

    def throttled(self, status: int) -> Any:
        """The target's body for a throttled request."""
        raise NotImplementedError

    def unauthorised(self) -> Response:
        """The target's answer to a missing or wrong bearer token."""
        raise NotImplementedError

    def throttle(self, times: int = 1, *, retry_after: str = "7", status: int = 429) -> None:
        """Answers the next `times` requests with `status` and that Retry-After."""
        with self.lock:
            self._throttles.extend([(status, retry_after)] * times)

    def unthrottle(self) -> None:
        """The target answers again (the throttled requests not yet answered are forgotten)."""
        with self.lock:
            self._throttles.clear()

    def seen(self, method: str, pattern: str) -> int:
        """How many requests of that method had a path matching the pattern."""
        return sum(1 for r in self.requests if r.method == method and re.fullmatch(pattern, r.path))

    def answer(self, request: Request) -> Response:
        with self.lock:
            self.requests.append(request)
            if self._throttles:
                status, retry_after = self._throttles.pop(0)
                return Response(status, self.throttled(status), {"Retry-After": retry_after})
            if request.headers.get("Authorization") != f"Bearer {self.token}":
                return self.unauthorised()
            for method, pattern, handler in self.routes():
                found = pattern.fullmatch(request.path) if method == request.method else None
                if found:
                    return handler(request, **found.groupdict())
        return Response(404, {"message": f"no route for {request.method} {request.path}"})

    def __enter__(self) -> Self:
        api = self

        class _Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(
                    self.command,
                    unquote(parts.path),
                    parse_qs(parts.query),
                    # Names in any case, as HTTP has them (Xero-tenant-id is Xero-Tenant-Id).
                    httpx.Headers(list(self.headers.items())),
                    self.rfile.read(length),
                )
                response = api.answer(request)
                body = (
                    response.body
                    if isinstance(response.body, bytes)
                    else b""
                    if response.body is None
                    else wire(response.body, frozenset())
                )
                self.send_response(response.status)
                for name, value in {"Content-Type": "application/json", **response.headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.base_url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._httpd is not None
        self._httpd.shutdown()
        self._httpd.server_close()


def json_of(request: Request) -> Any:
    """The request's JSON with numbers as Decimal (as the targets read money), or None."""
    try:
        return json.loads(request.body or b"null", parse_float=Decimal)
    except ValueError:
        return None


def is_number(value: Any) -> bool:
    """A JSON number (the targets refuse amounts sent as anything else)."""
    return isinstance(value, (int, Decimal)) and not isinstance(value, bool)
