"""NetSuite REST records -> canonical change events (pure functions, no I/O).

customer -> client, job (project) -> engagement, a milestone projectTask -> milestone. Each
record is ordered by lastModifiedDate and de-duplicated by (id, lastModifiedDate).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from adapters.netsuite.errors import build, parse
from adapters.netsuite.payloads import Customer, Job, Link, ProjectTask, Record, RecordRef
from adapters.refusals import currency_code, money, not_the_shape
from hub.contracts.adapters import (
    AdapterConfig,
    AdapterError,
    Mapped,
    change_event,
    embedded_event,
    message_id,
    utc_sequence,
)
from hub.contracts.changes import (
    CanonicalModel,
    ClientChange,
    Deletion,
    EngagementChange,
    MilestoneChange,
    Ref,
)

SYSTEM = "netsuite"
DEFAULT_MILESTONE_RECORD = "projecttask"
# The project statuses NetSuite ships (Setup > Accounting > Project Status); accounts rename
# and add statuses, so config.extra["job_status_map"] ("<id or name>=<status>,...") wins.
JOB_STATUS = {
    "pending": "pipeline",
    "in planning": "pipeline",
    "awarded": "won",
    "not awarded": "lost",
    "in progress": "active",
    "on hold": "on_hold",
    "closed": "closed",
}
_RECORD_PATH = re.compile(r"/record/v1/([A-Za-z_]+)/([^/?#]+)")
_ACCOUNT_HOST = re.compile(r"^([0-9a-z_-]+)\.suitetalk\.api\.netsuite\.com$")
_OPPORTUNITY = re.compile(r"^006[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?$")
_ACCOUNT = re.compile(r"^001[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?$")
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


@dataclass(frozen=True)
class Context:
    tenant: str
    config: AdapterConfig

    def option(self, name: str, default: str = "") -> str:
        return self.config.extra.get(name, default)


def milestone_record(config: AdapterConfig) -> str:
    return config.extra.get("milestone_record", DEFAULT_MILESTONE_RECORD)


def _self_href(links: list[Link] | list[dict[str, Any]]) -> str | None:
    for link in links:
        rel = link.get("rel") if isinstance(link, dict) else link.rel
        href = link.get("href") if isinstance(link, dict) else link.href
        if rel == "self" and isinstance(href, str):
            return href
    return None


def record_type_of(record: Mapping[str, Any], event: str | None = None) -> str | None:
    """The REST record type: a "recordType" field, the self link, or the caller's `event`."""
    if isinstance(record.get("recordType"), str):
        return str(record["recordType"]).lower()
    links = record.get("links")
    href = _self_href(links) if isinstance(links, list) else None
    found = _RECORD_PATH.search(urlsplit(href).path) if href else None
    if found:
        return found.group(1).lower()
    return event.lower() if event else None


def account_of(record: Mapping[str, Any]) -> str | None:
    """The NetSuite account id from the record's own link host (1234567-sb1 -> 1234567_SB1)."""
    links = record.get("links")
    href = _self_href(links) if isinstance(links, list) else None
    host = urlsplit(href).hostname if href else None
    found = _ACCOUNT_HOST.match(host or "")
    return found.group(1).replace("-", "_").upper() if found else None


def _ref_type(ref: RecordRef, default: str) -> str:
    found = _RECORD_PATH.search(urlsplit(_self_href(ref.links) or "").path)
    return found.group(1).lower() if found else default


def _currency(ref: RecordRef | None, ctx: Context, what: str) -> str | None:
    if ref is None:
        return None
    # refName is the currency record's name: an ISO code in most accounts ("USD"); others map
    # their currency ids with config.extra["currency_ids"] ("1=USD,2=GBP").
    configured = _pairs(ctx.option("currency_ids")).get(ref.id.lower())
    return currency_code(configured or ref.refName, what)


def _pairs(text: str) -> dict[str, str]:
    pairs = (item.split("=", 1) for item in text.split(",") if "=" in item)
    return {k.strip().lower(): v.strip() for k, v in pairs}


def _text(value: str | None) -> str | None:
    return value.strip() if value and value.strip() else None


