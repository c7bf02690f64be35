"""Canonical change events: what an adapter publishes on `ingest.<system>.<entity>`.

The envelope is a CloudEvents 1.0 event in structured JSON mode. Its `data` is the entity as
the source sees it now, in canonical fields, with references as the source's own ids. A field
left out means "not reported by this change" (a Salesforce UPDATE carries only the fields that
changed); a field sent as null means "cleared". The hub records only what differs from the
golden record, and never creates a record from a change that lacks its required fields.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, Field, model_validator
from pydantic_core import PydanticCustomError

from hub.contracts.billing_changes import (
    ExchangeRateData,
    InvoiceChange,
    InvoiceLineData,
    TrackingData,
)
from hub.contracts.canonical import (
    CLEARS,
    SYSTEM_PATTERN,
    CanonicalModel,
    PersonData,
    Quantity,
    Ref,
    ShortText,
    SourceId,
    SourceKey,
    Text,
)
from hub.contracts.common import (
    ContractModel,
    CurrencyCode,
    DecimalString,
    MoneyModel,
    NonNegativeAmount,
    check_non_negative,
)
from hub.contracts.knowledge_changes import ContentHashesData, KnowledgeAssetChange
from hub.contracts.work_changes import (
    ApprovalState,
    ExpenseChange,
    ExternalReferenceData,
    MilestoneChange,
    ReceiptData,
    TimeEntryChange,
)

__all__ = [
    "CHANGE_MODELS",
    "ENTITIES",
    "SYSTEM_PATTERN",
    "ApprovalState",
    "CanonicalModel",
    "ChangeEnvelope",
    "ClientChange",
    "ContactData",
    "ContactRemoval",
    "ContentHashesData",
    "ContractChange",
    "Deletion",
    "EngagementChange",
    "ExchangeRateData",
    "ExpenseChange",
    "ExternalReferenceData",
    "InvoiceChange",
    "InvoiceLineData",
    "KnowledgeAssetChange",
    "MilestoneChange",
    "PersonData",
    "Quantity",
    "RateCardChange",
    "RateLineData",
    "ReceiptData",
    "Ref",
    "ResourceChange",
    "ShortText",
    "SourceId",
    "SourceKey",
    "Text",
    "TimeEntryChange",
    "TrackingData",
    "change_type",
]

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

Percent = Annotated[Quantity, Field(le=100, examples=["40"])]


def _described(kind: Any, text: str) -> Any:
    """An optional field of a change (left out: not reported; null: cleared) with its meaning."""
    return Annotated[kind | None, Field(description=text)]


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

    role: ShortText | None = Field(default=None, description="The role it prices.")
    resource: Ref | None = Field(default=None, description="The person it prices.")
    engagement: Ref | None = Field(default=None, description="The engagement it is for.")
    client: Ref | None = Field(default=None, description="The client it is for.")
    task: ShortText | None = Field(default=None, description="The task it prices.")
    bill_rate: NonNegativeAmount = Field(description="The hourly bill rate.")
    cost_rate: NonNegativeAmount | None = Field(
        default=None, description="The firm's hourly cost, in its own currency."
    )
    effective_from: date = Field(description="The first work date it applies to.")
    effective_to: Annotated[date | None, Field(description="exclusive")] = None
    source_id: Annotated[
        ShortText | None, Field(description="The source's own id of this rate (Harvest rate id).")
    ] = None


class RateCardChange(CanonicalModel):
    """A rate card: the whole set of lines as the source sees it now."""

    id: SourceId = Field(description="The record's id in its source system.")
    name: ShortText | None = Field(
        default=None, description="The card's name. Null keeps the current value."
    )
    lines: Annotated[list[RateLineData], Field(max_length=5000)] | None = Field(
        default=None, description="Every line, replacing the card's; null keeps them."
    )
    currency_assumed: Annotated[
        bool | None,
        Field(
            description="True when the rates' currency is the adapter's configured default "
            "because the source's rates carry none (Harvest). " + CLEARS
        ),
    ] = None


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
    legal_entity: _described(ShortText, "the firm's legal entity that employs the person") = None
    employment_type: _described(Literal["employee", "contractor"], "employee or contractor") = None
    weekly_capacity_hours: _described(Quantity, "hours a week the person can work") = None
    default_bill_rate: _described(
        NonNegativeAmount, "the person's default hourly bill rate (Harvest default_hourly_rate)"
    ) = None


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
