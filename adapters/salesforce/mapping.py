"""Salesforce Change Data Capture -> canonical change events (pure functions, no I/O).

Account -> client, Opportunity -> engagement, Contact -> a contact of its Account's client.
An UPDATE reports only the fields named in changedFields/nulledFields: fields that are present
but not named there are enrichment (current values, not changes). Gap events, wildcard record
ids and changes that cannot be mapped from the body alone become FetchRequests.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError

from adapters.refusals import currency_code, money, not_the_shape
from adapters.salesforce.errors import build, parse, refusal
from adapters.salesforce.fields import (
    Delta,
    decimal,
    lookup,
    put_address,
    put_ref,
    put_text,
)
from adapters.salesforce.payloads import (
    GAP_TYPES,
    AccountFields,
    CalendarDate,
    ChangeEvent,
    ChangeEventHeader,
    ContactFields,
    OpportunityFields,
    UserFields,
    epoch_ms,
    to_18,
)
from hub.contracts.adapters import (
    AdapterConfig,
    AdapterError,
    FetchRequest,
    Mapped,
    RecordWanted,
    change_event,
    message_id,
    utc_sequence,
)
from hub.contracts.changes import (
    ClientChange,
    ContactData,
    ContactRemoval,
    Deletion,
    EngagementChange,
    Ref,
    ResourceChange,
)

SYSTEM = "salesforce"
ENTITIES = {
    "Account": "client",
    "Opportunity": "engagement",
    "Contact": "client",
    "User": "resource",
}
DEFAULT_API_VERSION = "v60.0"
# The Contact fields a contact is rebuilt from: an UPDATE carrying fewer is refetched, since a
# contact is replaced as a whole.
CONTACT_FIELDS = ("AccountId", "Email", "Phone", "Title")
_COUNTRY = re.compile(r"^[A-Za-z]{2}$")
_ORIGIN_CLIENT = re.compile(r"client=([^;/\s]+)")
_DATE = TypeAdapter(CalendarDate)


@dataclass(frozen=True)
class Context:
    """Where one change sits in Salesforce's order, and whose org it came from."""

    tenant: str
    entity: str
    transaction_key: str
    sequence_number: int
    sequence: str
    time: datetime
    change_type: str

    def hint(self) -> dict[str, Any]:
        return {
            "entity": self.entity,
            "transaction_key": self.transaction_key,
            "sequence_number": self.sequence_number,
            "sequence": self.sequence,
            "time": self.time.isoformat(),
            "change_type": self.change_type,
        }

    @classmethod
    def from_hint(cls, hint: Mapping[str, Any], tenant: str) -> Context:
        try:
            return cls(
                tenant=tenant,
                entity=str(hint["entity"]),
                transaction_key=str(hint["transaction_key"]),
                sequence_number=int(hint["sequence_number"]),
                sequence=str(hint["sequence"]),
                time=datetime.fromisoformat(str(hint["time"])),
                change_type=str(hint.get("change_type", "FETCH")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise AdapterError("SCHEMA_VIOLATION", f"fetch hint is incomplete: {exc}") from exc

    def message_id(self, record_type: str, record_id: str) -> str:
        # The semantic key of DOMAIN 2.14: the same change has it on every channel and replay.
        return message_id(
            SYSTEM, self.tenant, self.transaction_key, self.sequence_number, record_type, record_id
        )


def settings(config: AdapterConfig) -> dict[str, str]:
    return dict(config.extra)


def tenant_of(config: AdapterConfig, tenant: str | None) -> str:
    return config.tenant or tenant or ""


def is_echo(header: ChangeEventHeader, config: AdapterConfig) -> bool:
    """True for a change the hub itself wrote (changeOrigin names the hub's client id)."""
    own = config.extra.get("client_id")
    found = _ORIGIN_CLIENT.search(header.changeOrigin)
    return bool(own and found and found.group(1) == own)


_EXPECTED = "a CometD change event (an object with payload.ChangeEventHeader) or a Bayeux batch"


def map_message(data: Any, *, config: AdapterConfig, tenant: str | None = None) -> Mapped:
    """Maps a CometD change event, a Bayeux message wrapping one, or a list of them."""
    if isinstance(data, list):
        if not data:
            raise not_the_shape(_EXPECTED, data)  # Bayeux delivers no empty batches
        mapped = Mapped()
        ignored = []
        for n, item in enumerate(data):
            if not isinstance(item, dict):
                raise not_the_shape(
                    "a change event or Bayeux message (an object)", item, field=str(n)
                )
            one = map_message(item, config=config, tenant=tenant)
            mapped.extend(one)
            if one.ignored:
                ignored.append(one.ignored)
        if not mapped.events and not mapped.fetches and ignored:
            mapped.ignored = "; ".join(ignored)
        return mapped
    if isinstance(data, dict) and "payload" not in data and isinstance(data.get("data"), dict):
        data = data["data"]  # a Bayeux message {"channel": "/data/...", "data": {...}}
    if not isinstance(data, dict):
        raise not_the_shape(_EXPECTED, data)
    event = parse(ChangeEvent, data, "change event")
    if "ChangeEventHeader" not in event.payload:
        raise AdapterError(
            "MISSING_REQUIRED_ID",
            "the payload has no ChangeEventHeader",
            field="payload.ChangeEventHeader",
        )
    header = parse(ChangeEventHeader, event.payload["ChangeEventHeader"], "ChangeEventHeader")
    return map_change(header, event.payload, config=config, tenant=tenant_of(config, tenant))


def map_change(
    header: ChangeEventHeader, payload: Mapping[str, Any], *, config: AdapterConfig, tenant: str
) -> Mapped:
    """Maps one change event, fanned out to one canonical event per record id."""
    if header.changeType == "SNAPSHOT":
        return Mapped(ignored="SNAPSHOT events are reserved")
    if is_echo(header, config):
        return Mapped(ignored="echo of the hub's own write")
    time = epoch_ms(header.commitTimestamp)
    ctx = Context(
        tenant=tenant,
        entity=header.entityName,
        transaction_key=header.transactionKey,
        sequence_number=header.sequenceNumber,
        sequence=utc_sequence(time, header.commitNumber, header.sequenceNumber),
        time=time,
        change_type=header.changeType,
    )
    if header.entityName not in ENTITIES:
        return Mapped(ignored=f"{header.entityName} changes are not mapped")
    if header.changeType == "GAP_OVERFLOW" or any("*" in rid for rid in header.recordIds):
        # Over 100 000 changes in one transaction, or a field-type conversion: no usable ids.
        return Mapped(fetches=[resync_request(ctx, config)])
    if not header.recordIds:
        raise AdapterError(
            "MISSING_REQUIRED_ID",
            "the change names no recordIds",
            field="ChangeEventHeader.recordIds",
        )
    fields = {k: v for k, v in payload.items() if k != "ChangeEventHeader"}
    delta = Delta(
        fields=fields,
        changed=frozenset(header.changedFields),
        nulled=frozenset(header.nulledFields),
        full=header.changeType in ("CREATE", "UNDELETE"),
    )
    mapped = Mapped()
    ignored = []
    for raw_id in dict.fromkeys(header.recordIds):
        record_id = to_18(raw_id)
        if header.changeType in GAP_TYPES:
            one = Mapped(fetches=[record_request(ctx, record_id, config)])
        elif header.changeType == "DELETE":
            one = map_deleted(ctx, record_id, config=config)
        else:
            one = map_record_change(ctx, record_id, delta, config=config)
        mapped.extend(one)
        if one.ignored:
            ignored.append(one.ignored)
    if ignored and not mapped.events and not mapped.fetches:
        mapped.ignored = "; ".join(ignored)
    return mapped


def map_record_change(
    ctx: Context, record_id: str, delta: Delta, *, config: AdapterConfig
) -> Mapped:
    if ctx.entity == "Account":
        return _client(ctx, record_id, delta, config)
    if ctx.entity == "Opportunity":
        return _engagement(ctx, record_id, delta, config)
    if ctx.entity == "User":
        return _resource(ctx, record_id, delta)
    return _contact(ctx, record_id, delta, config)


def map_fetched(ctx: Context, record: Mapping[str, Any], *, config: AdapterConfig) -> Mapped:
    """Maps a record read from the REST API as a full change at the change's place in order."""
    raw_id = record.get("Id")
    if not isinstance(raw_id, str) or not raw_id:
        raise AdapterError("MISSING_REQUIRED_ID", "the fetched record has no Id", field="Id")
    return map_record_change(
        ctx, to_18(raw_id), Delta(fields=dict(record), full=True), config=config
    )


def map_deleted(
    ctx: Context, record_id: str, *, config: AdapterConfig, account_id: str | None = None
) -> Mapped:
    """A deleted Account or Opportunity is a tombstone; a deleted Contact leaves its client."""
    if ctx.entity == "Contact":
        if account_id is None:
            # A DELETE body has no fields: which Account held the contact needs a lookup.
            return Mapped(fetches=[record_request(ctx, record_id, config, kind="deleted_contact")])
        version = contact_sequence(ctx, record_id)
        removal = build(ContactRemoval, "contact removal", id=record_id, version=version)
        data = build(ClientChange, "client", id=to_18(account_id), contact_removals=[removal])
        return Mapped(
            events=[_event(ctx, "client", "Account", data, record_id, version, partial=True)]
        )
    entity = ENTITIES[ctx.entity]
    data = build(Deletion, "deletion", id=record_id, reason="source_deleted")
    return Mapped(events=[_event(ctx, entity, ctx.entity, data, record_id, deleted=True)])


def record_request(
    ctx: Context, record_id: str, config: AdapterConfig, kind: str = "record"
) -> FetchRequest:
    return FetchRequest(
        kind=kind,
        id=record_id,
        tenant=ctx.tenant,
        url=record_url(config, ctx.entity, record_id),
        hint=ctx.hint(),
    )


def refetch_request(record: RecordWanted, config: AdapterConfig) -> FetchRequest | None:
    """The REST read of a record the hub needs whole, at the place in order of the partial
    change that named it (so that change, applied after it, is no longer news)."""
    url = record_url(config, record.source_type, record.source_id)
    if url is None or record.source_type not in ENTITIES:
        return None
    ctx = Context(
        tenant=record.tenant,
        entity=record.source_type,
        transaction_key=f"refetch:{record.sequence or record.time.isoformat()}",
        sequence_number=0,
        sequence=record.sequence or utc_sequence(record.time),
        time=record.time,
        change_type="FETCH",
    )
    return record_request(ctx, record.source_id, config)


def resync_request(ctx: Context, config: AdapterConfig) -> FetchRequest:
    base = (config.base_url or "").rstrip("/")
    url = f"{base}/services/data/{api_version(config)}/query" if base else None
    return FetchRequest(kind="resync", id=ctx.entity, tenant=ctx.tenant, url=url, hint=ctx.hint())


def api_version(config: AdapterConfig) -> str:
    return config.extra.get("api_version", DEFAULT_API_VERSION)


def record_url(config: AdapterConfig, entity: str, record_id: str) -> str | None:
    base = (config.base_url or "").rstrip("/")
    if not base:
        return None
    return f"{base}/services/data/{api_version(config)}/sobjects/{entity}/{record_id}"


def contact_sequence(ctx: Context, contact_id: str) -> str:
    """The order key of a Contact's change to its Account's client. The contact id goes last:
    contacts of one Account changed in one merged event share the change's own sequence, and
    the hub counts a repeated sequence of one record as a duplicate."""
    return f"{ctx.sequence}|{contact_id}"


def _event(
    ctx: Context,
    entity: str,
    source_type: str,
    data: Any,
    key_id: str,
    sequence: str | None = None,
    *,
    deleted: bool = False,
    partial: bool = False,
) -> Any:
    return change_event(
        system=SYSTEM,
        entity=entity,
        source_type=source_type,
        data=data,
        tenant=ctx.tenant,
        time=ctx.time,
        sequence=sequence or ctx.sequence,
        id=ctx.message_id(ctx.entity, key_id),
        deleted=deleted,
        partial=partial,
    )


def _default_currency(config: AdapterConfig) -> str | None:
    # Only a single-currency org has one currency for every record.
    if config.extra.get("multi_currency", "").lower() in ("1", "true", "yes"):
        return None
    return config.default_currency


def _country(delta: Delta) -> tuple[bool, str | None]:
    paths = (
        "BillingCountryCode",
        "BillingAddress.CountryCode",
        "BillingCountry",
        "BillingAddress.Country",
    )
    reported = [p for p in paths if delta.reports(p)]
    if not reported:
        return False, None
    for path in paths:
        value = lookup(delta.fields, path)
        if isinstance(value, str) and _COUNTRY.match(value.strip()):
            return True, value.strip().upper()
    if all(delta.nulls(p) for p in reported):
        return True, None
    return False, None  # a country name, not an ISO code: not guessed


def _unchanged(ctx: Context, record_id: str) -> Mapped:
    # An UPDATE of fields the hub does not map (or of LastModifiedDate alone) changes nothing.
    return Mapped(ignored=f"{ctx.entity} {record_id}: no mapped field changed")


def _client(ctx: Context, record_id: str, delta: Delta, config: AdapterConfig) -> Mapped:
    fields = parse(AccountFields, dict(delta.fields), "Account")
    out: dict[str, Any] = {}
    if delta.reports("Name"):
        out["legal_name"] = fields.Name
    if delta.reports("CurrencyIsoCode"):
        out["billing_currency"] = (
            currency_code(fields.CurrencyIsoCode, "Account") if fields.CurrencyIsoCode else None
        )
    elif delta.full and _default_currency(config):
        out["billing_currency"] = currency_code(_default_currency(config), "default currency")
    reported, country = _country(delta)
    if reported:
        out["country"] = country
    tax_field = config.extra.get("account_tax_id_field")
    if tax_field and delta.reports(tax_field):
        value = lookup(delta.fields, tax_field)
        out["tax_id"] = str(value) if value not in (None, "") else None
    trading_field = config.extra.get("account_trading_name_field")
    if trading_field:
        put_text(out, delta, "trading_name", trading_field)
    for target, path in (
        ("industry", "Industry"),
        ("category", "Type"),
        ("customer_number", "AccountNumber"),
        ("website", "Website"),
        ("phone", "Phone"),
    ):
        put_text(out, delta, target, path)
    put_address(out, delta, "billing_address", "Billing")
    put_address(out, delta, "shipping_address", "Shipping")
    put_ref(out, delta, "parent", "ParentId", "Account")
    put_ref(out, delta, "owner", "OwnerId", "User")
    if not out and not delta.full:
        return _unchanged(ctx, record_id)
    data = build(ClientChange, "client", id=record_id, **out)
    return Mapped(
        events=[_event(ctx, "client", "Account", data, record_id, partial=not delta.full)]
    )


def _amount(value: Any, currency: str | None, what: str) -> dict[str, Any] | None:
    """Money in the opportunity's currency; without one (a multi-currency org's UPDATE of
    Amount alone) the amount goes without it, and the hub takes the record's currency."""
    if value is None:
        return None
    if currency is None:
        return {"amount": value}
    return money(value, currency, what)


def _status(fields: OpportunityFields, delta: Delta) -> tuple[bool, str | None]:
    """pipeline, won or lost from IsClosed/IsWon (StageName is a label orgs rename)."""
    closed_named, won_named = delta.reports("IsClosed"), delta.reports("IsWon")
    if delta.full:
        closed = bool(fields.IsClosed) or bool(fields.IsWon)
        won = bool(fields.IsWon)
    elif closed_named or won_named:
        # The unnamed flag did not change: if only IsWon changed the opportunity was and is
        # closed; if only IsClosed changed, it was not won (an open opportunity never is).
        won = fields.IsWon if fields.IsWon is not None else False
        closed = fields.IsClosed if fields.IsClosed is not None else won_named or won
    else:
        return False, None
    if not closed:
        return True, "pipeline"
    return True, "won" if won else "lost"


def _date_field(delta: Delta, name: str) -> tuple[bool, Any]:
    if not name or not delta.reports(name):
        return False, None
    value = lookup(delta.fields, name)
    if value is None:
        return True, None
    try:
        return True, _DATE.validate_python(value)
    except ValidationError as exc:
        raise refusal(exc, f"Opportunity.{name}") from exc


def _engagement(ctx: Context, record_id: str, delta: Delta, config: AdapterConfig) -> Mapped:
    fields = parse(OpportunityFields, dict(delta.fields), "Opportunity")
    out: dict[str, Any] = {}
    if delta.reports("Name"):
        out["name"] = fields.Name
    if delta.reports("AccountId"):
        out["client"] = (
            Ref(type="Account", id=to_18(fields.AccountId)) if fields.AccountId else None
        )
    currency = fields.CurrencyIsoCode or _default_currency(config)
    if delta.reports("CurrencyIsoCode") or (delta.full and currency):
        out["currency"] = currency_code(currency, "Opportunity") if currency else None
    for target, path in (("amount", "Amount"), ("expected_revenue", "ExpectedRevenue")):
        reported, value = decimal(delta, path)
        if reported:
            out[target] = _amount(value, currency, f"Opportunity.{path}")
    if "amount" in out:
        # The CRM's amount is the engagement's budget until an ERP reports its own.
        out["budget"] = out["amount"]
    reported, probability = decimal(delta, "Probability")
    if reported:
        out["probability"] = probability
    put_text(out, delta, "stage", "StageName")
    # The label (ForecastCategoryName) where the event carries it, else the API value.
    put_text(out, delta, "forecast_category", "ForecastCategoryName", "ForecastCategory")
    put_text(out, delta, "engagement_type", "Type")
    put_text(out, delta, "lead_source", "LeadSource")
    put_ref(out, delta, "owner", "OwnerId", "User")
    reported, close = _date_field(delta, "CloseDate")
    if reported:
        out["expected_close_date"] = close
    reported, status = _status(fields, delta)
    if reported:
        out["status"] = status
    for target, key, default in (
        ("start_date", "opportunity_start_field", "CloseDate"),
        ("end_date", "opportunity_end_field", ""),
    ):
        reported, value = _date_field(delta, config.extra.get(key, default))
        if reported:
            out[target] = value
    if delta.full and config.legal_entity:
        out["legal_entity"] = config.legal_entity
    if not out and not delta.full:
        return _unchanged(ctx, record_id)
    data = build(EngagementChange, "engagement", id=record_id, **out)
    return Mapped(
        events=[_event(ctx, "engagement", "Opportunity", data, record_id, partial=not delta.full)]
    )


def _resource(ctx: Context, record_id: str, delta: Delta) -> Mapped:
    """A User: a person at the firm, who owns accounts and deals and may deliver work."""
    fields = parse(UserFields, dict(delta.fields), "User")
    out: dict[str, Any] = {}
    if delta.reports("Name") or delta.reports("FirstName") or delta.reports("LastName"):
        out["name"] = _contact_name(fields) or None  # type: ignore[arg-type]
    for target, path in (
        ("email", "Email"),
        ("role", "Title"),
        ("department", "Department"),
        ("phone", "Phone"),
        ("time_zone", "TimeZoneSidKey"),  # an IANA name ("Europe/Paris")
    ):
        put_text(out, delta, target, path)
    if delta.reports("IsActive") and fields.IsActive is not None:
        out["status"] = "active" if fields.IsActive else "inactive"
    if not out and not delta.full:
        return _unchanged(ctx, record_id)
    data = build(ResourceChange, "resource", id=record_id, **out)
    return Mapped(events=[_event(ctx, "resource", "User", data, record_id)])


def _contact_name(fields: ContactFields) -> str:
    if isinstance(fields.Name, str):
        return fields.Name.strip()
    parts: Iterable[Any] = (fields.FirstName, fields.LastName)
    if isinstance(fields.Name, dict):
        parts = (fields.Name.get("FirstName"), fields.Name.get("LastName"))
    return " ".join(str(p).strip() for p in parts if p).strip()


def _contact(ctx: Context, record_id: str, delta: Delta, config: AdapterConfig) -> Mapped:
    present = set(delta.fields) | delta.nulled
    has_name = bool(present & {"Name", "FirstName", "LastName"})
    complete = has_name and all(k in present for k in CONTACT_FIELDS)
    if not delta.full and not complete:
        return Mapped(fetches=[record_request(ctx, record_id, config)])
    fields = parse(ContactFields, dict(delta.fields), "Contact")
    if not fields.AccountId:
        return Mapped(ignored=f"Contact {record_id} belongs to no Account")
    version = contact_sequence(ctx, record_id)
    contact = build(
        ContactData,
        "contact",
        id=record_id,
        version=version,
        name=_contact_name(fields),
        email=fields.Email or "",
        phone=fields.Phone or "",
        role=fields.Title or "",
    )
    data = build(ClientChange, "client", id=to_18(fields.AccountId), contact_updates=[contact])
    # Only the Account's contacts: a partial change of the Account.
    return Mapped(events=[_event(ctx, "client", "Account", data, record_id, version, partial=True)])
