"""Invoices and credit notes as their billing systems keep them: status, numbers, steps.

Each document is decided first (draft, issued, paid, void; payments; a credit note for a
correction after billing), then numbered per legal entity in issue order (gap-free, as the
billing systems of record number them), and only then written as steps.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from uuid import UUID

from domain.engagement import EngagementStatus
from domain.ids import source_id
from domain.invoice import InvoiceKind, InvoiceLine, InvoiceStatus
from domain.values import Money, SourceRef, sum_money
from hub.demo import catalog as cat
from hub.demo.engagements import EngagementFacts, MilestoneFacts
from hub.demo.script import Ref, Script, weekday_on_or_after
from hub.demo.sources import Tenants, base62, guid
from hub.demo.work import EntryFacts, ExpenseFacts

E = EngagementStatus
I = InvoiceStatus  # noqa: E741
VOID_REASON = "Issued with the wrong purchase-order number"


@dataclass
class DocFacts:
    """An invoice or credit note as the billing system will hold it."""

    eng: EngagementFacts
    seq: int
    created: date
    lines: list[InvoiceLine]
    id: UUID
    ref: SourceRef | None
    kind: InvoiceKind = InvoiceKind.INVOICE
    target: InvoiceStatus = I.ISSUED
    entries: list[EntryFacts] = field(default_factory=list)
    expenses: list[ExpenseFacts] = field(default_factory=list)
    milestone: MilestoneFacts | None = None
    monthly: bool = False
    number: str = ""
    original: DocFacts | None = None
    voided_on: date | None = None
    corrected: EntryFacts | None = None
    payments: list[tuple[Money, date]] = field(default_factory=list)

    @property
    def total(self) -> Money:
        return sum_money((line.gross for line in self.lines), self.eng.currency)

    @property
    def due(self) -> date:
        return self.created + timedelta(days=self.eng.payment_terms)


@dataclass
class Billing:
    """The invoices planned so far and the few choices made once for the whole firm."""

    script: Script
    tenants: Tenants
    rng: random.Random
    docs: list[DocFacts] = field(default_factory=list)
    counter: int = 1040
    shown: set[str] = field(default_factory=set)
    examples: dict[str, UUID] = field(default_factory=dict)

    def first(self, what: str, chance: float) -> bool:
        """True until a showcase has been shown once (see `shown`), then with the chance given."""
        return what not in self.shown or self.rng.random() < chance

    def doc(
        self, eng: EngagementFacts, created: date, lines: list[InvoiceLine], credit: bool = False
    ) -> DocFacts:
        self.counter += 1
        system = eng.region.billing_system
        ref = self.tenants.billing_ref(system, self.rng, credit, self.counter)
        doc = DocFacts(eng, len(self.docs), created, lines, source_id("invoice", ref), ref)
        if credit:
            doc.kind = InvoiceKind.CREDIT_NOTE
        self.docs.append(doc)
        return doc


def decide(billing: Billing, doc: DocFacts) -> None:
    """Paid when old enough (always, on a closed engagement), else issued; a few March drafts."""
    rng, eng = billing.rng, doc.eng
    pay_on = weekday_on_or_after(
        max(doc.created + timedelta(days=3), doc.due + timedelta(days=rng.randint(-10, 12)))
    )
    if eng.status == E.CLOSED:
        doc.target = I.PAID
    elif doc.created <= date(2026, 1, 15):
        roll = rng.random()
        doc.target = I.PAID if roll < 0.95 else I.ISSUED
        if 0.95 <= roll < 0.975 and doc.total.minor > 1:
            doc.payments.append((Money.from_minor(doc.total.minor // 2, eng.currency), pay_on))
    elif doc.created < date(2026, 3, 1):
        doc.target = I.PAID if rng.random() < 0.55 else I.ISSUED
    elif doc.monthly and billing.first("draft", 0.35):
        doc.target = I.DRAFT
        billing.shown.add("draft")
        if eng.region.billing_system == "quickbooks":
            # QuickBooks does not expose drafts: a draft there is the hub's own record.
            doc.ref = None
            doc.id = billing.script.natural("invoice", eng.code, doc.created.isoformat())
    else:
        doc.target = I.ISSUED
    if doc.total.is_zero():
        # Only hours inside a retainer: issued as settled, there is nothing to pay.
        doc.target, doc.payments = (I.DRAFT if doc.target == I.DRAFT else I.PAID), []
    elif doc.target == I.PAID:
        if pay_on > cat.AS_OF:
            doc.target = I.ISSUED
        else:
            doc.payments.append((doc.total, pay_on))


def void_and_reissue(billing: Billing, doc: DocFacts) -> DocFacts:
    """Voids the invoice days after issue and reissues the same lines on a new one."""
    billing.shown.add("void")
    doc.voided_on = weekday_on_or_after(doc.created + timedelta(days=5))
    doc.target, doc.payments = I.VOID, []
    again = billing.doc(doc.eng, doc.voided_on + timedelta(days=1), doc.lines)
    again.entries, again.expenses, again.monthly = doc.entries, doc.expenses, True
    decide(billing, again)
    return again


def credit_a_correction(billing: Billing, doc: DocFacts) -> EntryFacts | None:
    """Corrects a billed entry (reversal plus new fact) and credits its line on a credit note.

    Returns the corrected entry, which is billed again on the next invoice at its new hours.
    """
    entry = next((e for e in doc.entries if e.hours >= 2 and not e.timer), None)
    on = weekday_on_or_after(doc.created + timedelta(days=8))
    if entry is None or on > cat.AS_OF:
        return None
    role = entry.resource.role.replace("_", " ")
    old, new = entry.quantity, entry.hours - 1
    line = InvoiceLine.build(
        description=f"Credit: {old:.2f} h {role} on {entry.day.isoformat()} "
        f"(corrected to {new:.2f} h)",
        quantity=old,
        unit_price=entry.rate.amount,
        currency=doc.eng.currency,
        tax_rate=doc.eng.tax_rate,
        time_entry_ids=[entry.id],
    )
    note = billing.doc(doc.eng, on, [line], credit=True)
    note.original, note.corrected, note.target = doc, entry, I.PAID
    entry.hours, entry.invoice = new, None
    # Whatever was paid, the rest of the invoice is paid after the credit, if at all.
    if doc.payments:
        pay_on = max(doc.payments[-1][1], on + timedelta(days=1))
        doc.payments = [(doc.total - note.total, weekday_on_or_after(pay_on))]
        if doc.payments[0][1] > cat.AS_OF:
            doc.payments, doc.target = [], I.ISSUED
    billing.shown.add("credit")
    billing.examples.setdefault("invoice", doc.id)
    billing.examples.setdefault("time_entry", entry.id)
    billing.examples.setdefault("engagement", doc.eng.id)
    billing.examples.setdefault("client", doc.eng.client.id)
    return entry


def number_documents(billing: Billing) -> None:
    """Numbers issued documents per legal entity in issue order, as its billing system does."""
    by_region: dict[str, list[DocFacts]] = defaultdict(list)
    for doc in billing.docs:
        if doc.target != I.DRAFT:
            by_region[doc.eng.region.code].append(doc)
    for docs in by_region.values():
        docs.sort(key=lambda d: (d.created, d.seq))
        invoices = [d for d in docs if d.kind == InvoiceKind.INVOICE]
        notes = [d for d in docs if d.kind == InvoiceKind.CREDIT_NOTE]
        for k, doc in enumerate(invoices, start=1):
            doc.number = {
                "stripe": f"{billing.tenants.stripe_prefix}-{k:04d}",
                "xero": f"INV-{k:04d}",
            }.get(doc.eng.region.billing_system, str(1000 + k))
        for k, doc in enumerate(notes, start=1):
            assert doc.original is not None
            doc.number = {
                "stripe": f"{doc.original.number}-CN-01",
                "xero": f"CN-{k:04d}",
            }.get(doc.eng.region.billing_system, f"CM-{1000 + k}")


def plan_document(script: Script, doc: DocFacts) -> None:
    eng, on = doc.eng, doc.created
    original = Ref(doc.original.id) if doc.original else None
    if doc.corrected is not None:
        reason = cat.CORRECTION_REASONS[1]
        script.call(on, doc.corrected.id, "correct", reason=reason, hours=doc.corrected.hours)
    draft = doc.target == I.DRAFT
    script.create(
        on,
        "invoice",
        doc.id,
        "create",
        xrefs=[doc.ref] if doc.ref else [],
        client_id=eng.client.id,
        currency=eng.currency,
        lines=doc.lines,
        engagement_id=eng.id,
        issue_date=None if draft else on,
        due_date=None if draft else doc.due,
        kind=doc.kind,
        original=original,
    )
    for item in [*doc.entries, *doc.expenses, *([doc.milestone] if doc.milestone else [])]:
        script.call(on, item.id, "bill", invoice_id=doc.id)
    if draft:
        return
    script.call(on, doc.id, "issue", number=doc.number, total=doc.total, original=original)
    if doc.original is not None and doc.corrected is not None:
        script.call(on, doc.original.id, "apply_credit", credit_note_id=doc.id, amount=doc.total)
        script.call(on, doc.corrected.id, "record_credit_note", credit_note_id=doc.id)
        doc.payments = [(doc.total, on)]
    if doc.voided_on is not None:
        script.call(doc.voided_on, doc.id, "void", reason=VOID_REASON)
        for item in [*doc.entries, *doc.expenses]:
            script.call(doc.voided_on, item.id, "release", reason=f"Invoice {doc.number} voided")
    for k, (amount, paid_on) in enumerate(doc.payments, start=1):
        script.call(
            paid_on,
            doc.id,
            "record_payment",
            amount=amount,
            paid_on=paid_on,
            reference=_payment_reference(doc, k),
        )


def _payment_reference(doc: DocFacts, k: int) -> str:
    if doc.kind == InvoiceKind.CREDIT_NOTE and doc.original is not None:
        return f"Allocated to {doc.original.number}"
    rng = random.Random(f"{doc.id}/{k}")
    return {
        "stripe": "pi_3" + base62(rng, 23),
        "xero": f"Payment {guid(rng)}",
    }.get(doc.eng.region.billing_system, f"Payment {rng.randint(2000, 9999)}")
