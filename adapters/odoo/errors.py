"""Refusals with the contract's reason codes, and the checks that raise them."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from hub.contracts.adapters import AdapterError
from hub.contracts.common import REASON_BY_ERROR_TYPE, MoneyModel

M = TypeVar("M", bound=BaseModel)

# Fields whose absence means the payload does not say which source record it is about.
ID_FIELDS = frozenset({"id", "_id"})
CURRENCY_FIELDS = frozenset({"currency", "billing_currency", "currency_id"})


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def load_json(body: bytes) -> Any:
    """Parses a JSON body with every number that has a fraction as a Decimal."""
    try:
        return json.loads(body, parse_float=Decimal, parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise AdapterError("MALFORMED_PAYLOAD", f"the body is not JSON: {exc}", status=400) from exc


def refusal(exc: ValidationError, what: str) -> AdapterError:
    """Turns a pydantic error into an AdapterError with the reason code of its first cause."""
    first: AdapterError | None = None
    for error in exc.errors():
        kind = str(error.get("type", ""))
        loc = tuple(str(part) for part in error.get("loc", ()))
        where = ".".join(loc)
        reason = REASON_BY_ERROR_TYPE.get(kind, "SCHEMA_VIOLATION")
        last = loc[-1] if loc else ""
        if last in ID_FIELDS and (kind == "missing" or error.get("input") in (None, "", [])):
            reason = "MISSING_REQUIRED_ID"
        elif last in CURRENCY_FIELDS and reason == "SCHEMA_VIOLATION":
            reason = "INVALID_CURRENCY"
        candidate = AdapterError(
            reason, f"{what}: {where or 'body'}: {error.get('msg')}", field=where
        )
        if reason != "SCHEMA_VIOLATION":
            return candidate
        first = first or candidate
    return first or AdapterError("SCHEMA_VIOLATION", f"{what}: {exc}")


def parse(model: type[M], value: Any, what: str) -> M:
    """Validates a native payload (or part of one) against its model."""
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise refusal(exc, what) from exc


def build(model: type[M], what: str, **fields: Any) -> M:
    """Builds a canonical model; its validation errors become reason-coded refusals."""
    try:
        return model(**fields)
    except ValidationError as exc:
        raise refusal(exc, what) from exc


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
