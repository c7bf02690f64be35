"""Whether a won engagement can be provisioned in the downstream systems (DOMAIN.md 3.2).

Pure: it reads the engagement and its client as given and returns every failed check, each
naming the field and a reason code, so each becomes one exception case a person can fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The reason of a check that failed because the record lacks what provisioning needs.
INCOMPLETE_RECORD = "INCOMPLETE_RECORD"
# The engagement names a client the hub does not hold (or no client at all yet).
UNRESOLVED_LINK = "UNRESOLVED_LINK"
INVALID_CURRENCY = "INVALID_CURRENCY"

# What a client needs before an ERP can hold a customer for it and invoice it.
CLIENT_FIELDS = ("legal_name", "country", "billing_currency")


@dataclass(frozen=True, order=True)
class Failure:
    """One failed check: the field it names, the reason code, the rule and a readable detail."""

    field: str
    reason: str
    rule: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {
            "field": self.field,
            "reason": self.reason,
            "rule": self.rule,
            "detail": self.detail,
        }


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def check_client(client_id: Any, client: Any | None) -> list[Failure]:
    """The client is known (resolved and held by the hub), live and complete."""
    if client_id is None:
        return [
            Failure("client_id", UNRESOLVED_LINK, "client_known", "the engagement has no client")
        ]
    if client is None or getattr(client, "deleted", False):
        return [
            Failure(
                "client_id",
                UNRESOLVED_LINK,
                "client_known",
                f"client {client_id} is not a record the hub holds",
            )
        ]
    failures = [
        Failure(
            f"client.{name}",
            INCOMPLETE_RECORD,
            "client_complete",
            f"the client has no {name.replace('_', ' ')}",
        )
        for name in CLIENT_FIELDS
        if _blank(getattr(client, name, None))
    ]
    if str(getattr(client, "status", "active")) != "active":
        failures.append(
            Failure(
                "client.status",
                INCOMPLETE_RECORD,
                "client_active",
                f"the client is {client.status}, not active",
            )
        )
    return failures


def check_engagement(engagement: Any) -> list[Failure]:
    """Legal entity, currency, contract type, start date and manager are all set."""
    failures = []
    if _blank(engagement.legal_entity):
        failures.append(
            Failure("legal_entity", INCOMPLETE_RECORD, "legal_entity", "no invoicing legal entity")
        )
    currency = engagement.currency
    if not (isinstance(currency, str) and len(currency) == 3 and currency.isupper()):
        failures.append(
            Failure("currency", INVALID_CURRENCY, "currency", f"{currency!r} is not ISO 4217")
        )
    # Descriptive attributes are the aggregate's own attributes (CanonicalAggregate.DETAILS).
    if _blank(getattr(engagement, "contract_type", None)):
        failures.append(
            Failure("contract_type", INCOMPLETE_RECORD, "contract_type", "no contract type")
        )
    if engagement.start_date is None:
        failures.append(Failure("start_date", INCOMPLETE_RECORD, "start_date", "no start date"))
    if engagement.manager_id is None:
        failures.append(
            Failure("manager_id", INCOMPLETE_RECORD, "manager", "no engagement manager")
        )
    return failures


def provisioning_checks(engagement: Any, client: Any | None) -> list[Failure]:
    """Every failed check, in field order (empty: the engagement may be provisioned)."""
    return sorted(check_client(engagement.client_id, client) + check_engagement(engagement))
