"""Refusals with the contract's reason codes, shared by every adapter: unparseable bodies,
bad shapes, missing ids, bad currencies, bad signatures and failed fetches."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from hub.contracts.adapters import AdapterError
from hub.contracts.common import REASON_BY_ERROR_TYPE, MoneyModel

M = TypeVar("M", bound=BaseModel)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def load_json(body: bytes | str) -> Any:
    """Parses a JSON body with every number that has a fraction as a Decimal; raises
    MALFORMED_PAYLOAD (400) for bytes that are not UTF-8 or text that is not JSON."""
    if isinstance(body, bytes):
        # JSON between systems is UTF-8 (RFC 8259 8.1): json.loads would also guess UTF-16
        # and UTF-32, which no source sends. A leading byte order mark is tolerated.
        try:
            body = body.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise AdapterError(
                "MALFORMED_PAYLOAD",
                f"the body is not UTF-8: {exc}",
                field="body",
                rule="utf-8",
                status=400,
            ) from exc
    try:
        value = json.loads(body, parse_float=Decimal, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise AdapterError(
            "MALFORMED_PAYLOAD",
            f"the body is not JSON: {exc}",
            field="body",
            rule="json",
            status=400,
        ) from exc
    if _SURROGATE_ESCAPE.search(body):
        _check_unicode(value)
    return value


# A \uD800-\uDFFF escape: JSON's grammar allows one alone, but it is no character.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _check_unicode(value: Any) -> None:
    """Refuses text holding a lone surrogate (an escape no UTF-8 text can carry)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise AdapterError(
                    "MALFORMED_PAYLOAD",
                    f"the body escapes a lone surrogate, which is no character: {exc}",
                    field="body",
                    rule="utf-8",
                    status=400,
                ) from exc


def json_kind(value: Any) -> str:
    """What a JSON value is, as a refusal names it ("an array", "a string", "null", ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int | float | Decimal):
        return "a number"
    if isinstance(value, list):
        return "an empty array" if not value else "an array"
    return "an empty object" if not value else "an object"


_UNSEEN = object()


def not_the_shape(expected: str, value: Any = _UNSEEN, *, field: str = "body") -> AdapterError:
    """A JSON body (or part of one) that is none of the source's shapes: 422 SCHEMA_VIOLATION
    naming the field, with the rule "shape"."""
    found = "" if value is _UNSEEN else f" (found {json_kind(value)})"
    return AdapterError(
        "SCHEMA_VIOLATION",
        f"{field}: expected {expected}{found}",
        field=field,
        rule="shape",
    )


# Validation of native payloads whose models carry the contract's own error types.


def translate(exc: ValidationError, *, prefix: str = "") -> AdapterError:
    """Turns a pydantic error into an AdapterError with the contract's reason code."""
    errors = exc.errors(include_url=False)
    chosen = next((e for e in errors if e["type"] in REASON_BY_ERROR_TYPE), errors[0])
    reason = REASON_BY_ERROR_TYPE.get(chosen["type"], "SCHEMA_VIOLATION")
    field = ".".join(str(part) for part in (prefix, *chosen["loc"]) if part != "")
    status = 400 if reason == "MALFORMED_PAYLOAD" else 422
    return AdapterError(
        reason,
        f"{field or 'body'}: {chosen['msg']}",
        field=field or "body",
        status=status,
        rule=str(chosen["type"]),
    )


def validate(model: type[M], data: Any, *, prefix: str = "") -> M:
    """Validates data against a model; raises AdapterError with the reason code."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise translate(exc, prefix=prefix) from exc


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


# Validation of native payloads by the source's own field names.


@dataclass(frozen=True)
class SourceFields:
    """The field names a source uses for its record ids and currencies: a validation error on
    one of them is MISSING_REQUIRED_ID or INVALID_CURRENCY rather than SCHEMA_VIOLATION."""

    ids: frozenset[str] = frozenset({"id"})
    currencies: frozenset[str] = frozenset({"currency", "billing_currency"})

    def refusal(self, exc: ValidationError, what: str) -> AdapterError:
        """Turns a pydantic error into an AdapterError with the reason code of its first
        cause that has one (else the first error, as SCHEMA_VIOLATION)."""
        first: AdapterError | None = None
        for error in exc.errors():
            kind = str(error.get("type", ""))
            loc = tuple(str(part) for part in error.get("loc", ()))
            where = ".".join(loc)
            reason = REASON_BY_ERROR_TYPE.get(kind, "SCHEMA_VIOLATION")
            last = loc[-1] if loc else ""
            if last in self.ids and (kind == "missing" or error.get("input") in (None, "", [])):
                reason = "MISSING_REQUIRED_ID"
            elif last in self.currencies and reason == "SCHEMA_VIOLATION":
                reason = "INVALID_CURRENCY"
            candidate = AdapterError(
                reason,
                f"{what}: {where or 'body'}: {error.get('msg')}",
                field=where or "body",
                rule=kind,
            )
            if reason != "SCHEMA_VIOLATION":
                return candidate
            first = first or candidate
        return first or AdapterError("SCHEMA_VIOLATION", f"{what}: {exc}")

    def parse(self, model: type[M], value: Any, what: str) -> M:
        """Validates a native payload (or part of one) against its model."""
        try:
            return model.model_validate(value)
        except ValidationError as exc:
            raise self.refusal(exc, what) from exc

    def build(self, model: type[M], what: str, **fields: Any) -> M:
        """Builds a canonical model; its validation errors become reason-coded refusals."""
        try:
            return model(**fields)
        except ValidationError as exc:
            raise self.refusal(exc, what) from exc


# Single refusals.


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


def currency_code(value: Any, what: str) -> str:
    """Returns the upper-cased ISO 4217 code, or refuses with INVALID_CURRENCY."""
    code = value.strip().upper() if isinstance(value, str) else ""
    try:
        MoneyModel(amount=Decimal(0), currency=code)
    except ValidationError as exc:
        raise AdapterError(
            "INVALID_CURRENCY",
            f"{what}: {value!r} is not an ISO 4217 currency code",
            field="currency",
        ) from exc
    return code


def money(amount: Decimal, currency: Any, what: str) -> dict[str, Any]:
    """Money in the currency's ISO exponent ("100.0" USD -> "100.00"); an amount with more
    fraction digits than the currency has is left as it is for the contract to refuse."""
    code = currency_code(currency, what)
    exponent = MoneyModel(amount=Decimal(0), currency=code).to_money().exponent
    try:
        scaled = amount.quantize(Decimal(1).scaleb(-exponent))
    except InvalidOperation:
        scaled = amount
    return {"amount": scaled if scaled == amount else amount, "currency": code}


def header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """Returns a header's value, matching its name case-insensitively."""
    if not headers:
        return None
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)
