"""Canonical change events: what an adapter publishes on `ingest.<system>.<entity>`.

The envelope is a CloudEvents 1.0 event in structured JSON mode. Its `data` is the entity as
the source sees it now, in canonical fields, with references as the source's own ids. A field
left out means "not reported by this change" (a Salesforce UPDATE carries only the fields that
changed); a field sent as null means "cleared". The hub records only what differs from the
golden record, and never creates a record from a change that lacks its required fields.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from hub.contracts.common import (
    Amount,
    ContractModel,
    CurrencyCode,
    DecimalString,
    MoneyModel,
    NonNegativeAmount,
    check_non_negative,
)

SYSTEM_PATTERN = r"^[a-z][a-z0-9_]*$"
ENTITIES = (
    "client",
    "engagement",
    "contract",
    "rate_card",
    "resource",
    "time_entry",
    "expense",
    "milestone",
    "invoice",
    "knowledge_asset",
)

SourceId = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str, Field(max_length=2000)]
ShortText = Annotated[str, Field(max_length=200)]
Quantity = Annotated[DecimalString, AfterValidator(check_non_negative)]
Percent = Annotated[Quantity, Field(le=100, examples=["40"])]


def _described(kind: Any, text: str) -> Any:
    """An optional field of a change (left out: not reported; null: cleared) with its meaning."""
    return Annotated[kind | None, Field(description=text)]


class CanonicalModel(ContractModel):
    """Base of every change `data` model: unknown fields refused, all but `id` optional."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def reported(self) -> dict[str, Any]:
        """The fields this change reports (set, even to null), as attributes."""
        return {name: getattr(self, name) for name in self.model_fields_set}


class Ref(CanonicalModel):
    """Another record, by its source id; system and tenant default to the event's own."""

    type: Annotated[str, Field(min_length=1, max_length=100, examples=["Project"])]
    id: SourceId
    system: Annotated[str | None, Field(pattern=SYSTEM_PATTERN, max_length=64)] = None
    tenant: Annotated[str | None, Field(max_length=200)] = None


