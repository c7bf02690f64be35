"""Odoo JSON-RPC records -> canonical change events (pure functions, no I/O).

res.partner -> client (a contact person -> a contact of its parent's client),
project.project -> engagement, project.milestone -> milestone, account.analytic.line with a
project (a timesheet line) -> time entry. Only the fields a record
carries are reported (search_read returns the fields asked for); `false` is an empty value,
so a field sent as false is reported as cleared. Ordered by write_date, de-duplicated by
(model, id, write_date).

Archiving (active=false) is reversible in Odoo: an archived project maps to on_hold (closed
is terminal in the hub); an archived customer to inactive; an archived contact leaves its
client. A project whose last update says "done" is closed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from adapters.odoo.errors import build, parse
from adapters.odoo.payloads import Milestone, Partner, Project, Record, Timesheet
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
    ContactData,
    ContactRemoval,
    Deletion,
    EngagementChange,
    MilestoneChange,
    Ref,
    TimeEntryChange,
)

SYSTEM = "odoo"
PARTNER, PROJECT, MILESTONE = "res.partner", "project.project", "project.milestone"
TIMESHEET = "account.analytic.line"
ENTITIES = {
    PARTNER: "client",
    PROJECT: "engagement",
    MILESTONE: "milestone",
    TIMESHEET: "time_entry",
}
# The fields polling asks for (Odoo 16/17 names).
FIELDS = {
    PARTNER: [
        "name",
        "is_company",
        "parent_id",
        "type",
        "email",
        "phone",
        "function",
        "vat",
        "country_code",
        "street",
        "street2",
        "city",
        "state_id",
        "zip",
        "website",
        "industry_id",
        "user_id",
        "ref",
        "active",
        "write_date",
    ],
    PROJECT: [
        "name",
        "active",
        "partner_id",
        "company_id",
        "currency_id",
        "user_id",
        "date_start",
        "date",
        "last_update_status",
        "stage_id",
        "write_date",
    ],
    MILESTONE: [
        "name",
        "project_id",
        "deadline",
        "is_reached",
        "reached_date",
        "active",
        "write_date",
    ],
    TIMESHEET: [
        "name",
        "date",
        "unit_amount",
        "amount",
        "project_id",
        "task_id",
        "employee_id",
        "user_id",
        "currency_id",
        "company_id",
        "write_date",
    ],
}


def fields_of(model: str, config: AdapterConfig) -> list[str]:
    """The fields polling asks for: FIELDS, plus those of optional modules or other versions
    an instance has (option fields_<model>, e.g. fields_project_project = "allow_billable,
    pricing_type,account_id" with sale_timesheet, fields_project_milestone =
    "quantity_percentage,sale_line_id" with sale_project; asking for a field it lacks is an
    error). The Enterprise timesheet approval field named by timesheet_validated_field is
    asked for too."""
    extra = config.extra.get("fields_" + model.replace(".", "_"), "")
    more = [name.strip() for name in extra.split(",") if name.strip()]
    validated = config.extra.get("timesheet_validated_field")
    if model == TIMESHEET and validated:
        more.append(validated)
    return FIELDS[model] + [name for name in dict.fromkeys(more) if name not in FIELDS[model]]


# last_update_status values: on_track, at_risk, off_track, on_hold, to_define, done.
PROJECT_STATUS = {"on_hold": "on_hold", "done": "closed"}


@dataclass(frozen=True)
class Context:
    tenant: str
    config: AdapterConfig


def model_of(record: Mapping[str, Any], event: str | None) -> str:
    """The model: an automation webhook's _model, the caller's `event`, or the fields."""
    if isinstance(record.get("_model"), str):
        return str(record["_model"])
    if event:
        return event
    keys = set(record)
    # Fields only that model has (search_read items carry the fields asked for, `read` all).
    if keys & {"unit_amount", "employee_id"}:
        return TIMESHEET
    if keys & {"is_reached", "deadline", "reached_date", "quantity_percentage"}:
        return MILESTONE
    if keys & {
        "allow_milestones",
        "last_update_status",
        "date_start",
        "allow_timesheets",
        "allow_billable",
        "milestone_ids",
        "is_template",
    }:
        return PROJECT
    if keys & {"is_company", "parent_id", "vat", "country_code", "commercial_partner_id"}:
        return PARTNER
    raise AdapterError(
        "SCHEMA_VIOLATION",
        "not an Odoo record of res.partner, project.project or project.milestone by its "
        "fields: name the model with ?event=<model> or send _model",
        field="_model",
        rule="shape",
    )


def _written(record: Record) -> datetime:
    if record.write_date is None:
        raise AdapterError(
            "SCHEMA_VIOLATION",
            "write_date is required to order and de-duplicate an Odoo record",
            field="write_date",
        )
    return record.write_date.astimezone(UTC)


def _sequence(record: Record) -> str:
    return utc_sequence(_written(record))


def _event(
    ctx: Context, model: str, data: CanonicalModel, record: Record, sequence: str | None = None
) -> Any:
    own = _sequence(record)
    return change_event(
        system=SYSTEM,
        entity=ENTITIES[model],
        source_type=model,
        data=data,
        tenant=ctx.tenant,
        time=_written(record),
        sequence=sequence or own,
        id=message_id(SYSTEM, ctx.tenant, model, record.id, own),
    )


def _given(raw: Mapping[str, Any], *names: str) -> bool:
    return any(name in raw for name in names)


def _ref(kind: str, relation: Any) -> Ref | None:
    return Ref(type=kind, id=str(relation.id)) if relation is not None else None


def _key(kind: str, relation: Any) -> dict[str, str] | None:
    """A source record kept as a reference only (a task, a sale order line)."""
    return {"type": kind, "id": str(relation.id)} if relation is not None else None


def map_partner(raw: Mapping[str, Any], ctx: Context) -> Mapped:
    partner = parse(Partner, raw, PARTNER)
    if partner.parent_id is not None and not partner.is_company:
        return _contact(partner, partner.parent_id.id, ctx)
    fields: dict[str, Any] = {}
    if _given(raw, "name"):
        fields["legal_name"] = partner.name
    if _given(raw, "country_code"):
        code = (partner.country_code or "").strip().upper()
        fields["country"] = code or None
    if _given(raw, "vat"):
        fields["tax_id"] = partner.vat
    if _given(raw, "active"):
        fields["status"] = "active" if partner.active else "inactive"
    fields.update(_partner_details(partner, raw))
    data = build(ClientChange, "client", id=str(partner.id), **fields)
    return Mapped(events=[_event(ctx, PARTNER, data, partner)])


# A state's display name is "<name> (<country code>)".
_STATE_SUFFIX = re.compile(r"\s*\([A-Z]{2}\)$")


def _partner_details(partner: Partner, raw: Mapping[str, Any]) -> dict[str, Any]:
    """What describes a company, from the fields the record carries (false is empty)."""
    fields: dict[str, Any] = {}
    for target, name in (
        ("email", "email"),
        ("phone", "phone"),
        ("website", "website"),
        ("customer_number", "ref"),
    ):
        if _given(raw, name):
            fields[target] = getattr(partner, name)
    if _given(raw, "industry_id"):
        fields["industry"] = partner.industry_id.name if partner.industry_id else None
    if _given(raw, "parent_id"):
        fields["parent"] = _ref(PARTNER, partner.parent_id)
    if _given(raw, "user_id"):
        fields["owner"] = _ref("res.users", partner.user_id)
        fields["owner_name"] = partner.user_id.name if partner.user_id else None
    lines: dict[str, Any] = {}
    if _given(raw, "street", "street2"):
        street = [p for p in (partner.street, partner.street2) if p]
        lines["street"] = "\n".join(street) or None
    if _given(raw, "city"):
        lines["city"] = partner.city
    if _given(raw, "state_id"):
        state = partner.state_id
        lines["region"] = _STATE_SUFFIX.sub("", state.name) if state else None
    if _given(raw, "zip"):
        lines["postal_code"] = partner.zip
    if _given(raw, "country_code"):
        lines["country"] = (partner.country_code or "").strip().upper() or None
    if set(lines) - {"country"}:
        # The company's own address: Odoo invoices it unless an invoice address is set.
        fields["billing_address"] = lines
    return fields


def _contact(partner: Partner, parent: int, ctx: Context) -> Mapped:
    # Invoice and delivery addresses are children of a partner too, but not people.
    if partner.type not in (None, "contact"):
        return Mapped(ignored=f"res.partner {partner.id} is a {partner.type} address")
    # Per-contact order: contacts of one company written in the same second would otherwise
    # share one sequence on the company's record, and the hub counts that as a duplicate.
    version = f"{_sequence(partner)}|{partner.id}"
    if not partner.active:
        change = {
            "contact_removals": [
                build(ContactRemoval, "contact", id=str(partner.id), version=version)
            ]
        }
    else:
        contact = build(
            ContactData,
            "contact",
            id=str(partner.id),
            version=version,
            name=partner.name or partner.email or "",
            email=partner.email or "",
            phone=partner.phone or "",
            role=partner.function or "",
        )
        change = {"contact_updates": [contact]}
    data = build(ClientChange, "client", id=str(parent), **change)
    return Mapped(events=[_event(ctx, PARTNER, data, partner, version)])


def _project_status(project: Project, raw: Mapping[str, Any]) -> tuple[bool, str | None]:
    if not _given(raw, "active", "last_update_status"):
        return False, None
    status = PROJECT_STATUS.get(project.last_update_status or "", "active")
    if not project.active and status != "closed":
        status = "on_hold"
    return True, status


def map_project(raw: Mapping[str, Any], ctx: Context) -> Mapped:
    project = parse(Project, raw, PROJECT)
    fields: dict[str, Any] = {}
    if _given(raw, "name"):
        fields["name"] = project.name
    if _given(raw, "partner_id"):
        fields["client"] = _ref(PARTNER, project.partner_id)
    if _given(raw, "currency_id"):
        # res.currency's display name is its ISO code.
        fields["currency"] = (
            currency_code(project.currency_id.name, "currency_id") if project.currency_id else None
        )
    if _given(raw, "user_id"):
        fields["manager"] = _ref("res.users", project.user_id)
    if _given(raw, "date_start"):
        fields["start_date"] = project.date_start
    if _given(raw, "date"):
        fields["end_date"] = project.date
    reported, status = _project_status(project, raw)
    if reported:
        fields["status"] = status
    fields.update(_project_details(project, raw))
    if project.company_id is not None:
        fields["legal_entity"] = project.company_id.name
    elif ctx.config.legal_entity:
        fields["legal_entity"] = ctx.config.legal_entity
    data = build(EngagementChange, "engagement", id=str(project.id), **fields)
    embedded = _embedded_partner(project.partner_id, ctx, _written(project))
    return Mapped(events=[_event(ctx, PROJECT, data, project), *embedded])


def _embedded_partner(relation: Any, ctx: Context, time: datetime) -> list[Any]:
    """A many2one [id, "display name"] names its partner: the client as a change too, with
    that name and nothing it does not say (a customer never polled still becomes a record)."""
    name = getattr(relation, "name", None)
    if relation is None or not isinstance(name, str) or not name.strip():
        return []
    data = build(ClientChange, "embedded partner", id=str(relation.id), legal_name=name.strip())
    return [
        embedded_event(
            system=SYSTEM,
            entity="client",
            source_type=PARTNER,
            data=data,
            tenant=ctx.tenant,
            time=time,
        )
    ]


PRICING = {
    "fixed_rate": "fixed_fee",
    "task_rate": "time_and_materials",
    "employee_rate": "time_and_materials",
}


def _project_details(project: Project, raw: Mapping[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if _given(raw, "stage_id"):
        fields["stage"] = project.stage_id.name if project.stage_id else None
    if _given(raw, "last_update_status"):
        fields["health"] = project.last_update_status
    if _given(raw, "account_id", "analytic_account_id"):
        account = project.account_id or project.analytic_account_id
        fields["analytic_account"] = account.name if account else None
    if _given(raw, "pricing_type"):
        fields["billing_method"] = project.pricing_type
    if project.allow_billable is False:
        fields["contract_type"] = "non_billable"
    elif _given(raw, "allow_billable", "pricing_type"):
        # Billable: how is told only by the pricing type (absent from Odoo 17 on).
        fields["contract_type"] = PRICING.get(project.pricing_type or "")
    return fields


def map_milestone(raw: Mapping[str, Any], ctx: Context) -> Mapped:
    milestone = parse(Milestone, raw, MILESTONE)
    fields: dict[str, Any] = {}
    if _given(raw, "name"):
        fields["name"] = milestone.name
    if _given(raw, "project_id"):
        fields["engagement"] = _ref(PROJECT, milestone.project_id)
    if _given(raw, "deadline"):
        fields["due_date"] = milestone.deadline
    if _given(raw, "is_reached"):
        # Reached is delivery; acceptance needs a sign-off record (DOMAIN 3.6).
        fields["status"] = "delivered" if milestone.is_reached else "planned"
        fields["delivered_on"] = milestone.reached_date if milestone.is_reached else None
    if _given(raw, "quantity_percentage"):
        fields["share"] = milestone.quantity_percentage
    if _given(raw, "sale_line_id"):
        fields["sale_line"] = _key("sale.order.line", milestone.sale_line_id)
    data = build(MilestoneChange, "milestone", id=str(milestone.id), **fields)
    return Mapped(events=[_event(ctx, MILESTONE, data, milestone)])


def map_timesheet(raw: Mapping[str, Any], ctx: Context) -> Mapped:
    """A timesheet line: hours of an employee on a project's task, with its cost.

    The employee is the resource (every line has one; a user may not). Odoo stores the cost
    as a negative `amount` in the company's currency; it is kept as a positive cost. Hours
    are `unit_amount`, in the company's time encoding (hours by default).
    """
    line = parse(Timesheet, raw, TIMESHEET)
    if _given(raw, "project_id") and line.project_id is None:
        return Mapped(ignored=f"{TIMESHEET} {line.id} is not a timesheet (no project)")
    fields: dict[str, Any] = {}
    if _given(raw, "project_id"):
        fields["engagement"] = _ref(PROJECT, line.project_id)
    if _given(raw, "employee_id"):
        fields["resource"] = _ref("hr.employee", line.employee_id)
    if _given(raw, "date"):
        fields["work_date"] = line.date
    if _given(raw, "unit_amount"):
        fields["hours"] = line.unit_amount
    if _given(raw, "name"):
        # Odoo's default description is "/": no note.
        fields["notes"] = None if (line.name or "").strip() in ("", "/") else line.name
    if _given(raw, "task_id"):
        fields["task"] = line.task_id.name if line.task_id else None
        fields["task_ref"] = _key("project.task", line.task_id)
    if _given(raw, "amount") and line.currency_id is not None:
        cost = None if line.amount is None else -line.amount
        currency = currency_code(line.currency_id.name, "currency_id")
        fields["cost"] = None if cost is None else money(cost, currency, "timesheet amount")
    validated = ctx.config.extra.get("timesheet_validated_field")
    if validated and _given(raw, validated):
        fields["status"] = "approved" if raw.get(validated) is True else "draft"
    data = build(TimeEntryChange, "time entry", id=str(line.id), **fields)
    return Mapped(events=[_event(ctx, TIMESHEET, data, line)])


Mapper = Callable[[Mapping[str, Any], Context], Mapped]
MAPPERS: dict[str, Mapper] = {
    PARTNER: map_partner,
    PROJECT: map_project,
    MILESTONE: map_milestone,
    TIMESHEET: map_timesheet,
}


def map_records(records: list[Any], ctx: Context, *, event: str | None = None) -> Mapped:
    mapped = Mapped()
    ignored = []
    for n, raw in enumerate(records):
        if not isinstance(raw, dict):
            raise not_the_shape("an Odoo record (an object)", raw, field=f"result.{n}")
        # The model first: an object that is no Odoo record is refused as such, not for its id.
        model = model_of(raw, event)
        record_id = raw.get("id", raw.get("_id"))
        if record_id in (None, False):
            raise AdapterError("MISSING_REQUIRED_ID", "the record has no id", field="id")
        record = {**raw, "id": record_id}
        mapper = MAPPERS.get(model)
        one = mapper(record, ctx) if mapper else Mapped(ignored=f"{model} is not mapped")
        mapped.extend(one)
        if one.ignored:
            ignored.append(one.ignored)
    if ignored and not mapped.events:
        mapped.ignored = "; ".join(ignored)
    return mapped


def map_deleted(model: str, record_id: int, ctx: Context, *, seen_at: datetime) -> Mapped:
    """A record search_read no longer finds (even archived) was unlinked: a tombstone."""
    data = build(Deletion, "deletion", id=str(record_id), reason="source_deleted")
    return Mapped(
        events=[
            change_event(
                system=SYSTEM,
                entity=ENTITIES[model],
                source_type=model,
                data=data,
                tenant=ctx.tenant,
                time=seen_at,
                sequence=None,
                deleted=True,
                id=message_id(SYSTEM, ctx.tenant, model, record_id, "deleted"),
            )
        ]
    )
