"""Shared pieces of the public contract: money, dates, cross-references, reason-coded checks.

Validators raise PydanticCustomError with the contract's reason code (lower-cased) as the
error type, so that the API and ingest turn a field error into the right reason code.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
)
from pydantic_core import PydanticCustomError

from domain.errors import DomainError
from domain.values import Money, SourceRef, currency_exponent


class ContractModel(BaseModel):
    """Base of every inbound contract model: unknown fields refused, instances frozen.

    NUL characters never get this far: PostgreSQL text cannot hold them, so the HTTP edge and
    ingest refuse any input that carries one (cheaply, from the raw bytes)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _currency(value: str) -> str:
    try:
        currency_exponent(value)
    except DomainError as exc:
        raise PydanticCustomError("invalid_currency", str(exc)) from exc
    return value


def _decimal_string(value: Any) -> Decimal:
    # JSON numbers are refused for money: a binary float cannot hold every decimal amount.
    if isinstance(value, Decimal):
        return value
    if not isinstance(value, str):
        raise PydanticCustomError("decimal_string", "must be a decimal number written as a string")
    try:
        result = Decimal(value.strip())
    except InvalidOperation as exc:
        raise PydanticCustomError("decimal_string", "is not a decimal number") from exc
    if not result.is_finite():
        raise PydanticCustomError("decimal_string", "must be finite")
    return result


CurrencyCode = Annotated[
    str, Field(min_length=3, max_length=3, examples=["EUR"]), AfterValidator(_currency)
]
DecimalString = Annotated[Decimal, BeforeValidator(_decimal_string), Field(examples=["1234.50"])]
NonEmpty = Annotated[str, Field(min_length=1, max_length=500)]


def check_non_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise PydanticCustomError("negative_quantity", "must not be negative")
    return value


class MoneyModel(ContractModel):
    """An amount in major units as a decimal string, with its ISO 4217 currency."""

    model_config = ConfigDict(extra="forbid", frozen=True, from_attributes=True)

    amount: DecimalString = Field(
        description="The amount in major units, as a decimal string with no more fraction "
        "digits than the currency's ISO 4217 exponent (JPY 0, EUR 2, KWD 3)."
    )
    currency: CurrencyCode = Field(description="The ISO 4217 currency code.")

    def to_money(self) -> Money:
        """Returns the domain Money (raises a DomainError on too many fraction digits)."""
        return Money(self.amount, self.currency)

    @classmethod
    def check_fraction(cls, value: MoneyModel) -> MoneyModel:
        exponent = currency_exponent(value.currency)
        if -value.amount.as_tuple().exponent > exponent:  # type: ignore[operator]
            raise PydanticCustomError(
                "minor_unit",
                f"{value.amount} has more fraction digits than {value.currency} allows "
                f"({exponent})",
            )
        return value


Amount = Annotated[MoneyModel, AfterValidator(MoneyModel.check_fraction)]


def _non_negative_money(value: MoneyModel) -> MoneyModel:
    if value.amount < 0:
        raise PydanticCustomError("negative_quantity", "amount must not be negative")
    return value


NonNegativeAmount = Annotated[Amount, AfterValidator(_non_negative_money)]


class XrefModel(ContractModel):
    """A source record: system, tenant, the source's own object type, and its id."""

    model_config = ConfigDict(extra="forbid", frozen=True, from_attributes=True)

    system: Annotated[
        str,
        Field(
            min_length=1,
            max_length=64,
            pattern=r"^[a-z][a-z0-9_]*$",
            description="The source system (salesforce, harvest, xero, ...).",
        ),
    ]
    tenant: Annotated[
        str, Field(max_length=200, description="The source's tenant: org, realm, account.")
    ] = ""
    type: Annotated[
        str,
        Field(min_length=1, max_length=100, description="The source's own object type."),
    ]
    id: Annotated[str, Field(min_length=1, max_length=200, description="The source's id.")]

    def to_ref(self) -> SourceRef:
        return SourceRef(self.system, self.tenant, self.type, self.id)


# A calendar date, YYYY-MM-DD; an RFC 3339 instant must carry its offset.
CalendarDate = date
Instant = datetime

# pydantic error types -> contract reason codes (anything else is SCHEMA_VIOLATION).
REASON_BY_ERROR_TYPE = {
    "invalid_currency": "INVALID_CURRENCY",
    "negative_quantity": "NEGATIVE_QUANTITY",
    "missing_required_id": "MISSING_REQUIRED_ID",
    "json_invalid": "MALFORMED_PAYLOAD",
}
