"""What billing systems report about an invoice beyond its lines and lifecycle: descriptive
attributes (no invariant but their type), grouped by how they may change once it is issued."""

from __future__ import annotations

from domain.checks import (
    Guard,
    check_any_money,
    check_instant,
    check_money,
    check_optional_date,
    check_text,
    of_type,
)
from domain.errors import RuleViolationError
from domain.invoice_values import ExchangeRate

# Given at creation and revised like any field; grouped by how they may change:
# - said about the document, changing any time (a status the canonical states cannot hold,
#   such as Stripe's uncollectible or Xero's SUBMITTED, is kept as `source_status`);
_DESCRIPTIVE = (
    "reference",
    "source_status",
    "collection_method",
    "billing_reason",
    "customer_name",
    "customer_email",
    "hosted_url",
    "pdf_url",
    "email_status",
    "payment_terms",
    "memo",
    "credit_reason",
    "credit_type",
)
# - the document's own figures: an issued invoice is immutable, so once issued they are
#   fixed (a value learnt after issue, where none was known, is taken);
DOCUMENT_DETAILS = frozenset(
    {
        "line_amount_types",
        "reported_subtotal",
        "reported_tax",
        "total_excluding_tax",
        "amount_due",
        "starting_balance",
        "exchange_rate",
        "home_total",
        "period_start",
        "period_end",
    }
)
# - balances and status transitions, which move with payments, credits and write-offs.
_SETTLEMENT = (
    "amount_paid",
    "amount_remaining",
    "amount_credited",
    "amount_overpaid",
    "ending_balance",
    "deposit",
    "finalized_at",
    "paid_at",
    "voided_at",
    "marked_uncollectible_at",
    "fully_paid_on",
)
LINE_AMOUNT_TYPES = frozenset({"exclusive", "inclusive", "no_tax"})


def _check_line_amount_types(value: object, field: str) -> str | None:
    text = check_text(value, field)
    if text is not None and text not in LINE_AMOUNT_TYPES:
        raise RuleViolationError(
            f"'{text}' is not one of {sorted(LINE_AMOUNT_TYPES)}", rule="enum", field=field
        )
    return text


DETAIL_GUARDS: dict[str, Guard] = {
    **{name: check_text for name in _DESCRIPTIVE},
    "line_amount_types": _check_line_amount_types,
    "exchange_rate": of_type(ExchangeRate),
    **{name: check_optional_date for name in ("period_start", "period_end", "fully_paid_on")},
    **{
        name: check_instant
        for name in ("finalized_at", "paid_at", "voided_at", "marked_uncollectible_at")
    },
    # Customer balances are negative when the customer holds credit (Stripe).
    **{name: check_any_money for name in ("starting_balance", "ending_balance")},
    **{
        name: check_money
        for name in (
            "reported_subtotal",
            "reported_tax",
            "total_excluding_tax",
            "amount_due",
            "home_total",
            "amount_paid",
            "amount_remaining",
            "amount_credited",
            "amount_overpaid",
            "deposit",
        )
    },
}

INVOICE_DETAILS = (*_DESCRIPTIVE, *sorted(DOCUMENT_DETAILS), *_SETTLEMENT)
