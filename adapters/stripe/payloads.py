"""Stripe's own shapes: the event envelope, invoices, credit notes and their line lists.

Both the `2025-03-31.basil`+ shapes (`pricing`, `taxes[]`, `pretax_credit_amounts`) and the
older ones (`price`, `tax_amounts[]`) are read. Amounts are integers in Stripe's minor units.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# Epoch seconds up to 9999-12-31: anything later is not a date Stripe sends.
Epoch = Annotated[int, Field(ge=0, le=253_402_300_799)]


class StripeModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class StatusTransitions(StripeModel):
    finalized_at: Epoch | None = None
    marked_uncollectible_at: Epoch | None = None
    paid_at: Epoch | None = None
    voided_at: Epoch | None = None


class LineTax(StripeModel):
    """`taxes[]` (basil+): `tax_behavior` is exclusive or inclusive."""

    amount: int
    tax_behavior: str | None = None
    taxable_amount: int | None = None


class LegacyLineTax(StripeModel):
    """`tax_amounts[]` (before basil)."""

    amount: int
    inclusive: bool = False
    taxable_amount: int | None = None


class Reduction(StripeModel):
    """A discount or pretax credit on a line."""

    amount: int


class PriceDetails(StripeModel):
    price: str | None = None
    product: str | None = None


class Pricing(StripeModel):
    """A line's `pricing` (basil+) or, before it, its `price` object."""

    id: str | None = None
    product: str | dict[str, Any] | None = None
    unit_amount_decimal: Decimal | None = None
    price_details: PriceDetails | None = None


class Period(StripeModel):
    start: Epoch | None = None
    end: Epoch | None = None


class TaxAmount(StripeModel):
    """`total_taxes[]` (basil+) or `total_tax_amounts[]` (before)."""

    amount: int


class LineItem(StripeModel):
    """An invoice line item (`il_...`) or a credit note line item (`cnli_...`)."""

    id: str | None = None
    amount: int
    description: str | None = None
    quantity: int | None = None
    quantity_decimal: Decimal | None = None
    pricing: Pricing | None = None
    price: Pricing | None = None
    unit_amount_decimal: Decimal | None = None
    taxes: list[LineTax] = []
    tax_amounts: list[LegacyLineTax] = []
    discount_amounts: list[Reduction] = []
    pretax_credit_amounts: list[Reduction] = []
    period: Period | None = None


class LineList(StripeModel):
    object: Literal["list"] = "list"
    data: list[LineItem] = []
    has_more: bool = False
    total_count: int | None = None
    url: str | None = None


class Invoice(StripeModel):
    id: str | None = None
    object: Literal["invoice"]
    status: str | None = None
    number: str | None = None
    currency: str
    customer: str | dict[str, Any] | None = None
    total: int
    amount_paid: int = 0
    created: Epoch
    due_date: Epoch | None = None
    effective_at: Epoch | None = None
    status_transitions: StatusTransitions = StatusTransitions()
    metadata: dict[str, str | None] = {}
    lines: LineList = LineList()
    # What Stripe reports beyond lines and lifecycle; each is kept only when the object has
    # the key (older API versions lack some; newer ones renamed tax to total_taxes).
    amount_due: int | None = None
    amount_remaining: int | None = None
    amount_overpaid: int | None = None
    subtotal: int | None = None
    total_excluding_tax: int | None = None
    tax: int | None = None
    total_taxes: list[TaxAmount] | None = None
    total_tax_amounts: list[TaxAmount] | None = None
    starting_balance: int | None = None
    ending_balance: int | None = None
    period_start: Epoch | None = None
    period_end: Epoch | None = None
    collection_method: str | None = None
    billing_reason: str | None = None
    customer_name: str | None = None
    customer_email: str | None = None
    hosted_invoice_url: str | None = None
    invoice_pdf: str | None = None
    description: str | None = None


class CreditNote(StripeModel):
    id: str | None = None
    object: Literal["credit_note"]
    status: str | None = None
    number: str | None = None
    currency: str
    customer: str | dict[str, Any] | None = None
    invoice: str | dict[str, Any] | None = None
    total: int
    created: Epoch
    effective_at: Epoch | None = None
    voided_at: Epoch | None = None
    metadata: dict[str, str | None] = {}
    lines: LineList = LineList()
    amount: int | None = None
    subtotal: int | None = None
    total_excluding_tax: int | None = None
    reason: str | None = None
    memo: str | None = None
    type: str | None = None
    pdf: str | None = None


class EventData(StripeModel):
    object: dict[str, Any]
    previous_attributes: dict[str, Any] | None = None


class Event(StripeModel):
    """A webhook event: `data.object` is the full resource as of `api_version`."""

    id: str | None = None
    object: Literal["event"]
    type: str
    created: Epoch
    api_version: str | None = None
    account: str | None = None
    livemode: bool = False
    data: EventData
