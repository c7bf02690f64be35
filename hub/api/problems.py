"""RFC 9457 problem+json answers, each with the contract's reason code."""

from __future__ import annotations

import logging
from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg import OperationalError as PsycopgOperationalError
from psycopg_pool import PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain.errors import DomainError
from hub.contracts.common import REASON_BY_ERROR_TYPE
from hub.errors import ConflictError, HubError, NotFoundError, UnknownReferenceError

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    409: "Conflict",
    410: "Gone",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}

# Reason codes for statuses that carry no more specific one.
_DEFAULT_REASON = {
    400: "MALFORMED_PAYLOAD",
    401: "FORBIDDEN",
    403: "FORBIDDEN",
    404: "UNKNOWN_AGGREGATE",
    405: "SCHEMA_VIOLATION",
    406: "SCHEMA_VIOLATION",
    409: "DUPLICATE",
    410: "UNKNOWN_AGGREGATE",
    413: "PAYLOAD_TOO_LARGE",
    415: "MALFORMED_PAYLOAD",
    422: "SCHEMA_VIOLATION",
    429: "RATE_LIMITED",
    503: "UNAVAILABLE",
    500: "INTERNAL",
}


class Problem(Exception):
    """An HTTP refusal carried up to the handler (routes raise it; it is never a 500)."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        reason: str | None = None,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.reason = reason or _DEFAULT_REASON.get(status, "SCHEMA_VIOLATION")
        self.errors = errors
        self.headers = headers
        self.extra = extra


def problem_response(problem: Problem, instance: str = "") -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"urn:pshub:problem:{problem.reason}",
        "title": _TITLES.get(problem.status, "Error"),
        "status": problem.status,
        "detail": problem.detail,
        "reason": problem.reason,
    }
    if instance:
        body["instance"] = instance
    if problem.errors:
        body["errors"] = problem.errors
    if problem.extra:
        body.update(problem.extra)
    return JSONResponse(
        body, status_code=problem.status, headers=problem.headers, media_type=PROBLEM_JSON
    )


def _field_path(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def from_validation_error(exc: RequestValidationError) -> Problem:
    """Turns a request validation error into 400 (unparseable JSON) or 422 with field errors."""
    errors = []
    reasons = []
    for error in exc.errors():
        kind = str(error.get("type", ""))
        reason = REASON_BY_ERROR_TYPE.get(kind, "SCHEMA_VIOLATION")
        if kind == "extra_forbidden":
            rule = "unknown_field"
        elif kind == "missing" and _field_path(error.get("loc", ())).endswith("id"):
            rule, reason = "required", "MISSING_REQUIRED_ID"
        else:
            rule = kind
        reasons.append(reason)
        errors.append(
            {
                "field": _field_path(tuple(error.get("loc", ()))),
                "rule": rule,
                "message": str(error.get("msg", "")),
            }
        )
    if "MALFORMED_PAYLOAD" in reasons:
        return Problem(
            400, "the body is not well-formed JSON", reason="MALFORMED_PAYLOAD", errors=errors
        )
    # The most specific reason wins; SCHEMA_VIOLATION only when nothing else applies.
    specific = [r for r in reasons if r != "SCHEMA_VIOLATION"]
    reason = specific[0] if specific else "SCHEMA_VIOLATION"
    return Problem(422, "the request does not satisfy the contract", reason=reason, errors=errors)


def from_domain_error(exc: DomainError) -> Problem:
    errors = [
        {
            "field": exc.field or "body",
            "rule": exc.rule or exc.reason.lower(),
            "message": exc.message,
        }
    ]
    return Problem(
        422,
        exc.message,
        reason=exc.reason,
        errors=errors,
        extra={"rule": exc.rule} if exc.rule else None,
    )


def from_hub_error(exc: HubError) -> Problem:
    status = (
        409 if isinstance(exc, ConflictError) else 404 if isinstance(exc, NotFoundError) else 422
    )
    reason = (
        "UNKNOWN_AGGREGATE"
        if isinstance(exc, NotFoundError | UnknownReferenceError)
        else (exc.reason)
    )
    errors = (
        [{"field": exc.field, "rule": exc.rule or reason.lower(), "message": exc.message}]
        if exc.field
        else None
    )
    return Problem(status, exc.message, reason=reason, errors=errors)


# The store could not be reached: 503, whoever raised it.
UNAVAILABLE = (OperationalError, InterfaceError, PsycopgOperationalError, PoolTimeout)


def install(app: FastAPI) -> None:
    """Registers the handlers that turn every refusal into problem+json."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc, request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem_response(from_validation_error(exc), request.url.path)

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        return problem_response(from_domain_error(exc), request.url.path)

    @app.exception_handler(HubError)
    async def _hub(request: Request, exc: HubError) -> JSONResponse:
        return problem_response(from_hub_error(exc), request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem_response(
            Problem(exc.status_code, str(exc.detail), headers=getattr(exc, "headers", None)),
            request.url.path,
        )

    async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
        log.warning("store unavailable on %s: %s", request.url.path, exc)
        return problem_response(
            Problem(503, "the store is unavailable; retry later", headers={"Retry-After": "1"}),
            request.url.path,
        )

    for kind in UNAVAILABLE:
        app.add_exception_handler(kind, _unavailable)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem_response(
            Problem(500, "unexpected error; it has been logged"), request.url.path
        )
