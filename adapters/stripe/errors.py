"""Refusals with the contract's reason codes: unparseable bodies, bad shapes, bad signatures."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from hub.contracts.adapters import AdapterError
from hub.contracts.common import REASON_BY_ERROR_TYPE

M = TypeVar("M", bound=BaseModel)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def load_json(body: bytes | str) -> Any:
    """Parses a JSON body with numbers as Decimal; raises MALFORMED_PAYLOAD (400)."""
    try:
        return json.loads(body, parse_float=Decimal, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise AdapterError("MALFORMED_PAYLOAD", f"body is not JSON: {exc}", status=400) from exc


def translate(exc: ValidationError, *, prefix: str = "") -> AdapterError:
    """Turns a pydantic error into an AdapterError with the contract's reason code."""
    errors = exc.errors(include_url=False)
    chosen = next((e for e in errors if e["type"] in REASON_BY_ERROR_TYPE), errors[0])
    reason = REASON_BY_ERROR_TYPE.get(chosen["type"], "SCHEMA_VIOLATION")
    field = ".".join(str(part) for part in (prefix, *chosen["loc"]) if part != "")
    status = 400 if reason == "MALFORMED_PAYLOAD" else 422
    return AdapterError(reason, f"{field or 'body'}: {chosen['msg']}", field=field, status=status)


def validate(model: type[M], data: Any, *, prefix: str = "") -> M:
    """Validates data against a model; raises AdapterError with the reason code."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise translate(exc, prefix=prefix) from exc


def schema_violation(message: str, field: str = "") -> AdapterError:
    return AdapterError("SCHEMA_VIOLATION", message, field=field)


def require_id(value: object, field: str) -> str:
    """Returns a source id as a string, or raises MISSING_REQUIRED_ID."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise AdapterError("MISSING_REQUIRED_ID", f"{field} is missing", field=field)
    return str(value)


def forbidden(message: str) -> AdapterError:
    return AdapterError("FORBIDDEN", message, status=401)


def fetch_failed(message: str) -> AdapterError:
    # The source, not the caller, failed: a gateway error rather than a client error.
    return AdapterError("FETCH_FAILED", message, status=502)


def header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """Returns a header's value, matching its name case-insensitively."""
    if not headers:
        return None
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


@contextmanager
def refusals() -> Iterator[None]:
    """Makes every failure of mapping a refusal: envelope limits (a tenant or sequence too
    long) and numbers out of range become SCHEMA_VIOLATION rather than bare exceptions."""
    try:
        yield
    except ValidationError as exc:
        raise translate(exc) from exc
    except ArithmeticError as exc:
        raise schema_violation(f"a number is out of range: {exc}") from exc