def to_18(record_id: str) -> str:
    """A Salesforce id in its 18-character form."""
    if len(record_id) == 18:
        return record_id
    suffix = ""
    for start in (0, 5, 10):
        chunk = record_id[start : start + 5]
        suffix += _SUFFIX[sum(1 << i for i, c in enumerate(chunk) if "A" <= c <= "Z")]
    return record_id + suffix


def _event(
    ctx: Context, entity: str, record_type: str, data: CanonicalModel, record: Record
) -> Any:
    sequence = utc_sequence(record.lastModifiedDate)
    return change_event(
        system=SYSTEM,
        entity=entity,
        source_type=record_type,
        data=data,
        tenant=ctx.tenant,
        time=record.lastModifiedDate.astimezone(UTC),
        sequence=sequence,
        id=message_id(SYSTEM, ctx.tenant, record_type, record.id, sequence),
    )


def map_customer(raw: Mapping[str, Any], record_type: str, ctx: Context) -> Mapped:
    customer = parse(Customer, raw, "customer")
    if customer.isPerson:
        name = " ".join(p for p in (_text(customer.firstName), _text(customer.lastName)) if p)
    else:
        name = _text(customer.companyName) or ""
    fields: dict[str, Any] = {
        "legal_name": name or _text(customer.entityId),
        "status": "inactive" if customer.isInactive else "active",
        "tax_id": _text(customer.vatRegNumber),
    }
    if "currency" in raw:
        fields["billing_currency"] = _currency(customer.currency, ctx, "customer currency")
    external = (customer.externalId or "").strip()
    if _ACCOUNT.match(external):
        # The customer was created from a Salesforce account: the hub matches them by it.
        fields["external_refs"] = [
            Ref(
                system="salesforce",
                tenant=ctx.option("salesforce_tenant"),
                type="Account",
                id=to_18(external),
            )
        ]
    fields.update(_customer_details(customer))
    data = build(ClientChange, "client", id=customer.id, **fields)
    return Mapped(events=[_event(ctx, "client", record_type, data, customer)])


def _customer_details(customer: Customer) -> dict[str, Any]:
    # The REST record leaves empty fields out: a field it lacks is reported as cleared.
    address = _text(re.sub(r"(?i)<br\s*/?>", "\n", customer.defaultAddress or ""))
    parent = customer.parent
    return {
        "customer_number": _text(customer.entityId),
        "email": _text(customer.email),
        "phone": _text(customer.phone),
        "website": _text(customer.url),
        "category": _text(customer.category.refName) if customer.category else None,
        # defaultAddress is formatted text (addressee first): it is kept as street lines.
        "billing_address": {"street": address} if address else None,
        "parent": Ref(type=_ref_type(parent, "customer"), id=parent.id) if parent else None,
        "owner": Ref(type="employee", id=customer.salesRep.id) if customer.salesRep else None,
        "owner_name": _text(customer.salesRep.refName) if customer.salesRep else None,
    }


# jobBillingType (SOAP enum names and UI labels, compared without case or punctuation).
BILLING_TYPES = {
    "chargebased": "time_and_materials",
    "fixedbidinterval": "fixed_fee",
    "fixedbidmilestone": "fixed_fee",
    "timeandmaterials": "time_and_materials",
    "none": "non_billable",
}


def _billing(job: Job) -> dict[str, Any]:
    value = job.jobBillingType
    label = value if isinstance(value, str) else (value.refName or value.id if value else None)
    key = re.sub(r"[^a-z]", "", (label or "").lower())
    return {
        "contract_type": BILLING_TYPES.get(key),
        "billing_method": _text(label.lstrip("_")) if label else None,
    }


def _job_status(job: Job, ctx: Context) -> str | None:
    status = None
    if job.entityStatus is not None:
        configured = _pairs(ctx.option("job_status_map"))
        keys = (job.entityStatus.id.lower(), (job.entityStatus.refName or "").strip().lower())
        status = next((configured[k] for k in keys if k in configured), None)
        status = status or JOB_STATUS.get(keys[1])
    if job.isInactive and status not in ("closed", "lost"):
        # An inactive project can be reactivated: on_hold, since closed is terminal.
        return "on_hold"
    return status


