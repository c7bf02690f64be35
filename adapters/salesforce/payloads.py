"""Salesforce's own shapes: Change Data Capture events (CometD JSON) and REST records."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from hub.contracts.adapters import AdapterError

_ID = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"

CHANGE_TYPES = ("CREATE", "UPDATE", "DELETE", "UNDELETE")
GAP_TYPES = ("GAP_CREATE", "GAP_UPDATE", "GAP_DELETE", "GAP_UNDELETE")
ChangeType = Literal[
    "CREATE",
    "UPDATE",
    "DELETE",
    "UNDELETE",
    "GAP_CREATE",
    "GAP_UPDATE",
    "GAP_DELETE",
    "GAP_UNDELETE",
    "GAP_OVERFLOW",
    "SNAPSHOT",
]


def to_18(record_id: str) -> str:
    """Normalises a 15-character (case-sensitive) id to its 18-character form."""
    if not isinstance(record_id, str) or not _ID.match(record_id):
        raise AdapterError("SCHEMA_VIOLATION", f"{record_id!r} is not a Salesforce id", field="id")
    if len(record_id) == 18:
        return record_id
    suffix = ""
    for start in (0, 5, 10):
        chunk = record_id[start : start + 5]
        bits = sum(1 << i for i, char in enumerate(chunk) if "A" <= char <= "Z")
        suffix += _SUFFIX[bits]
    return record_id + suffix


def epoch_ms(value: int) -> datetime:
    return datetime.fromtimestamp(0, UTC) + timedelta(milliseconds=value)


def _instant(value: Any) -> Any:
    # CometD sends "2020-12-15T23:09:18.000Z", REST "...+0000", Pub/Sub epoch milliseconds.
    if isinstance(value, int) and not isinstance(value, bool):
        return epoch_ms(value)
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return value


def _calendar_date(value: Any) -> Any:
    # A date sent as epoch ms is midnight UTC: converted in any other zone it moves a day.
    if isinstance(value, int) and not isinstance(value, bool):
        return epoch_ms(value).date()
    return value


Instant = Annotated[datetime, BeforeValidator(_instant)]
CalendarDate = Annotated[date, BeforeValidator(_calendar_date)]


class Native(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class ChangeEventHeader(Native):
    entityName: str = Field(min_length=1)
    recordIds: list[str] = []
    changeType: ChangeType
    changedFields: list[str] = []
    nulledFields: list[str] = []
    diffFields: list[str] = []
    changeOrigin: str = ""
    transactionKey: str = Field(min_length=1)
    sequenceNumber: int = Field(ge=0)
    commitTimestamp: int = Field(ge=0)
    commitNumber: int = Field(default=0, ge=0)
    commitUser: str = ""


class ReplayInfo(Native):
    replayId: int | None = None


class ChangeEvent(Native):
    """One CometD change event: {"schema", "payload": {..., "ChangeEventHeader"}, "event"}."""

    schema_id: str | None = Field(default=None, alias="schema")
    payload: dict[str, Any]
    event: ReplayInfo | None = None


class AccountFields(Native):
    Name: str | None = None
    CurrencyIsoCode: str | None = None
    BillingCountryCode: str | None = None
    BillingCountry: str | None = None
    BillingAddress: dict[str, Any] | None = None
    LastModifiedDate: Instant | None = None


class OpportunityFields(Native):
    Name: str | None = None
    AccountId: str | None = None
    StageName: str | None = None
    Amount: Decimal | None = None
    ExpectedRevenue: Decimal | None = None
    Probability: Decimal | None = None
    CurrencyIsoCode: str | None = None
    IsClosed: bool | None = None
    IsWon: bool | None = None
    LastModifiedDate: Instant | None = None


class UserFields(Native):
    # CDC sends Name as the compound {"FirstName", "LastName"}; REST as a string.
    Name: str | dict[str, Any] | None = None
    FirstName: str | None = None
    LastName: str | None = None
    Email: str | None = None
    Title: str | None = None
    Department: str | None = None
    Phone: str | None = None
    TimeZoneSidKey: str | None = None
    IsActive: bool | None = None


class ContactFields(Native):
    # CDC sends Name as the compound {"Salutation", "FirstName", "LastName"}; REST as a string.
    Name: str | dict[str, Any] | None = None
    FirstName: str | None = None
    LastName: str | None = None
    AccountId: str | None = None
    Email: str | None = None
    Phone: str | None = None
    Title: str | None = None


class QueryResult(Native):
    """A REST query page: {"totalSize", "done", "nextRecordsUrl", "records"}."""

    totalSize: int = 0
    done: bool = True
    nextRecordsUrl: str | None = None
    records: list[dict[str, Any]] = []