class ContactData(CanonicalModel):
    """A person at the client (PII). `id` and `version` identify and order a contact that
    changes on its own (a Salesforce Contact)."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    email: Annotated[str, Field(max_length=320)] = ""
    phone: Annotated[str, Field(max_length=50)] = ""
    role: Annotated[str, Field(max_length=100)] = ""
    id: Annotated[str, Field(max_length=200)] | None = None
    version: Annotated[str, Field(max_length=100)] | None = None


class ContactRemoval(CanonicalModel):
    id: SourceId
    version: Annotated[str, Field(max_length=100)] = ""


class AddressData(CanonicalModel):
    """A postal address. In an update a line left out stays as it is and null clears it, so
    a source that reports one changed line (Salesforce `BillingAddress.City`) sends only it."""

    street: _described(
        Annotated[str, Field(max_length=1000)], "street lines; a free-text address is all here"
    ) = None
    city: _described(ShortText, "city or town") = None
    region: _described(
        ShortText, "state, province or region: its code where the source keeps one (CA, NSW)"
    ) = None
    postal_code: _described(Annotated[str, Field(max_length=40)], "postal or ZIP code") = None
    country: _described(
        Annotated[str, Field(pattern=r"^[A-Z]{2}$")], "ISO 3166-1 alpha-2 country code"
    ) = None


class PartialMoney(CanonicalModel):
    """An amount whose currency may be left out: it is then the currency the record has
    (a Salesforce UPDATE of `Amount` alone). A change without the currency for a record
    the hub does not know yet is parked (UNKNOWN_AGGREGATE) until the record is known."""

    amount: Annotated[DecimalString, AfterValidator(check_non_negative)]
    currency: CurrencyCode | None = None

    @model_validator(mode="after")
    def _fraction(self) -> PartialMoney:
        # With its currency, the amount is checked here; without, when the hub knows it.
        self.with_currency(None)
        return self

    def with_currency(self, currency: str | None) -> MoneyModel | None:
        """The full money in its own currency, else in `currency` (None when neither)."""
        code = self.currency or currency
        return (
            None
            if not code
            else MoneyModel.check_fraction(MoneyModel(amount=self.amount, currency=code))
        )


class ClientChange(CanonicalModel):
    """A client (CRM account, ERP customer, PSA client)."""

    id: SourceId
    legal_name: Annotated[str, Field(min_length=1, max_length=500)] | None = None
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = None
    billing_currency: CurrencyCode | None = None
    tax_id: Annotated[str, Field(max_length=64)] | None = None
    status: Literal["active", "inactive", "closed"] | None = None
    contacts: (
        Annotated[
            list[ContactData], Field(max_length=200, description="the whole list, replacing it")
        ]
        | None
    ) = None
    contact_updates: (
        Annotated[list[ContactData], Field(max_length=200, description="upserted by contact id")]
        | None
    ) = None
    contact_removals: Annotated[list[ContactRemoval], Field(max_length=200)] | None = None
    external_refs: (
        Annotated[
            list[Ref],
            Field(
                max_length=20,
                description="The same client in other systems, as this source "
                "names it (e.g. the CRM account an ERP customer's external id holds).",
            ),
        ]
        | None
    ) = None
    trading_name: _described(ShortText, "the name it trades under, if not its legal name") = None
    industry: _described(ShortText, "industry as the source names it (Salesforce Industry)") = None
    category: _described(
        ShortText, "the source's kind of account (Salesforce Type, NetSuite category)"
    ) = None
    customer_number: _described(
        Annotated[str, Field(max_length=100)],
        "the customer's number in the source (Salesforce AccountNumber, NetSuite entityId, "
        "Odoo ref)",
    ) = None
    website: _described(Annotated[str, Field(max_length=500)], "web site URL") = None
    phone: _described(Annotated[str, Field(max_length=50)], "main phone number") = None
    email: _described(Annotated[str, Field(max_length=320)], "main e-mail address") = None
    billing_address: _described(AddressData, "where invoices go") = None
    shipping_address: _described(AddressData, "where deliveries go") = None
    parent: _described(Ref, "the parent organisation, another client") = None
    owner: _described(Ref, "the person who owns the account at the firm (a user)") = None
    owner_name: _described(ShortText, "that person's name, where the source embeds it") = None


class EngagementChange(CanonicalModel):
    """An engagement (CRM opportunity, PSA or ERP project)."""

    id: SourceId
    client: Ref | None = None
    code: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    name: Annotated[str, Field(min_length=1, max_length=500)] | None = None
    currency: CurrencyCode | None = None
    service_line: ShortText | None = None
    region: ShortText | None = None
    legal_entity: ShortText | None = None
    status: Literal["pipeline", "won", "active", "on_hold", "closed", "lost"] | None = None
    start_date: date | None = None
    end_date: date | None = None
    budget: _described(
        PartialMoney, "the budget, in the engagement currency (which may be left out)"
    ) = None
    manager: Ref | None = None
    external_refs: (
        Annotated[
            list[Ref],
            Field(
                max_length=20,
                description="The same engagement in other systems, as this source "
                "names it (e.g. the CRM opportunity an ERP project's external id holds).",
            ),
        ]
        | None
    ) = None
    stage: _described(
        ShortText,
        "the pipeline stage as the source names it (Salesforce StageName, NetSuite "
        "entityStatus, Odoo stage_id); the hub derives the canonical stage",
    ) = None
    forecast_category: _described(
        ShortText, "Salesforce ForecastCategoryName (Pipeline, Best Case, Commit, Omitted)"
    ) = None
    probability: _described(Percent, "chance of winning, in percent") = None
    expected_close_date: _described(date, "when the deal is expected to close") = None
    amount: _described(PartialMoney, "the deal's amount (Salesforce Amount)") = None
    expected_revenue: _described(
        PartialMoney, "revenue expected (Salesforce ExpectedRevenue, NetSuite estimatedRevenue)"
    ) = None
    estimated_cost: _described(PartialMoney, "estimated cost (NetSuite estimatedCost)") = None
    percent_complete: _described(Percent, "delivery progress, in percent") = None
    contract_type: _described(
        Literal[
            "time_and_materials",
            "capped_time_and_materials",
            "fixed_fee",
            "retainer",
            "non_billable",
        ],
        "how the engagement is billed",
    ) = None
    billing_method: _described(
        ShortText,
        "the source's own billing method (Harvest bill_by, NetSuite jobBillingType, Odoo "
        "pricing_type)",
    ) = None
    engagement_type: _described(
        ShortText, "the source's type of deal or project (Salesforce Type, NetSuite jobType)"
    ) = None
    lead_source: _described(ShortText, "where the deal came from (Salesforce LeadSource)") = None
    budget_by: _described(ShortText, "what the budget counts (Harvest budget_by)") = None
    budget_hours: _described(Quantity, "the budget in hours (Harvest budget)") = None
    fee: _described(PartialMoney, "a fixed-fee project's fee (Harvest fee)") = None
    hourly_rate: _described(PartialMoney, "the project's hourly rate (Harvest hourly_rate)") = None
    calculated_end_date: _described(
        date, "the end the source computes from the schedule (NetSuite calculatedEndDate)"
    ) = None
    health: _described(
        ShortText, "the latest status update (Odoo last_update_status: on_track, at_risk...)"
    ) = None
    analytic_account: _described(
        ShortText, "the ERP's analytic account the project books to (Odoo account_id)"
    ) = None
    owner: _described(Ref, "the person who owns the deal (Salesforce OwnerId, a user)") = None


class RetainerData(CanonicalModel):
    period: Literal["monthly", "quarterly", "annual"]
    fee: NonNegativeAmount
    included_hours: Quantity
    rollover_rule: Literal["expire", "roll_over", "roll_over_capped"]
    overage_rate: NonNegativeAmount
    rollover_cap_hours: Quantity | None = None


class ContractChange(CanonicalModel):
    """A contract line of an engagement."""

    id: SourceId
    engagement: Ref | None = None
    name: ShortText | None = None
    type: (
        Literal["time_and_materials", "capped_time_and_materials", "fixed_fee", "retainer"] | None
    ) = None
    currency: CurrencyCode | None = None
    value: NonNegativeAmount | None = None
    cap: NonNegativeAmount | None = None
    retainer: RetainerData | None = None
    payment_terms_days: Annotated[int, Field(ge=0, le=3650)] | None = None
    tax_treatment: (
        Literal["standard", "reverse_charge", "exempt", "zero_rated", "out_of_scope"] | None
    ) = None
    billing_schedule: Literal["monthly", "milestones", "on_completion", "in_advance"] | None = None
    status: Literal["draft", "signed", "active", "closed", "terminated"] | None = None
    start_date: date | None = None
    end_date: date | None = None
    signed_on: date | None = None
    signed_by: ShortText | None = None


class RateLineData(CanonicalModel):
    """One effective-dated rate; its tier follows from the keys it names."""

    role: ShortText | None = None
    resource: Ref | None = None
    engagement: Ref | None = None
    client: Ref | None = None
    task: ShortText | None = None
    bill_rate: NonNegativeAmount
    cost_rate: NonNegativeAmount | None = None
    effective_from: date
    effective_to: Annotated[date | None, Field(description="exclusive")] = None


class RateCardChange(CanonicalModel):
    """A rate card: the whole set of lines as the source sees it now."""

    id: SourceId
    name: ShortText | None = None
    lines: Annotated[list[RateLineData], Field(max_length=5000)] | None = None


class ResourceChange(CanonicalModel):
    """A person who delivers work (PII: name and e-mail)."""

    id: SourceId
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    email: Annotated[str, Field(max_length=320)] | None = None
    role: ShortText | None = None
    time_zone: Annotated[str, Field(max_length=64, examples=["Europe/London"])] | None = None
    cost_rate: NonNegativeAmount | None = None
    home_region: ShortText | None = None
    status: Literal["active", "inactive"] | None = None
    phone: _described(Annotated[str, Field(max_length=50)], "phone number (personal data)") = None
    department: _described(ShortText, "department or practice") = None
    employment_type: _described(Literal["employee", "contractor"], "employee or contractor") = None
    weekly_capacity_hours: _described(Quantity, "hours a week the person can work") = None
    default_bill_rate: _described(
        NonNegativeAmount, "the person's default hourly bill rate (Harvest default_hourly_rate)"
    ) = None


ApprovalState = Literal["draft", "submitted", "approved", "rejected", "billed", "locked"]


class TimeEntryChange(CanonicalModel):
    """Hours one person worked on one calendar date (hours as a decimal string)."""

    id: SourceId
    engagement: Ref | None = None
    resource: Ref | None = None
    work_date: date | None = None
    hours: Quantity | None = None
    billable: bool | None = None
    billing_hours: Quantity | None = None
    notes: Text | None = None
    task: ShortText | None = None
    billable_rate: NonNegativeAmount | None = None
    status: ApprovalState | None = None
    is_running: bool | None = None
    invoice: Ref | None = None
    approved_by: ShortText | None = None


class ReceiptData(CanonicalModel):
    uri: Annotated[str, Field(min_length=1, max_length=2000)]
    file_name: ShortText = ""
    content_type: ShortText = ""


class ExpenseChange(CanonicalModel):
    """Money spent on an engagement, in the transaction currency."""

    id: SourceId
    engagement: Ref | None = None
    resource: Ref | None = None
    spent_date: date | None = None
    amount: NonNegativeAmount | None = None
    category: ShortText | None = None
    billable: bool | None = None
    reimbursable: bool | None = None
    receipt: ReceiptData | None = None
    notes: Text | None = None
    status: ApprovalState | None = None
    invoice: Ref | None = None


class MilestoneChange(CanonicalModel):
    """A fixed-fee billing milestone."""

    id: SourceId
    engagement: Ref | None = None
    contract: Ref | None = None
    name: Annotated[str, Field(min_length=1, max_length=500)] | None = None
    amount: NonNegativeAmount | None = None
    due_date: date | None = None
    status: Literal["planned", "delivered", "accepted", "billing_ready", "billed"] | None = None
    delivered_on: date | None = None
    accepted_on: date | None = None
    accepted_by: ShortText | None = None
    invoice: Ref | None = None


class InvoiceLineData(CanonicalModel):
    description: Annotated[str, Field(min_length=1, max_length=2000)]
    quantity: Quantity
    unit_price: DecimalString
    tax_rate: Annotated[
        DecimalString,
        AfterValidator(check_non_negative),
        Field(description="a fraction: 0.2 is 20 %"),
    ] = Decimal(0)
    net: Amount | None = Field(default=None, description="the billing system's own net")
    tax: Amount | None = Field(default=None, description="the billing system's own tax")
    milestone: Ref | None = None
    time_entries: Annotated[list[Ref], Field(max_length=5000)] = []
    expenses: Annotated[list[Ref], Field(max_length=5000)] = []


class InvoiceChange(CanonicalModel):
    """An invoice or a credit note, as the billing system holds it."""

    id: SourceId
    kind: Literal["invoice", "credit_note"] | None = None
    client: Ref | None = None
    engagement: Ref | None = None
    number: ShortText | None = None
    currency: CurrencyCode | None = None
    issue_date: date | None = None
    due_date: date | None = None
    status: Literal["draft", "issued", "paid", "void"] | None = None
    lines: Annotated[list[InvoiceLineData], Field(max_length=2000)] | None = None
    total: Amount | None = None
    amount_paid: NonNegativeAmount | None = None
    original_invoice: Ref | None = Field(default=None, description="for a credit note")


class KnowledgeAssetChange(CanonicalModel):
    """A document, page or deliverable in a knowledge system."""

    id: SourceId
    title: Annotated[str, Field(min_length=1, max_length=1000)] | None = None
    kind: (
        Literal[
            "document",
            "page",
            "proposal",
            "deliverable",
            "case_study",
            "template",
            "methodology",
            "other",
        ]
        | None
    ) = None
    uri: Annotated[str, Field(min_length=1, max_length=2000)] | None = None
    classification: Literal["public", "internal", "confidential", "restricted"] | None = None
    status: Literal["draft", "published", "archived"] | None = None
    client: Ref | None = None
    engagement: Ref | None = None
    service_line: ShortText | None = None


class Deletion(CanonicalModel):
    """The data of a `pshub.<entity>.deleted.v1` event."""

    id: SourceId
    reason: ShortText = "source_deleted"


CHANGE_MODELS: dict[str, type[CanonicalModel]] = {
    "client": ClientChange,
    "engagement": EngagementChange,
    "contract": ContractChange,
    "rate_card": RateCardChange,
    "resource": ResourceChange,
    "time_entry": TimeEntryChange,
    "expense": ExpenseChange,
    "milestone": MilestoneChange,
    "invoice": InvoiceChange,
    "knowledge_asset": KnowledgeAssetChange,
}


class ChangeEnvelope(ContractModel):
    """A CloudEvents 1.0 change event in structured mode, as published on ingest subjects."""

    specversion: Literal["1.0"]
    id: Annotated[str, Field(min_length=1, max_length=200, description="idempotency key")]
    source: Annotated[
        str,
        Field(
            min_length=2,
            max_length=500,
            pattern=r"^/[a-z][a-z0-9_]*(/.*)?$",
            examples=["/salesforce/00D5e000000XXXX"],
        ),
    ]
    type: Annotated[
        str,
        Field(
            pattern=r"^pshub\.[a-z_]+\.(changed|deleted)\.v1$",
            examples=["pshub.time_entry.changed.v1"],
        ),
    ]
    subject: SourceId
    time: AwareDatetime
    datacontenttype: Literal["application/json"] | None = None
    dataschema: Annotated[str, Field(max_length=500)] | None = None
    sequence: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    tenant: Annotated[str, Field(max_length=200)] = ""
    sourcetype: (
        Annotated[
            str,
            Field(
                min_length=1,
                max_length=100,
                pattern=r"^[A-Za-z][A-Za-z0-9_.]*$",
                description="the source's own object type (extension): Account, TimeEntry",
            ),
        ]
        | None
    ) = None
    partial: Annotated[
        bool | None,
        Field(
            description="(extension) the change reports only some fields of its record (a CDC "
            "UPDATE): the hub never creates a record from it, and fetches the full record when "
            "it does not know the record yet"
        ),
    ] = None
    data: dict[str, Any]

    @model_validator(mode="after")
    def _entity_known(self) -> ChangeEnvelope:
        if self.entity not in CHANGE_MODELS:
            raise PydanticCustomError("unknown_entity", f"unknown entity '{self.entity}'")
        return self

    @property
    def system(self) -> str:
        """The source system: the first segment of `source`."""
        return self.source.split("/")[1]

    @property
    def entity(self) -> str:
        return self.type.split(".")[1]

    @property
    def is_deletion(self) -> bool:
        return self.type.endswith(".deleted.v1")


def change_type(entity: str, *, deleted: bool = False) -> str:
    """The CloudEvents type of a change of one entity."""
    return f"pshub.{entity}.{'deleted' if deleted else 'changed'}.v1"
