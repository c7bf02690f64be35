"""Which attributes of each domain event are confidential or personal data.

An event attribute named like a golden-record field carries that field's classification
(hub/contracts/records.py). The attributes events carry under other names are classified
here, per entity: a rate card's `line` is one of its confidential `lines`, a milestone's
`signed_by` is its PII `accepted_by`. An attribute classified nowhere is withheld, so a new
event attribute is never published before someone has classified it (tests/unit/
test_event_fields.py fails until then).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from hub.contracts.records import RECORD_MODELS, Classification, classification_of

PUBLIC = Classification.PUBLIC
INTERNAL = Classification.INTERNAL
CONFIDENTIAL = Classification.CONFIDENTIAL
PII = Classification.PII

# Attributes whose value is a dict of record fields (a revision's changes, the descriptive
# attributes given at creation): each key is classified as the field it names.
FIELD_DICTS = frozenset({"changes", "details"})

# Event-only attributes every canonical entity's events may carry.
_COMMON: dict[str, Classification] = {
    "reason": PUBLIC,  # why a record was deleted, lost, rejected, voided, ...
    "ref": PUBLIC,  # an added cross-reference, as in the record's xrefs
    # A reference to a record not known yet (the field it sets, the source's id), and the id
    # it resolved to: as in the record's pending_links and its id fields.
    "link": PUBLIC,
    "field": PUBLIC,
    "canonical_id": PUBLIC,
}

# Event-only attributes, and attributes whose name means another field, per entity.
_EVENT_ONLY: dict[str, dict[str, Classification]] = {
    "client": {},
    "engagement": {"closed_on": PUBLIC},
    "contract": {
        "closed_on": PUBLIC,
        "terminated_on": PUBLIC,
        "effective_on": PUBLIC,
        "reference": PUBLIC,  # a change order's reference, as in change_orders
        "previous_value": INTERNAL,  # as value
    },
    "rate_card": {"line": CONFIDENTIAL, "end": PUBLIC},  # a line is one of the lines
    "resource": {},
    "time_entry": {
        "credit_note_id": PUBLIC,
        "credit_note_for": PUBLIC,
        # The reversed hours at the source's rate: a value derived from a person's rate.
        "value": CONFIDENTIAL,
    },
    "expense": {"credit_note_id": PUBLIC, "credit_note_for": PUBLIC},
    "milestone": {"signed_by": PII},  # the client's signatory: the record's accepted_by
    "invoice": {
        "line": PUBLIC,
        "payment": PUBLIC,
        "credit": PUBLIC,
        # Carried over by a billing migration: the record's carried_to, carried_from and
        # carried_balance, and what was paid before (as its payments say).
        "to_system": PUBLIC,
        "from_system": PUBLIC,
        "balance": PUBLIC,
        "paid": PUBLIC,
    },
    "knowledge_asset": {},
    # A billing run (domain/billing_run.py): which engagement and period, under which
    # contract line; its drafts' lines and figures are priced from rates.
    "billing_run": {
        "engagement_id": PUBLIC,
        "contract_id": PUBLIC,
        "contract_type": PUBLIC,
        "period_start": PUBLIC,
        "period_end": PUBLIC,
        "drafts": CONFIDENTIAL,
        "unpriced": INTERNAL,  # ids of time entries no card line prices
        # Redrafted: which draft, its new figures, and the corrected items that caused it;
        # Drafted (a draft added in a currency corrected work moved to): the same two.
        "index": PUBLIC,
        "draft": CONFIDENTIAL,
        "because": INTERNAL,
    },
}

# Entities without a golden-record model whose events the HTTP API serves whole to `read`
# (the exception queue's cases, GET /v1/exceptions; quote-to-cash's provisionings, which
# hold ids, states, check names and times, GET /v1/engagements/{id}/provisioning).
UNCLASSIFIED_ENTITIES = frozenset({"exception", "provisioning"})


@cache
def levels(entity: str) -> Mapping[str, Classification]:
    """Every classified attribute name of an entity's events, with its classification."""
    result: dict[str, Classification] = {}
    model = RECORD_MODELS.get(entity)
    if model is not None:
        result.update(classification_of(model))
    result.update(_COMMON)
    result.update(_EVENT_ONLY.get(entity, {}))
    return result


@cache
def readable(entity: str, *, confidential: bool = False, pii: bool = False) -> frozenset[str]:
    """The attribute names of an entity's events that a reader with these rights may see."""
    allowed = {PUBLIC, INTERNAL}
    if confidential:
        allowed.add(CONFIDENTIAL)
    if pii:
        allowed.add(PII)
    return frozenset(name for name, level in levels(entity).items() if level in allowed)


@cache
def withheld(entity: str, *, confidential: bool = False, pii: bool = False) -> frozenset[str]:
    """The classified attribute names of an entity's events that such a reader may not see."""
    return frozenset(levels(entity)) - readable(entity, confidential=confidential, pii=pii)


def redact_event(
    entity: str, data: dict[str, Any], *, confidential: bool = False, pii: bool = False
) -> dict[str, Any]:
    """Keeps only the attributes (and changed fields) the reader may see; unknown ones go."""
    if entity in UNCLASSIFIED_ENTITIES:
        return data
    seen = readable(entity, confidential=confidential, pii=pii)
    result = {}
    for name, value in data.items():
        if name in FIELD_DICTS and isinstance(value, dict):
            result[name] = {k: v for k, v in value.items() if k in seen}
        elif name in seen:
            result[name] = value
    return result
