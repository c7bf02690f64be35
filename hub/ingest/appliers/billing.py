"""The applier of invoices and credit notes: lines, the billing customer, status, payments."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from domain.engagement import Engagement
from domain.errors import RuleViolationError
from domain.invoice import Invoice, InvoiceKind, InvoiceLine, Tracking
from domain.values import Money
from hub.contracts.changes import Ref
from hub.ingest import lifecycle
from hub.ingest.appliers.base import (
    Context,
    Incomplete,
    Unresolved,
    link,
    money,
    parent,
    require,
    revise,
)
from hub.ingest.descriptive import described

# What the system an open invoice was carried to may say about it (update_invoice): how its
# copy is referred to and sent, not its figures, which are those of the balance alone.
CARRIED_DETAILS = frozenset(
    {"source_status", "hosted_url", "pdf_url", "email_status", "payment_terms", "memo"}
)


def _line_links(ctx: Context, refs: list[Ref], entity: str, attribute: str) -> list[UUID]:
    found = (ctx.link(ref, entity, "lines", attribute) for ref in refs)
    return [owner for owner in found if owner is not None]


def _lines(ctx: Context, currency: str, data: list[Any]) -> list[InvoiceLine]:
    # Lines name billed records as links ("lines.<n>.<field>"): a line is billed whether or
    # not the hub knows the time entry yet.
    return [
        InvoiceLine.build(
            description=line.description,
            quantity=line.quantity,
            unit_price=line.unit_price,
            currency=currency,
            tax_rate=line.tax_rate,
            net=money(line.net),
            tax=money(line.tax),
            time_entry_ids=_line_links(
                ctx, line.time_entries, "time_entry", f"lines.{n}.time_entry_ids"
            ),
            expense_ids=_line_links(ctx, line.expenses, "expense", f"lines.{n}.expense_ids"),
            milestone_id=(
                ctx.link(line.milestone, "milestone", "lines", f"lines.{n}.milestone_id")
                if line.milestone
                else None
            ),
            source_line_id=line.source_line_id,
            item_code=line.item_code,
            account_code=line.account_code,
            tax_code=line.tax_code,
            tracking=tuple(Tracking(t.category, t.option) for t in line.tracking),
            service_date=line.service_date,
            period_start=line.period_start,
            period_end=line.period_end,
        )
        for n, line in enumerate(data)
    ]


def create_invoice(ctx: Context, f: dict[str, Any], new_id: UUID) -> Invoice:
    require(f, "currency")
    if f.get("client") is None and f.get("engagement") is None:
        raise Incomplete(["client"])
    engagement_id = link(ctx, f, "engagement", "engagement")
    client_id = _invoice_client(ctx, f, engagement_id)
    kind = InvoiceKind(f.get("kind") or "invoice")
    original = None
    if kind == InvoiceKind.CREDIT_NOTE:
        require(f, "original_invoice")
        original = ctx.load(parent(ctx, f, "original_invoice", "invoice"), Invoice)
    ctx.renew("lines.")
    invoice = Invoice.create(
        id=new_id,
        client_id=client_id,
        currency=f["currency"],
        lines=_lines(ctx, f["currency"], f.get("lines") or []),
        engagement_id=engagement_id,
        issue_date=f.get("issue_date"),
        due_date=f.get("due_date"),
        kind=kind,
        original=original,
        xrefs=[ctx.source_ref],
        details=described(ctx.source_ref, Invoice, f),
    )
    _invoice_to(ctx, invoice, f)
    return invoice


def _invoice_client(ctx: Context, f: dict[str, Any], engagement_id: UUID | None) -> UUID | None:
    """The client of an invoice: its billing customer (a link), or the engagement's client."""
    if f.get("client") is None:
        return ctx.load(engagement_id, Engagement).client_id if engagement_id else None
    try:
        return ctx.resolve(f["client"], "client")
    except Unresolved:
        engagement = ctx.load(engagement_id, Engagement) if engagement_id else None
        if engagement is None or engagement.client_id is None:
            # Held as the billing system named it, until that customer is known.
            return link(ctx, f, "client", "client")
    # Billing systems name their own customer record; the engagement (named explicitly, by
    # code or id, never by name) knows the client, and from now on that customer record
    # resolves to it too.
    ctx.alias(f["client"], engagement.client_id, "client")
    return engagement.client_id


def _invoice_to(ctx: Context, invoice: Invoice, f: dict[str, Any]) -> None:
    status = f.get("status")
    original = (
        ctx.load(invoice.original_invoice_id, Invoice) if invoice.original_invoice_id else None
    )

    def perform(action: str) -> None:
        if action == "issue":
            invoice.issue(
                number=f.get("number") or ctx.source_ref.id,
                issue_date=f.get("issue_date") or ctx.on,
                due_date=f.get("due_date"),
                total=money(f.get("total")),
                original=original,
            )
            if original is not None:
                original.apply_credit(invoice.id, invoice.total)
        elif action == "pay":
            _pay(ctx, invoice, invoice.total - invoice.paid_total)
        elif action == "void":
            invoice.void("voided at source")

    if status:
        lifecycle.walk(lifecycle.INVOICE, "invoice", invoice.status, status, perform)
    if f.get("amount_paid") is not None and invoice.status == "issued":
        # Sources report the amount paid so far: what is new against what this source would
        # report of the payments recorded is one payment. (After a billing migration two
        # systems report it, each its own share: Invoice.paid_in.)
        reported = f["amount_paid"].to_money()
        _pay(ctx, invoice, reported - invoice.paid_in(ctx.source_ref.system))


def _pay(ctx: Context, invoice: Invoice, new: Money) -> None:
    if new.amount > 0 and invoice.status == "issued":
        invoice.record_payment(new, ctx.on, reference=ctx.message_id, system=ctx.source_ref.system)


def update_invoice(ctx: Context, invoice: Invoice, f: dict[str, Any]) -> None:
    if "client" in f and f["client"] is not None and invoice.client_id is None:
        link(ctx, f, "client", "client")  # the customer may be known now: the link resolves
    details = described(ctx.source_ref, Invoice, f)
    if invoice.status == "draft":
        changes = {k: f[k] for k in ("issue_date", "due_date") if k in f}
        if f.get("engagement") is not None:
            engagement_id = link(ctx, f, "engagement", "engagement")
            if engagement_id is not None:
                changes["engagement_id"] = engagement_id
        revise(invoice, {**changes, **details})
        if f.get("lines") is not None:
            ctx.renew("lines.")
            invoice.replace_lines(_lines(ctx, invoice.currency, f["lines"]))
    elif invoice.carried_to == ctx.source_ref.system:
        # The system a migration carried the invoice to reports its own document: the one
        # line of the balance carried, its figures those of that balance. Only what it says
        # happened since counts: its status and what it was paid (on top of what was paid
        # before, see _invoice_to); the lines and figures kept are the invoice's own.
        revise(invoice, {k: v for k, v in details.items() if k in CARRIED_DETAILS})
    else:
        # What the lines bill is fixed once issued; the records they name may resolve later,
        # and codes its issued version lacked are not an edit (the issued lines are kept).
        lines = None if f.get("lines") is None else _lines(ctx, invoice.currency, f["lines"])
        if lines is not None and [x.terms for x in lines] != [x.terms for x in invoice.lines]:
            raise RuleViolationError(
                "an issued invoice is never edited; credit it instead",
                rule="issued_immutable",
                field="lines",
            )
        revise(invoice, details)
    _invoice_to(ctx, invoice, f)
