"""Canonical changes of billing documents: invoices and credit notes, with their lines.

An issued invoice is immutable: its lines and the document's own figures (subtotal, tax,
exchange rate) are fixed at issue, while balances, payment state and status transitions move.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, Field

from hub.contracts.canonical import (
    CLEARS,
    REQUIRED,
    CanonicalModel,
    Quantity,
    Ref,
    ShortText,
    SourceId,
    Text,
    Url,
)
from hub.contracts.common import (
    Amount,
    CurrencyCode,
    DecimalString,
    NonNegativeAmount,
    check_non_negative,
)

FIXED = "Fixed once the document is issued. " + CLEARS
MOVES = "Moves with payments and credits. " + CLEARS


def _d(text: str) -> object:
    return Field(default=None, description=text)


class TrackingData(CanonicalModel):
    """A tracking category and option a line is filed under (Xero Tracking)."""

    category: Annotated[str, Field(min_length=1, max_length=200, description="The category.")]
    option: Annotated[str, Field(min_length=1, max_length=200, description="Its option.")]


class InvoiceLineData(CanonicalModel):
    description: Annotated[str, Field(min_length=1, max_length=2000, description="What it bills.")]
    quantity: Quantity = Field(description="Quantity (hours, units).")
    unit_price: DecimalString = Field(description="Price per unit, up to six decimals.")
    tax_rate: Annotated[
        DecimalString,
        AfterValidator(check_non_negative),
        Field(description="a fraction: 0.2 is 20 %"),
    ] = Decimal(0)
    net: Amount | None = Field(default=None, description="the billing system's own net")
    tax: Amount | None = Field(default=None, description="the billing system's own tax")
    milestone: Ref | None = Field(default=None, description="The milestone it bills.")
    time_entries: Annotated[list[Ref], Field(max_length=5000)] = Field(
        default=[], description="The time entries it bills."
    )
    expenses: Annotated[list[Ref], Field(max_length=5000)] = Field(
        default=[], description="The expenses it bills."
    )
    source_line_id: ShortText = Field(default="", description="The source's id of the line.")
    item_code: ShortText = Field(default="", description="Item or product code (QBO ItemRef).")
    account_code: ShortText = Field(default="", description="Revenue account code (Xero).")
    tax_code: ShortText = Field(default="", description="Tax type or code (Xero TaxType, QBO).")
    tracking: Annotated[list[TrackingData], Field(max_length=10)] = Field(
        default=[], description="Tracking categories and options (Xero)."
    )
    service_date: date | None = Field(default=None, description="Date served (QBO ServiceDate).")
    period_start: date | None = Field(default=None, description="Service period start (Stripe).")
    period_end: date | None = Field(
        default=None, description="Service period end, exclusive (Stripe)."
    )


class ExchangeRateData(CanonicalModel):
    """The billing system's rate between the document's currency and its home currency."""

    rate: Annotated[DecimalString, Field(gt=0, description="The rate as the source gives it.")]
    direction: Literal["home_per_foreign", "foreign_per_home", "unverified"] = Field(
        description="How the rate reads, as its source declares it: QuickBooks ExchangeRate is "
        "home units per foreign unit; Xero's CurrencyRate direction is unverified."
    )
    home_currency: CurrencyCode | None = Field(
        default=None, description="The company's home currency, where known."
    )
    as_of: date | None = Field(default=None, description="The date the rate applies to.")


class InvoiceChange(CanonicalModel):
    """An invoice or a credit note, as the billing system holds it."""

    id: SourceId = Field(description="The record's id in its source system.")
    kind: Literal["invoice", "credit_note"] | None = _d("invoice (the default) or credit_note.")
    client: Ref | None = _d("The customer billed (a link: recorded before it is known).")
    engagement: Ref | None = _d("The engagement billed (a link), e.g. by its code.")
    number: ShortText | None = _d("The billing system's number, fixed at issue.")
    currency: CurrencyCode | None = _d("The document's currency. " + REQUIRED)
    issue_date: date | None = _d("Issue date. " + CLEARS + " (drafts only)")
    due_date: date | None = _d("Due date. " + CLEARS + " (drafts only)")
    status: Literal["draft", "issued", "paid", "void"] | None = _d("Where it is in its life.")
    lines: Annotated[list[InvoiceLineData], Field(max_length=2000)] | None = _d(
        "Every line, replacing the draft's; an issued invoice's lines never change."
    )
    total: Amount | None = _d("The source's total, checked against the lines at issue.")
    amount_paid: NonNegativeAmount | None = _d("Paid so far: new payments are recorded. " + MOVES)
    original_invoice: Ref | None = Field(default=None, description="for a credit note")
    source_status: ShortText | None = _d(
        "The status as the source names it (Stripe uncollectible, Xero SUBMITTED). " + CLEARS
    )
    reference: ShortText | None = _d("The customer's reference or PO (Xero Reference). " + CLEARS)
    customer_name: ShortText | None = _d("The billed customer's name as on the document (PII).")
    customer_email: Annotated[str, Field(max_length=320)] | None = _d(
        "The billed customer's e-mail address (PII)."
    )
    collection_method: ShortText | None = _d("Stripe: charge_automatically or send_invoice.")
    billing_reason: ShortText | None = _d("Stripe: why it was created (subscription_cycle, ...).")
    hosted_url: Url | None = _d("The page where the customer sees and pays it.")
    pdf_url: Url | None = _d("The document as PDF.")
    email_status: ShortText | None = _d("QuickBooks EmailStatus (NotSet, NeedToSend, EmailSent).")
    payment_terms: ShortText | None = _d("Payment terms as the source names them.")
    memo: Text | None = _d("The note to the customer (Stripe description, credit note memo).")
    credit_reason: ShortText | None = _d("Why a credit note was raised (Stripe reason).")
    credit_type: ShortText | None = _d("Stripe credit note type: pre_payment or post_payment.")
    line_amount_types: Literal["exclusive", "inclusive", "no_tax"] | None = _d(
        "Whether line amounts include tax (Xero LineAmountTypes, QBO GlobalTaxCalculation). "
        + FIXED
    )
    reported_subtotal: NonNegativeAmount | None = _d(
        "The source's subtotal (Stripe: before discounts and exclusive tax). " + FIXED
    )
    reported_tax: NonNegativeAmount | None = _d("The source's total tax. " + FIXED)
    total_excluding_tax: NonNegativeAmount | None = _d("Stripe total_excluding_tax. " + FIXED)
    amount_due: NonNegativeAmount | None = _d(
        "Stripe amount_due: what is to be collected after the customer's balance. " + FIXED
    )
    starting_balance: Amount | None = _d("Stripe customer balance before it (negative: credit).")
    ending_balance: Amount | None = _d("Stripe customer balance after it. " + MOVES)
    exchange_rate: ExchangeRateData | None = _d("The source's exchange rate. " + FIXED)
    home_total: NonNegativeAmount | None = _d(
        "The total in the home currency (QBO HomeTotalAmt). " + FIXED
    )
    period_start: date | None = _d("Start of the period it bills. " + FIXED)
    period_end: date | None = _d("End of the period it bills. " + FIXED)
    amount_remaining: NonNegativeAmount | None = _d(
        "Still owed (Stripe amount_remaining, Xero AmountDue, QBO Balance); on a credit note, "
        "credit not yet allocated (Xero RemainingCredit). " + MOVES
    )
    amount_credited: NonNegativeAmount | None = _d("Credited by credit notes (Xero). " + MOVES)
    amount_overpaid: NonNegativeAmount | None = _d("Paid beyond the total (Stripe). " + MOVES)
    deposit: NonNegativeAmount | None = _d("A deposit taken against it (QBO Deposit). " + MOVES)
    finalized_at: AwareDatetime | None = _d("When it was finalized (issued). " + CLEARS)
    paid_at: AwareDatetime | None = _d("When it was paid in full. " + CLEARS)
    voided_at: AwareDatetime | None = _d("When it was voided. " + CLEARS)
    marked_uncollectible_at: AwareDatetime | None = _d("When it was written off. " + CLEARS)
    fully_paid_on: date | None = _d("The date it was paid in full (Xero FullyPaidOnDate).")
