"""Billing readiness of a milestone: every check DOMAIN 3.6 and 3.11 ask for, all at once.

Pure: the caller hands in the milestone and what it depends on (contract, engagement, client,
the engagement's knowledge assets, time entries and expenses, the legal entities' countries);
the answer is the list of failed checks, each with its reason code and the field at fault.
An empty list means the milestone may be made billing-ready.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from domain.approval import ApprovalStatus
from domain.contract import ContractStatus, TaxTreatment
from domain.engagement import EngagementStatus
from domain.knowledge_asset import AssetKind, AssetStatus
from domain.milestone import MilestoneStatus

MISSING_APPROVAL = "MISSING_APPROVAL"
RATE_MISMATCH = "RATE_MISMATCH"
INVALID_TAX_TREATMENT = "INVALID_TAX_TREATMENT"
MISSING_DOCUMENT = "MISSING_DOCUMENT"
CONTRACT_INACTIVE = "CONTRACT_INACTIVE"
# Each check, by the name that keys its exception case, and the reason it fails with.
CHECK_REASONS = {
    "acceptance": MISSING_APPROVAL,
    "amount": RATE_MISMATCH,
    "approvals": MISSING_APPROVAL,
    "contract": CONTRACT_INACTIVE,
    "dispute": MISSING_APPROVAL,
    "document": MISSING_DOCUMENT,
    "engagement": CONTRACT_INACTIVE,
    "prerequisites": MISSING_APPROVAL,
    "tax": INVALID_TAX_TREATMENT,
}
REASONS = tuple(sorted(set(CHECK_REASONS.values())))

# VAT area where cross-border B2B services are reverse-charged (EU member states and the UK).
VAT_AREA = frozenset(
    "AT BE BG HR CY CZ DK EE FI FR DE GR IE IT LV LT LU MT NL PL PT RO SK SI ES SE GB".split()  # noqa: SIM905
)
# Engagement states in which delivered work may be invoiced.
BILLABLE_ENGAGEMENT = frozenset({EngagementStatus.ACTIVE, EngagementStatus.ON_HOLD})
_ACCEPTED_OR_LATER = frozenset(
    {MilestoneStatus.ACCEPTED, MilestoneStatus.BILLING_READY, MilestoneStatus.BILLED}
)
# Asset kinds that can carry a client's sign-off.
_ACCEPTANCE_KINDS = frozenset({AssetKind.DOCUMENT, AssetKind.DELIVERABLE, AssetKind.OTHER})
_ACCEPTANCE_WORDS = ("acceptance", "sign-off", "signoff", "signed off")


@dataclass(frozen=True, slots=True, order=True)
class FailedCheck:
    """One check that does not hold: its name (stable, keys the exception case), the reason
    code, the field at fault and a sentence for the person working the case."""

    check: str
    reason: str
    field: str
    detail: str


@dataclass(frozen=True, slots=True)
class Inputs:
    """What the checks read. Records are the domain aggregates (or anything with the same
    attributes); `entity_countries` maps a legal entity's name to its ISO country."""

    milestone: Any
    contract: Any | None
    engagement: Any | None
    client: Any | None = None
    assets: Sequence[Any] = ()
    time_entries: Sequence[Any] = ()
    expenses: Sequence[Any] = ()
    prerequisites: Sequence[Any] = ()
    entity_countries: Mapping[str, str] | None = None


def evaluate(inputs: Inputs) -> list[FailedCheck]:
    """Every failed check of the milestone, sorted by check name (empty: billing-ready)."""
    failed = [
        *_acceptance(inputs),
        *_contract(inputs),
        *_engagement(inputs),
        *_amount(inputs),
        *_document(inputs),
        *_approvals(inputs),
        *_tax(inputs),
    ]
    return sorted(failed)


def _acceptance(i: Inputs) -> Iterable[FailedCheck]:
    m = i.milestone
    if m.status not in _ACCEPTED_OR_LATER or not m.accepted_by or m.accepted_on is None:
        yield FailedCheck(
            "acceptance", MISSING_APPROVAL, "status",
            f"milestone is {m.status}: the client's sign-off (signer and date) is missing",
        )  # fmt: skip
    if m.dispute:
        yield FailedCheck("dispute", MISSING_APPROVAL, "dispute", f"open dispute: {m.dispute}")
    accepted = {p.id for p in i.prerequisites if p.status in _ACCEPTED_OR_LATER}
    waiting = [str(p) for p in m.prerequisites if p not in accepted]
    if waiting:
        yield FailedCheck(
            "prerequisites", MISSING_APPROVAL, "prerequisites",
            f"prerequisite milestones not accepted: {', '.join(waiting)}",
        )  # fmt: skip


def _contract(i: Inputs) -> Iterable[FailedCheck]:
    c = i.contract
    if c is None or c.deleted:
        yield FailedCheck("contract", CONTRACT_INACTIVE, "contract_id", "the contract is unknown")
    elif c.status != ContractStatus.ACTIVE:
        yield FailedCheck(
            "contract", CONTRACT_INACTIVE, "contract.status",
            f"the contract is {c.status}, not active",
        )  # fmt: skip