def _opportunity_refs(job: Job, ctx: Context) -> list[Ref] | None:
    external = (job.externalId or "").strip()
    if not _OPPORTUNITY.match(external):
        return None
    # The Salesforce org is another tenant than this NetSuite account: name it explicitly.
    return [
        Ref(
            system="salesforce",
            tenant=ctx.option("salesforce_tenant"),
            type="Opportunity",
            id=to_18(external),
        )
    ]


def map_job(raw: Mapping[str, Any], record_type: str, ctx: Context) -> Mapped:
    job = parse(Job, raw, "job")
    fields: dict[str, Any] = {
        "code": _text(job.entityId),
        "name": _text(job.companyName) or _text(job.altName) or _text(job.entityId),
        "start_date": job.startDate,
        "end_date": job.projectedEndDate or job.calculatedEndDate,
    }
    if job.parent is not None:
        parent_type = _ref_type(job.parent, "customer")
        # A sub-project's parent is another job, not the customer: left for the hub to keep.
        if parent_type == "customer":
            fields["client"] = Ref(type="customer", id=job.parent.id)
    elif "parent" in raw:
        fields["client"] = None
    currency = _currency(job.currency, ctx, "job currency")
    if currency:
        fields["currency"] = currency
        if "estimatedRevenue" in raw:
            fields["budget"] = (
                money(job.estimatedRevenue, currency, "estimatedRevenue")
                if job.estimatedRevenue is not None
                else None
            )
        for target, value in (
            ("expected_revenue", job.estimatedRevenue),
            ("estimated_cost", job.estimatedCost),
        ):
            fields[target] = money(value, currency, target) if value is not None else None
    fields.update(_billing(job))
    fields["stage"] = _text(job.entityStatus.refName) if job.entityStatus else None
    fields["engagement_type"] = _text(job.jobType.refName) if job.jobType else None
    fields["percent_complete"] = job.percentComplete
    fields["calculated_end_date"] = job.calculatedEndDate
    status = _job_status(job, ctx)
    if status:
        fields["status"] = status
    # The record leaves an empty field out: no project manager is one cleared.
    fields["manager"] = (
        Ref(type="employee", id=job.projectManager.id) if job.projectManager else None
    )
    legal_entity = (job.subsidiary.refName if job.subsidiary else None) or ctx.config.legal_entity
    if legal_entity:
        fields["legal_entity"] = legal_entity
    refs = _opportunity_refs(job, ctx)
    if refs:
        fields["external_refs"] = refs
    data = build(EngagementChange, "engagement", id=job.id, **fields)
    embedded = []
    if "client" in fields and fields["client"] is not None and job.parent is not None:
        embedded = _embedded_customer(job.parent, ctx, job.lastModifiedDate)
    return Mapped(events=[_event(ctx, "engagement", record_type, data, job), *embedded])


def _embedded_customer(parent: Any, ctx: Context, time: datetime) -> list[Any]:
    """A job names its customer as `parent` {id, refName}: the customer as a change too, with
    that name and nothing it does not say (a customer never read still becomes a record)."""
    name = _text(parent.refName)
    if not name:
        return []
    data = build(ClientChange, "embedded customer", id=parent.id, legal_name=name)
    return [
        embedded_event(
            system=SYSTEM,
            entity="client",
            source_type="customer",
            data=data,
            tenant=ctx.tenant,
            time=time.astimezone(UTC),
        )
    ]


def is_milestone(raw: Mapping[str, Any], ctx: Context) -> bool:
    """isMilestone (SOAP, SuiteScript) or, since REST does not expose it, a configured flag."""
    flag = ctx.option("milestone_flag", "isMilestone")
    value = raw.get(flag)
    return value is True or (isinstance(value, str) and value.upper() in ("T", "TRUE"))


