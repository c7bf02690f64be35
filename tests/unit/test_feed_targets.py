"""The NetSuite and Harvest feed mappings (pure), the placeholders between items, the backoff,
and how a target's answers are read (429 and 5xx retried after Retry-After, other 4xx not)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from adapters.feeding import refused
from adapters.harvest.feed import TARGET as HARVEST
from adapters.netsuite.feed import TARGET as NETSUITE
from adapters.netsuite.feed import external_id
from hub.contracts.feeds import FeedItem, TargetSettings, target_ref
from hub.feeds.delivery import Backoff
from hub.feeds.resolve import Waiting, references, resolve
from projections.feeds.related import RelatedRecords

NOTHING = RelatedRecords()  # no rate cards, no other records

CLIENT = uuid.UUID("3eb8204f-4816-5d34-86c4-32d10c7ccdf3")
ENGAGEMENT = uuid.UUID("a88320ee-0870-58fc-839e-093b5c77d8b4")


def client(**over: Any) -> dict[str, Any]:
    return {
        "id": str(CLIENT), "version": 3, "xrefs": [], "deleted": False,
        "legal_name": "Fjord Analytics AS", "trading_name": None, "billing_currency": "NOK",
        "status": "active", "billing_address": None, **over,
    }  # fmt: skip


def engagement(**over: Any) -> dict[str, Any]:
    return {
        "id": str(ENGAGEMENT), "version": 2, "xrefs": [], "deleted": False,
        "client_id": str(CLIENT), "code": "FJ-001", "name": "Data platform", "status": "won",
        "legal_entity": "Nordic Consulting AS", "currency": "NOK", "start_date": "2026-01-05",
        "end_date": None, "contract_type": "fixed_fee", "hourly_rate": None,
        "fee": {"amount": "120000.00", "currency": "NOK"}, **over,
    }  # fmt: skip


def test_netsuite_holds_a_customer_per_client_and_a_job_per_won_engagement() -> None:
    [customer] = NETSUITE.items("client", client(), NOTHING)
    assert (customer.entity, customer.key, customer.version) == ("customer", "customer", 3)
    assert customer.payload == {
        "externalId": f"pshub-{CLIENT}", "companyName": "Fjord Analytics AS",
        "currency": {"refName": "NOK"}, "isInactive": False,
    }  # fmt: skip
    [job] = NETSUITE.items("engagement", engagement(), NOTHING)
    assert job.payload["parent"] == {"id": target_ref(CLIENT, "customer")}
    assert job.payload["jobBillingType"] == {"id": "_fixedBidMilestone"}
    assert job.payload["subsidiary"] == {"refName": "Nordic Consulting AS"}
    assert "projectedEndDate" not in job.payload  # unknown: left out, not nulled
    for status in ("pipeline", "lost"):
        assert NETSUITE.items("engagement", engagement(status=status), NOTHING) == []
    assert NETSUITE.items("client", client(deleted=True), NOTHING) == []  # never held: nothing


def test_a_record_deleted_at_its_source_becomes_inactive_where_the_target_holds_it() -> None:
    held = [{"system": "netsuite", "tenant": "T", "type": "customer", "id": "77"},
            {"system": "harvest", "tenant": "H", "type": "Client", "id": "9",
             "acknowledged": True}]  # fmt: skip
    [customer] = NETSUITE.items("client", client(deleted=True, xrefs=held), NOTHING)
    assert customer.payload["isInactive"] is True and customer.target_id == "77"
    [harvest_client] = HARVEST.items("client", client(deleted=True, xrefs=held), NOTHING)
    assert harvest_client.payload["is_active"] is False and harvest_client.target_id == "9"
    assert HARVEST.items("engagement", engagement(deleted=True), NOTHING) == []


def test_netsuite_external_ids_hold_only_what_its_eid_url_takes() -> None:
    assert external_id("a|b.c d") == "pshub-a-b-c-d"
    assert external_id(CLIENT) == f"pshub-{CLIENT}"


def test_a_record_the_target_knows_carries_its_id_and_the_same_keys() -> None:
    known = client(xrefs=[{"system": "netsuite", "tenant": "T1", "type": "customer", "id": "77"}])
    [item] = NETSUITE.items("client", known, NOTHING)
    [fresh] = NETSUITE.items("client", client(), NOTHING)
    assert item.target_id == "77" and fresh.target_id is None
    assert item.idempotency_key == fresh.idempotency_key  # same record, key and version
    later = NETSUITE.items("client", client(version=4), NOTHING)[0]
    assert later.idempotency_key != item.idempotency_key
    assert len(item.idempotency_key) <= 50


def test_harvest_feeds_only_what_did_not_come_from_harvest() -> None:
    [harvest_client] = HARVEST.items("client", client(), NOTHING)
    assert harvest_client.payload == {"name": "Fjord Analytics AS", "currency": "NOK",
                                      "is_active": True}  # fmt: skip
    [project] = HARVEST.items("engagement", engagement(), NOTHING)
    assert project.payload["client_id"] == target_ref(CLIENT, "Client", as_int=True)
    assert (project.payload["is_fixed_fee"], project.payload["fee"]) == (True, "120000.00")
    assert (project.payload["bill_by"], project.payload["budget_by"]) == ("none", "none")
    own = [{"system": "harvest", "tenant": "1", "type": "Project", "id": "9"}]
    assert HARVEST.items("engagement", engagement(xrefs=own), NOTHING) == []
    # The acknowledgement of the hub's own write is not a record of Harvest's own.
    acked = [{"system": "harvest", "tenant": "1", "type": "Project", "id": "9",
              "acknowledged": True}]  # fmt: skip
    [update] = HARVEST.items("engagement", engagement(xrefs=acked), NOTHING)
    assert update.target_id == "9"
    assert HARVEST.items("engagement", engagement(status="pipeline"), NOTHING) == []


def test_placeholders_resolve_to_the_targets_ids_or_wait() -> None:
    payload = {"parent": {"id": target_ref(CLIENT, "customer")}, "client_id": target_ref(
        CLIENT, "Client", as_int=True)}  # fmt: skip
    assert references(payload) == [str(CLIENT), str(CLIENT)]
    assert resolve(payload, lambda cid, type_: "1001") == {"parent": {"id": "1001"},
                                                          "client_id": 1001}  # fmt: skip
    with pytest.raises(Waiting, match="waiting for customer"):
        resolve(payload, lambda cid, type_: None)
    assert target_ref(None, "customer") is None
    # An optional one (a NetSuite project manager: an employee the hub never delivers) is
    # {"id": ...} where the target holds the record, and left out where it does not.
    manager = {"companyName": "X", "projectManager": target_ref(
        CLIENT, "employee", as_ref=True, optional=True)}  # fmt: skip
    assert resolve(manager, lambda cid, type_: "812")["projectManager"] == {"id": "812"}
    assert resolve(manager, lambda cid, type_: None) == {"companyName": "X"}
    # What it left out is noted, for the ledger (hub/feeds/left_out.py).
    left_out: list[str] = []
    resolve(manager, lambda cid, type_: None, left_out)
    assert left_out == [str(CLIENT)]
    left_out.clear()
    resolve(manager, lambda cid, type_: "812", left_out)
    assert left_out == []


def test_backoff_doubles_up_to_its_cap_and_honours_retry_after() -> None:
    backoff = Backoff(max_attempts=5, base=1.0, cap=10.0)
    assert [backoff.delay(n) for n in (1, 2, 3, 4, 5)] == [1.0, 2.0, 4.0, 8.0, 10.0]
    assert backoff.delay(1, retry_after=30.0) == 30.0


@pytest.mark.parametrize(
    ("status", "retryable", "reason"),
    [(429, True, "DOWNSTREAM_TIMEOUT"), (503, True, "DOWNSTREAM_TIMEOUT"),
     (408, True, "DOWNSTREAM_TIMEOUT"), (400, False, "DOWNSTREAM_REJECTED"),
     (422, False, "DOWNSTREAM_REJECTED"), (404, False, "DOWNSTREAM_REJECTED")],
)  # fmt: skip
def test_what_a_refusal_means(status: int, retryable: bool, reason: str) -> None:
    response = httpx.Response(
        status,
        json={"o:errorDetails": [{"detail": "Invalid field value"}]},
        headers={"Retry-After": "7"},
    )
    failure = refused(response)
    assert (failure.retryable, failure.reason, failure.status) == (retryable, reason, status)
    assert failure.retry_after == 7.0
    assert "Invalid field value" in str(failure)


def test_netsuite_writer_reads_the_internal_id_from_location() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            204, headers={"Location": "https://x/services/rest/record/v1/customer/1042"}
        )

    with httpx.Client(transport=httpx.MockTransport(answer)) as http:
        writer = NETSUITE.writer(TargetSettings("https://x", "tok", "ACCT"), http)
        [item] = NETSUITE.items("client", client(), NOTHING)
        done = writer.deliver(item)
        assert (done.target_type, done.target_id, done.tenant) == ("customer", "1042", "ACCT")
        assert seen[0].method == "PUT"
        assert seen[0].url.path == f"/services/rest/record/v1/customer/eid:pshub-{CLIENT}"
        known = FeedItem(**{**item.__dict__, "target_id": "1042"})
        writer.deliver(known)
        assert (seen[1].method, seen[1].url.path) == (
            "PATCH", "/services/rest/record/v1/customer/1042",
        )  # fmt: skip