def _engagement(i: Inputs) -> Iterable[FailedCheck]:
    e = i.engagement
    if e is None or e.deleted:
        yield FailedCheck(
            "engagement", CONTRACT_INACTIVE, "engagement_id", "the engagement is unknown"
        )
    elif e.status not in BILLABLE_ENGAGEMENT:
        yield FailedCheck(
            "engagement", CONTRACT_INACTIVE, "engagement.status",
            f"the engagement is {e.status}: only active or on-hold work is invoiced",
        )  # fmt: skip


def _amount(i: Inputs) -> Iterable[FailedCheck]:
    m, c = i.milestone, i.contract
    if c is None:
        return
    if m.amount.currency != c.currency:
        yield FailedCheck(
            "amount", RATE_MISMATCH, "amount.currency",
            f"a {m.amount.currency} milestone on a {c.currency} contract",
        )  # fmt: skip
        return
    planned = {p.milestone_id: p.amount for p in c.milestones}
    if m.id in planned and planned[m.id] != m.amount:
        yield FailedCheck(
            "amount", RATE_MISMATCH, "amount",
            f"the milestone is {m.amount}, the contract plans {planned[m.id]}",
        )  # fmt: skip


def is_acceptance_document(asset: Any, milestone: Any) -> bool:
    """A live asset of the engagement that records this milestone's sign-off: a document,
    deliverable or other file whose title names the milestone or says it is an acceptance."""
    if asset.deleted or asset.status == AssetStatus.ARCHIVED:
        return False
    if asset.engagement_id != milestone.engagement_id or asset.kind not in _ACCEPTANCE_KINDS:
        return False
    title = asset.title.casefold()
    return milestone.name.casefold() in title or any(w in title for w in _ACCEPTANCE_WORDS)


def _document(i: Inputs) -> Iterable[FailedCheck]:
    if not any(is_acceptance_document(a, i.milestone) for a in i.assets):
        yield FailedCheck(
            "document", MISSING_DOCUMENT, "knowledge_asset",
            f"no acceptance document for '{i.milestone.name}' is linked to the engagement",
        )  # fmt: skip


def _approvals(i: Inputs) -> Iterable[FailedCheck]:
    """Approvals are complete when no time or expense of the engagement dated up to the
    acceptance waits for approval (submitted, not yet approved or rejected)."""
    m = i.milestone
    until = m.accepted_on
    pending = [
        r
        for r, day in (
            *((t, t.work_date) for t in i.time_entries),
            *((x, x.spent_date) for x in i.expenses),
        )
        if not r.deleted
        and r.engagement_id == m.engagement_id
        and r.status == ApprovalStatus.SUBMITTED
        and (until is None or day <= until)
    ]
    if pending:
        yield FailedCheck(
            "approvals", MISSING_APPROVAL, "approval_status",
            f"{len(pending)} submitted time entries or expenses are not approved",
        )  # fmt: skip


def valid_treatments(supplier: str, customer: str, customer_vat_id: str) -> frozenset[str]:
    """The tax treatments a supply from a legal entity in `supplier` to a client in
    `customer` may have (DOMAIN 3.11). The billing engine computes the tax; this only says
    which treatments make sense for the combination."""
    t = TaxTreatment
    if supplier == customer:
        # Domestic: the supplier charges its tax (or the service is exempt or zero-rated).
        return frozenset({t.STANDARD, t.EXEMPT, t.ZERO_RATED})
    if supplier in VAT_AREA and customer in VAT_AREA:
        # Cross-border B2B inside the EU/UK is reverse-charged, on the customer's VAT number;
        # without one the client is treated as a consumer and charged the supplier's VAT.
        if customer_vat_id:
            return frozenset({t.REVERSE_CHARGE, t.EXEMPT})
        return frozenset({t.STANDARD, t.EXEMPT})
    # Exports, or supplies outside the VAT area: no reverse charge; rules are per country (or
    # US state), so every other treatment is left to the billing engine.
    return frozenset({t.STANDARD, t.EXEMPT, t.ZERO_RATED, t.OUT_OF_SCOPE})


def _tax(i: Inputs) -> Iterable[FailedCheck]:
    c, e, client = i.contract, i.engagement, i.client
    if c is None or e is None:
        return
    supplier = (i.entity_countries or {}).get(e.legal_entity, "")
    if not supplier:
        yield FailedCheck(
            "tax", INVALID_TAX_TREATMENT, "engagement.legal_entity",
            f"the legal entity '{e.legal_entity}' has no known country",
        )  # fmt: skip
        return
    customer = client.country if client is not None else ""
    if not customer:
        yield FailedCheck(
            "tax", INVALID_TAX_TREATMENT, "client.country", "the client's country is unknown"
        )
        return
    vat_id = client.tax_id if client is not None else ""
    if c.tax_treatment not in valid_treatments(supplier, customer, vat_id):
        yield FailedCheck(
            "tax", INVALID_TAX_TREATMENT, "contract.tax_treatment",
            f"{c.tax_treatment} is not valid from {supplier} ({e.legal_entity}) to a client in"
            f" {customer}{' with a VAT number' if vat_id else ''}",
        )  # fmt: skip