def map_milestone(raw: Mapping[str, Any], record_type: str, ctx: Context) -> Mapped:
    task = parse(ProjectTask, raw, "milestone")
    if not is_milestone(raw, ctx):
        return Mapped(ignored=f"{record_type} {task.id} is not a milestone")
    project = task.project or task.company
    status_key = (task.status.id if task.status else "").upper()
    status_name = (task.status.refName if task.status else "") or ""
    done = status_key == "COMPLETE" or status_name.strip().lower() == "completed"
    fields: dict[str, Any] = {
        "engagement": Ref(type="job", id=project.id) if project else None,
        "name": _text(task.title),
        "due_date": task.finishByDate or task.endDate,
        # Completion is delivery: acceptance needs the client's sign-off, which NetSuite lacks.
        "status": "delivered" if done else "planned",
    }
    if done and task.actualEndDate:
        fields["delivered_on"] = task.actualEndDate
    if "startDate" in task.model_fields_set:
        fields["start_date"] = task.startDate
    if "status" in task.model_fields_set:
        fields["source_status"] = _text(status_name) or (task.status.id if task.status else None)
    data = build(MilestoneChange, "milestone", id=task.id, **fields)
    return Mapped(events=[_event(ctx, "milestone", record_type, data, task)])


def map_deleted(record_type: str, record_id: str, ctx: Context, *, seen_at: datetime) -> Mapped:
    """A record the REST API no longer has (404) is a tombstone, as of when that was seen."""
    entity = entity_of(record_type, ctx.config)
    if entity is None:
        raise AdapterError("SCHEMA_VIOLATION", f"{record_type} records are not mapped")
    data = build(Deletion, "deletion", id=record_id, reason="source_deleted")
    return Mapped(
        events=[
            change_event(
                system=SYSTEM,
                entity=entity,
                source_type=record_type,
                data=data,
                tenant=ctx.tenant,
                time=seen_at,
                sequence=None,
                deleted=True,
                id=message_id(SYSTEM, ctx.tenant, record_type, record_id, "deleted"),
            )
        ]
    )


Mapper = Callable[[Mapping[str, Any], str, Context], Mapped]


def entity_of(record_type: str, config: AdapterConfig) -> str | None:
    if record_type == "customer":
        return "client"
    if record_type == "job":
        return "engagement"
    if record_type == milestone_record(config).lower():
        return "milestone"
    return None


def mapper_of(record_type: str, config: AdapterConfig) -> Mapper | None:
    return {"client": map_customer, "engagement": map_job, "milestone": map_milestone}.get(
        entity_of(record_type, config) or ""
    )


def map_record(raw: Any, ctx: Context, *, event: str | None = None) -> Mapped:
    """Maps one REST record; its type comes from recordType, its self link, or `event`."""
    if not isinstance(raw, dict):
        raise not_the_shape("a NetSuite REST record (an object)", raw)
    # The type first: an object that is no NetSuite record is refused as such, not for its id.
    record_type = record_type_of(raw, event)
    if record_type is None:
        raise AdapterError(
            "SCHEMA_VIOLATION",
            "not a NetSuite REST record: no recordType, no links self href "
            "(/record/v1/<type>/<id>), no ?event=<type>",
            field="links",
            rule="shape",
        )
    if raw.get("id") in (None, ""):
        raise AdapterError("MISSING_REQUIRED_ID", "the record has no id", field="id")
    mapper = mapper_of(record_type, ctx.config)
    if mapper is None:
        return Mapped(ignored=f"{record_type} records are not mapped")
    return mapper(raw, record_type, ctx)


def map_payload(
    data: Any, *, config: AdapterConfig, tenant: str | None, event: str | None
) -> Mapped:
    """Maps one record, or a page of full records ({"items": [...]}); an empty page is
    nothing to do."""
    paged = isinstance(data, dict) and "items" in data
    records = data["items"] if paged else [data]
    if not isinstance(records, list):
        raise not_the_shape("a list of NetSuite records", records, field="items")
    if not records:
        return Mapped(ignored="an empty page of NetSuite records: nothing changed")
    mapped = Mapped()
    ignored = []
    for n, raw in enumerate(records):
        if not isinstance(raw, dict):
            where = f"items.{n}" if paged else "body"
            raise not_the_shape("a NetSuite REST record (an object)", raw, field=where)
        account = account_of(raw)
        ctx = Context(tenant=account or config.tenant or tenant or "", config=config)
        one = map_record(raw, ctx, event=event)
        mapped.extend(one)
        if one.ignored:
            ignored.append(one.ignored)
    if ignored and not mapped.events:
        mapped.ignored = "; ".join(ignored)
    return mapped
