"""Golden records of billing documents: invoices and credit notes, with their lines."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from hub.contracts.common import MoneyModel
from hub.contracts.record_base import PII, RecordModel, described

FIXED = " Fixed once the document is issued."


class TrackingRecord(BaseModel):
    """A tracking category and the option a line is filed under."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    category: str = described("The tracking category (Xero: Region, Engagement).")
    option: str = described("The option within it.")


class InvoiceLineRecord(BaseModel):
    """One line of an invoice or credit note."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    description: str = described("What the line bills.")
    quantity: Decimal = described("Quantity (hours, units).")
    unit_price: Decimal = described("Price per unit, up to six decimals (a rate, not money).")
    tax_rate: Decimal = described("Tax rate as a fraction (0.2 is 20 %).")
    net: MoneyModel = described("Net amount, excluding tax.")
    tax: MoneyModel = described("Tax amount.")
    source_amounts: bool = described(
        "True when net and tax are the billing system's own, not the hub's computation.",
        default=False,
    )
    time_entry_ids: list[UUID] = described("Time entries it bills.", default_factory=list)
    expense_ids: list[UUID] = described("Expenses it bills.", default_factory=list)
    milestone_id: UUID | None = described("The milestone it bills.", default=None)
    source_line_id: str = described("The billing system's id of the line.", default="")
    item_code: str = described("Item or product code (QBO ItemRef, Xero ItemCode).", default="")
    account_code: str = described("Revenue account code (Xero AccountCode).", default="")
    tax_code: str = described("Tax type or code (Xero TaxType, QBO TaxCodeRef).", default="")
    tracking: list[TrackingRecord] = described(
        "Tracking categories and options (Xero Tracking).", default_factory=list
    )
    service_date: date | None = described("Date of service (QBO ServiceDate).", default=None)
    period_start: date | None = described("Start of the service period (Stripe).", default=None)
    period_end: date | None = described(
        "End of the service period, exclusive (Stripe).", default=None
    )


class PaymentRecord(BaseModel):
    """A payment, or on a credit note an allocation or refund."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    amount: MoneyModel = described("The amount paid.")
    paid_on: date = described("When it was paid (as the hub learnt it).")
    reference: str = described(
        "The payment's reference (the message that reported it).", default=""
    )
    system: str = described(
        "The system that reported it (after a billing migration, the one it was paid in); "
        "empty when not known.",
        default="",
    )


