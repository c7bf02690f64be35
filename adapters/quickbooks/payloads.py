"""QuickBooks Online's own shapes: the CloudEvents and legacy key-only webhooks, and the
invoice as `GET /v3/company/<realm>/invoice/<id>` returns it (`{"Invoice": {...}, "time"}`)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict


class QboModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class CloudEvent(QboModel):
    """One element of the CloudEvents webhook array (`type` e.g. qbo.invoice.updated.v1)."""

    specversion: str | None = None
    id: str | None = None
    source: str | None = None
    type: str
    time: str | None = None
    intuitentityid: str | None = None
    intuitaccountid: str | None = None
    data: dict[str, Any] | None = None


class LegacyEntity(QboModel):
    name: str
    id: str | None = None
    operation: str
    lastUpdated: str | None = None
    deletedId: str | None = None


class DataChangeEvent(QboModel):
    entities: list[LegacyEntity] = []


class LegacyNotification(QboModel):
    realmId: str | None = None
    dataChangeEvent: DataChangeEvent = DataChangeEvent()


class LegacyBody(QboModel):
    eventNotifications: list[LegacyNotification]


class QboRef(QboModel):
    value: str | None = None
    name: str | None = None


class QboMetaData(QboModel):
    CreateTime: str | None = None
    LastUpdatedTime: str | None = None


class QboSalesItemLineDetail(QboModel):
    ItemRef: QboRef | None = None
    UnitPrice: Decimal | None = None
    Qty: Decimal | None = None
    TaxCodeRef: QboRef | None = None
    ServiceDate: str | None = None
    ItemAccountRef: QboRef | None = None


class QboDiscountLineDetail(QboModel):
    PercentBased: bool | None = None
    DiscountPercent: Decimal | None = None


class QboGroupLineDetail(QboModel):
    GroupItemRef: QboRef | None = None
    Quantity: Decimal | None = None
    Line: list[QboLine] = []


class QboLine(QboModel):
    """An invoice line, discriminated by `DetailType`."""

    Id: str | None = None
    LineNum: int | None = None
    Description: str | None = None
    Amount: Decimal | None = None
    DetailType: str | None = None
    SalesItemLineDetail: QboSalesItemLineDetail | None = None
    DiscountLineDetail: QboDiscountLineDetail | None = None
    GroupLineDetail: QboGroupLineDetail | None = None


class QboTaxLineDetail(QboModel):
    TaxRateRef: QboRef | None = None
    PercentBased: bool | None = None
    TaxPercent: Decimal | None = None
    NetAmountTaxable: Decimal | None = None


class QboTaxLine(QboModel):
    Amount: Decimal | None = None
    DetailType: str | None = None
    TaxLineDetail: QboTaxLineDetail | None = None


class QboTxnTaxDetail(QboModel):
    TxnTaxCodeRef: QboRef | None = None
    TotalTax: Decimal | None = None
    TaxLine: list[QboTaxLine] = []


class QboCustomField(QboModel):
    DefinitionId: str | None = None
    Name: str | None = None
    Type: str | None = None
    StringValue: str | None = None


class QboEmail(QboModel):
    Address: str | None = None


class QboInvoice(QboModel):
    Id: str | None = None
    SyncToken: str | None = None
    MetaData: QboMetaData | None = None
    DocNumber: str | None = None
    TxnDate: str | None = None
    DueDate: str | None = None
    CustomerRef: QboRef | None = None
    CurrencyRef: QboRef | None = None
    ProjectRef: QboRef | None = None
    Line: list[QboLine] = []
    TxnTaxDetail: QboTxnTaxDetail | None = None
    TotalAmt: Decimal | None = None
    Balance: Decimal | None = None
    Deposit: Decimal | None = None
    PrivateNote: str | None = None
    GlobalTaxCalculation: str | None = None
    CustomField: list[QboCustomField] = []
    ExchangeRate: Decimal | None = None
    HomeTotalAmt: Decimal | None = None
    EmailStatus: str | None = None
    BillEmail: QboEmail | None = None
    SalesTermRef: QboRef | None = None


class InvoiceResponse(QboModel):
    Invoice: QboInvoice
    time: str | None = None


QboGroupLineDetail.model_rebuild()
