"""The demo's stewardship story: billing documents whose customer the hub never receives.

The firm's Stripe account bills two customers that no system feeds to the hub. Their invoices
go through the Stripe adapter and ingest like any webhook and are recorded at once, each with
its customer kept as an unresolved link. A data steward then maps one customer to the demo
client it is (map-xref): its invoices resolve; the other stays in GET /v1/unresolved-links.
Deterministic ids make a second run record nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from domain.values import SourceRef
from hub.adapters import registry
from hub.application import HubApplication
from hub.contracts.adapters import AdapterConfig
from hub.ingest.decode import Incoming
from hub.ingest.engine import IngestEngine
from hub.publish import encode

ACTOR = "pshub demo: data steward"

# Two customers never fed to the hub: the first is mapped by the steward, the second waits.
CUSTOMERS = ("cus_QdemoMapped01", "cus_QdemoWaiting2")
_INVOICES = (
    (CUSTOMERS[0], "in_1QdemoMap0001", 420000, "Advisory retainer, October"),
    (CUSTOMERS[0], "in_1QdemoMap0002", 420000, "Advisory retainer, November"),
    (CUSTOMERS[1], "in_1QdemoWait003", 185050, "Workshop facilitation"),
)


@dataclass(frozen=True)
class Stewardship:
    """What the stage recorded: the invoices, the mapped customer and the one still waiting."""

    invoices: list[UUID]
    mapped_to: UUID
    waiting: str


def _event(tenant: str, customer: str, invoice: str, amount: int, text: str) -> dict[str, Any]:
    created = int(datetime(2026, 11, 3, 9, 0, tzinfo=UTC).timestamp())
    return {
        "id": "evt_" + invoice[3:],
        "object": "event",
        "api_version": "2025-03-31.basil",
        "account": tenant,
        "created": created,
        "type": "invoice.finalized",
        "livemode": False,
        "pending_webhooks": 0,
        "request": {"id": None, "idempotency_key": None},
        "data": {
            "object": {
                "id": invoice,
                "object": "invoice",
                "status": "open",
                "number": invoice[-8:].upper(),
                "currency": "usd",
                "customer": customer,
                "amount_due": amount,
                "amount_paid": 0,
                "amount_remaining": amount,
                "subtotal": amount,
                "total": amount,
                "created": created,
                "collection_method": "send_invoice",
                "status_transitions": {"finalized_at": created},
                "metadata": {},
                "lines": {
                    "object": "list",
                    "has_more": False,
                    "total_count": 1,
                    "url": f"/v1/invoices/{invoice}/lines",
                    "data": [
                        {
                            "id": "il_" + invoice[3:],
                            "object": "line_item",
                            "amount": amount,
                            "currency": "usd",
                            "description": text,
                            "quantity": 1,
                        }
                    ],
                },
            }
        },
    }


def run_stewardship(app: HubApplication, tenant: str, client_id: UUID) -> Stewardship:
    """Ingests the invoices of customers never fed, then maps the first customer to a client."""
    engine = IngestEngine(app)
    stripe = registry()["stripe"]
    config = AdapterConfig(tenant=tenant)
    incoming = []
    for customer, invoice, amount, text in _INVOICES:
        body = json.dumps(_event(tenant, customer, invoice, amount, text)).encode()
        for event in stripe.map_payload(body, config=config).events:
            headers = {"Nats-Msg-Id": event.id, "Content-Type": "application/cloudevents+json"}
            incoming.append(Incoming(f"ingest.stripe.{event.entity}", encode(event), headers))
    outcomes = engine.process(incoming)
    # The Stripe adapter names a customer by its object type, "customer".
    # Beside a running sandbox a feed's acknowledgement may change the client meanwhile:
    # map_xref tries again on the record as it then stands.
    engine.map_xref(SourceRef("stripe", tenant, "customer", CUSTOMERS[0]), client_id, actor=ACTOR)
    engine.unpark()
    return Stewardship([i for o in outcomes for i in o.canonical_ids], client_id, CUSTOMERS[1])
