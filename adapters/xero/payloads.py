"""Xero's own shapes: the key-only webhook, and invoices and credit notes as the API returns
them (`GET /api.xro/2.0/Invoices/{id}` -> `{"Invoices": [...]}`)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict


class XeroModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class WebhookEvent(XeroModel):
    resourceUrl: str | None = None
    resourceId: str | None = None
    eventDateUtc: str | None = None
    eventType: str | None = None
    eventCategory: str | None = None
    tenantId: str | None = None
    tenantType: str | None = None


class Notification(XeroModel):
    """The webhook body; the intent-to-receive request has no events."""

    events: list[WebhookEvent]
    firstEventSequence: int | None = None
    lastEventSequence: int | None = None
    entropy: str | None = None


class ContactKey(XeroModel):
    ContactID: str | None = None
    Name: str | None = None


class TrackingOption(XeroModel):
    Name: str | None = None
    Option: str | None = None


class LineItem(XeroModel):
    LineItemID: str | None = None
    Description: str | None = None
    Quantity: Decimal | None = None
    UnitAmount: Decimal | None = None
    ItemCode: str | None = None
    AccountCode: str | None = None
    TaxType: str | None = None
    TaxAmount: Decimal | None = None
    LineAmount: Decimal | None = None
    DiscountRate: Decimal | None = None
    DiscountAmount: Decimal | None = None
    Tracking: list[TrackingOption] = []


class InvoiceKey(XeroModel):
    InvoiceID: str | None = None
    InvoiceNumber: str | None = None


class Allocation(XeroModel):
    Invoice: InvoiceKey | None = None
    Amount: Decimal | None = None


class Document(XeroModel):
    """What invoices and credit notes share."""

    Type: str | None = None
    Reference: str | None = None
    Contact: ContactKey | None = None
    Date: str | None = None
    DateString: str | None = None
    DueDate: str | None = None
    DueDateString: str | None = None
    Status: str | None = None
    LineAmountTypes: str | None = None
    LineItems: list[LineItem] = []
    SubTotal: Decimal | None = None
    TotalTax: Decimal | None = None
    Total: Decimal | None = None
    CurrencyCode: str | None = None
    CurrencyRate: Decimal | None = None
    UpdatedDateUTC: str | None = None
    FullyPaidOnDate: str | None = None


class PaymentKey(XeroModel):
    """A payment as an invoice lists it (`Payments[]`: PaymentID, Date, Amount, Reference)."""

    PaymentID: str | None = None
    Amount: Decimal | None = None
    Reference: str | None = None


class XeroInvoice(Document):
    InvoiceID: str | None = None
    InvoiceNumber: str | None = None
    AmountDue: Decimal | None = None
    AmountPaid: Decimal | None = None
    AmountCredited: Decimal | None = None
    Payments: list[PaymentKey] = []


class XeroCreditNote(Document):
    CreditNoteID: str | None = None
    CreditNoteNumber: str | None = None
    RemainingCredit: Decimal | None = None
    Allocations: list[Allocation] = []


class Resources(XeroModel):
    """An API response (or a posted copy of one) holding full documents."""

    Invoices: list[XeroInvoice] | None = None
    CreditNotes: list[XeroCreditNote] | None = None