class ExchangeRateRecord(BaseModel):
    """The billing system's rate between the document's currency and its home currency."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    rate: Decimal = described("The rate, as the source gives it.")
    direction: str = described(
        "home_per_foreign (QuickBooks: home units per foreign unit), foreign_per_home, or "
        "unverified (Xero's CurrencyRate, whose direction is not confirmed)."
    )
    home_currency: str = described("The home currency, where known.", default="")
    as_of: date | None = described("The date the rate applies to.", default=None)


class InvoiceRecord(RecordModel):
    """An invoice, or a credit note (kind credit_note) against one."""

    kind: str = described("invoice or credit_note.")
    client_id: UUID | None = described(
        "The client billed; null while the billing system's customer is not known yet "
        "(see pending_links).",
        default=None,
    )
    engagement_id: UUID | None = described("The engagement billed.", default=None)
    number: str | None = described("The billing system's number, set at issue.", default=None)
    currency: str = described("The document's ISO 4217 currency.")
    status: str = described("draft, issued, paid or void.")
    source_status: str | None = described(
        "The status as the source names it (Stripe uncollectible, Xero SUBMITTED).", default=None
    )
    payment_status: str | None = described(
        "unpaid, partially_paid, paid or overpaid, for an issued or paid document.", default=None
    )
    issue_date: date | None = described("Issue date.", default=None)
    due_date: date | None = described("Due date.", default=None)
    period_start: date | None = described("Start of the period it bills." + FIXED, default=None)
    period_end: date | None = described("End of the period it bills." + FIXED, default=None)
    reference: str | None = described("The customer's reference or purchase order.", default=None)
    customer_name: str | None = described("The customer's name on the document.", PII, default=None)
    customer_email: str | None = described("The customer's e-mail address.", PII, default=None)
    lines: list[InvoiceLineRecord] = described("The lines." + FIXED, default_factory=list)
    subtotal: MoneyModel = described("Sum of the lines' net amounts.")
    tax_total: MoneyModel = described("Sum of the lines' tax.")
    total: MoneyModel = described("subtotal + tax_total.")
    open_balance: MoneyModel = described("total - payments - credits applied, never below zero.")
    payments: list[PaymentRecord] = described("Payments recorded.", default_factory=list)
    customer_credit: MoneyModel | None = described(
        "Paid or credited beyond the total: the customer's credit.", default=None
    )
    original_invoice_id: UUID | None = described(
        "For a credit note, the invoice it credits.", default=None
    )
    void_reason: str = described("Why it was voided.", default="")
    carried_to: str | None = described(
        "The billing system a migration carried the open balance to (pshub feeds migrate): "
        "it holds the balance as an invoice of its own, under the same number.",
        default=None,
    )
    carried_from: str | None = described(
        "The billing system collecting it before that migration.", default=None
    )
    carried_balance: MoneyModel | None = described(
        "The open balance carried over: what the system carried to was given to collect.",
        default=None,
    )
    carried_payments: int = described(
        "How many of `payments` were recorded when it was carried over: those after are paid "
        "since, each into the system that reported it (one paid into the system carried from "
        "is given to the system carried to as a payment).",
        default=0,
    )
    line_amount_types: str | None = described(
        "Whether the source's line amounts include tax: exclusive, inclusive or no_tax." + FIXED,
        default=None,
    )
    reported_subtotal: MoneyModel | None = described(
        "The source's subtotal (Stripe: before discounts)." + FIXED, default=None
    )
    reported_tax: MoneyModel | None = described("The source's total tax." + FIXED, default=None)
    total_excluding_tax: MoneyModel | None = described(
        "The source's total excluding tax (Stripe)." + FIXED, default=None
    )
    amount_due: MoneyModel | None = described(
        "What is to be collected after the customer's balance (Stripe amount_due)." + FIXED,
        default=None,
    )
    amount_paid: MoneyModel | None = described("Paid so far, as the source reports.", default=None)
    amount_remaining: MoneyModel | None = described(
        "Still owed, as the source reports (Stripe amount_remaining, Xero AmountDue, QBO "
        "Balance); on a credit note, credit not yet allocated.",
        default=None,
    )
    amount_credited: MoneyModel | None = described(
        "Credited by credit notes, as the source reports (Xero).", default=None
    )
    amount_overpaid: MoneyModel | None = described("Paid beyond the total (Stripe).", default=None)
    deposit: MoneyModel | None = described("A deposit taken against it (QBO).", default=None)
    starting_balance: MoneyModel | None = described(
        "The customer's balance before it, negative when in credit (Stripe)." + FIXED, default=None
    )
    ending_balance: MoneyModel | None = described(
        "The customer's balance after it (Stripe).", default=None
    )
    exchange_rate: ExchangeRateRecord | None = described(
        "The source's exchange rate to its home currency." + FIXED, default=None
    )
    home_total: MoneyModel | None = described(
        "The total in the home currency (QBO HomeTotalAmt)." + FIXED, default=None
    )
    finalized_at: datetime | None = described("When it was finalized (issued).", default=None)
    paid_at: datetime | None = described("When it was paid in full.", default=None)
    voided_at: datetime | None = described("When it was voided.", default=None)
    marked_uncollectible_at: datetime | None = described(
        "When it was written off as uncollectible.", default=None
    )
    fully_paid_on: date | None = described("The date it was paid in full (Xero).", default=None)
    collection_method: str | None = described(
        "How payment is collected (Stripe charge_automatically, send_invoice).", default=None
    )
    billing_reason: str | None = described(
        "Why the billing system created it (Stripe subscription_cycle, manual).", default=None
    )
    payment_terms: str | None = described("Payment terms as the source names them.", default=None)
    email_status: str | None = described("Whether it was e-mailed (QBO EmailStatus).", default=None)
    hosted_url: str | None = described("Where the customer sees and pays it.", default=None)
    pdf_url: str | None = described("The document as PDF.", default=None)
    memo: str | None = described(
        "The note to the customer (Stripe description, credit note memo).", default=None
    )
    credit_reason: str | None = described(
        "Why a credit note was raised (Stripe duplicate, order_change, ...).", default=None
    )
    credit_type: str | None = described(
        "A credit note's type (Stripe pre_payment, post_payment).", default=None
    )
