"""Quote-to-cash on real PostgreSQL and NATS, the NetSuite and Harvest feeds delivering to the
loopback target servers: a won engagement is checked, provisioned, acknowledged by each target
and ready with its setup lead time; each failed check is a case that closes when fixed; a target
that never acknowledges opens DOWNSTREAM_TIMEOUT, closed by a late acknowledgement; a closed
engagement closes what it opened; a replay from position zero records nothing."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from psycopg.sql import SQL, Identifier

from domain.client import Client
from domain.engagement import Engagement
from hub.contracts.feeds import Delivered
from hub.errors import ConflictError
from hub.settings import Settings
from hub.store.recorder import EventMeta
from tests.support.feeding import Fed, fed_hub, until
from tests.support.hygiene import Databases

META = EventMeta(system="api", actor="tester")
# Quote-to-cash runs where it is named.
RUN = "ingest,projections,relay,pollers,feeds,provisioning"
COMPLETE = {
    "legal_entity": "Nordic Consulting AS",
    "start_date": date(2026, 1, 5),
    "manager_id": UUID("5f0c7a52-8d1e-4c55-9a0e-2b7d9f1c3e11"),
    "contract_type": "time_and_materials",
}


def pipeline(fed: Fed, name: str, code: str, **fields: Any) -> tuple[Any, Any]:
    """A client and a pipeline engagement of it, with the given attributes."""
    client, _ = fed.app.register_client(
        legal_name=name, country="NO", billing_currency="NOK", meta=META
    )
    engagement, _ = fed.app.create_engagement(
        client_id=client.id, code=code, name=f"{name} rollout", currency="NOK", meta=META
    )
    if fields:
        change(fed, engagement.id, lambda e: e.revise(**fields))
    return client, engagement


def change(fed: Fed, record_id: UUID, action: Any) -> None:
    """Changes a record as a command would, again when a feed's acknowledgement (an xref on
    the same record) was recorded meanwhile."""
    for attempt in range(5):
        record = fed.app.take(record_id)
        assert isinstance(record, Engagement | Client)
        action(record)
        try:
            fed.app.record(record, meta=META)
            return
        except ConflictError:
            if attempt == 4:
                raise


def provisioning(fed: Fed, engagement_id: UUID) -> dict[str, Any] | None:
    answer = fed.running.api.get(
        f"/v1/engagements/{engagement_id}/provisioning", headers=fed.running.token("read")
    )
    if answer.status_code == 404:
        return None
    assert answer.status_code == 200, answer.text
    return answer.json()


def state_is(fed: Fed, engagement_id: UUID, state: str) -> dict[str, Any] | None:
    found = provisioning(fed, engagement_id)
    return found if found is not None and found["state"] == state else None


def cases(fed: Fed, engagement_id: UUID) -> list[dict[str, Any]]:
    answer = fed.running.api.get(
        "/v1/exceptions", params={"limit": 500}, headers=fed.running.token("read")
    )
    assert answer.status_code == 200, answer.text
    return [c for c in answer.json()["items"] if c["message_id"] == f"provisioning:{engagement_id}"]


def events(fed: Fed, entity: str) -> list[dict[str, Any]]:
    """The recorded events of an entity ("": all), in log order."""
    recorder = fed.app.hub_recorder
    table = Identifier(recorder.datastore.schema, recorder.events_table_name)
    with recorder.datastore.get_connection() as conn:
        return conn.execute(
            SQL(
                "SELECT topic, actor, causation_id FROM {} WHERE entity = %s OR %s = '' "
                "ORDER BY notification_id"
            ).format(table),
            (entity, entity),
        ).fetchall()


def by_status(fed: Fed, engagement_id: UUID) -> dict[str, set[tuple[str, str]]]:
    result: dict[str, set[tuple[str, str]]] = {}
    for case in cases(fed, engagement_id):
        result.setdefault(case["status"], set()).add((case["reason"], case["subject"]))
    return result


def test_a_won_engagement_is_provisioned_on_each_target_and_ready_with_its_lead_time(
    settings: Settings, make_database: Databases, nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fed_hub(settings, make_database, nats_url, monkeypatch, run=RUN) as fed:
        _, engagement = pipeline(fed, "Fjord Analytics AS", "Q2C-001", **COMPLETE)
        unauthenticated = fed.running.api.get(f"/v1/engagements/{engagement.id}/provisioning")
        assert unauthenticated.status_code == 401
        assert provisioning(fed, engagement.id) is None  # not won: nothing to provision
        before_win = datetime.now(UTC)
        change(fed, engagement.id, lambda e: e.win())
        ready = until(lambda: state_is(fed, engagement.id, "ready"), what="ready")
        after_ready = datetime.now(UTC)

        assert ready["failed_checks"] == []
        targets = {t["target"]: t for t in ready["targets"]}
        assert {n: t["category"] for n, t in targets.items()} == {
            "harvest": "psa",
            "netsuite": "erp",
        }
        assert all(t["acknowledged"] and t["timeout_case_id"] is None for t in targets.values())
        assert targets["netsuite"]["ref"].startswith("netsuite:job:")
        assert targets["harvest"]["ref"].startswith("harvest:Project:")
        # Lead time: from the win to the last acknowledgement, measured here independently.
        won_at = datetime.fromisoformat(ready["won_at"])
        last_ack = max(datetime.fromisoformat(t["acknowledged_at"]) for t in targets.values())
        assert before_win <= won_at <= last_ack <= after_ready
        assert ready["lead_time_seconds"] == pytest.approx((last_ack - won_at).total_seconds())
        assert 0 < ready["lead_time_seconds"] < (after_ready - before_win).total_seconds()
        assert cases(fed, engagement.id) == []
        items = fed.running.api.get("/v1/projections", headers=fed.running.token("read"))
        [process] = [i for i in items.json()["items"] if i["name"] == "quote_to_cash"]
        assert process["provisioning"] == {"ready": 1} and process["error"] is None

        # The process's events name it and their cause.
        rows = events(fed, "provisioning")
        assert [r["topic"].rsplit(".", 1)[1] for r in rows][:2] == ["Started", "Requested"]
        assert {r["actor"] for r in rows} == {"process:quote-to-cash"}
        assert all(r["causation_id"].startswith("position:") for r in rows)

        # A change after provisioning flows to the targets that hold the engagement.
        change(fed, engagement.id, lambda e: e.revise(end_date=date(2026, 12, 18)))
        until(
            lambda: (
                [j.get("projectedEndDate") for j in fed.netsuite.records["job"].values()]
                == ["2026-12-18"]
            ),
            what="the new end date in NetSuite",
        )


def test_each_failed_check_is_a_case_that_closes_when_fixed_and_replay_records_nothing(
    settings: Settings, make_database: Databases, nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fed_hub(settings, make_database, nats_url, monkeypatch, run=RUN) as fed:
        _, engagement = pipeline(fed, "Bergen Retail AS", "Q2C-002")
        change(fed, engagement.id, lambda e: e.win())
        blocked = until(lambda: state_is(fed, engagement.id, "blocked"), what="blocked")
        assert [(f["field"], f["reason"]) for f in blocked["failed_checks"]] == [
            ("contract_type", "INCOMPLETE_RECORD"),
            ("legal_entity", "INCOMPLETE_RECORD"),
            ("manager_id", "INCOMPLETE_RECORD"),
            ("start_date", "INCOMPLETE_RECORD"),
        ]
        fields = {("INCOMPLETE_RECORD", f) for f in COMPLETE}
        until(lambda: by_status(fed, engagement.id) == {"open": fields}, what="four open cases")
        [case] = [c for c in cases(fed, engagement.id) if c["subject"] == "manager_id"]
        assert case["entity"] == "engagement" and case["rule"] == "manager"
        assert str(engagement.id) in case["canonical_ids"]

        # Two fixed: their cases close, the others stay open and it stays blocked.
        change(fed, engagement.id, lambda e: e.revise(legal_entity="Nordic Consulting AS"))
        change(fed, engagement.id, lambda e: e.revise(start_date=date(2026, 2, 2)))
        fixed = {("INCOMPLETE_RECORD", "legal_entity"), ("INCOMPLETE_RECORD", "start_date")}
        until(
            lambda: by_status(fed, engagement.id) == {"open": fields - fixed, "resolved": fixed},
            what="two cases resolved",
        )
        assert state_is(fed, engagement.id, "blocked")

        # The rest fixed in one change: every case closed, provisioning proceeds to ready.
        change(
            fed,
            engagement.id,
            lambda e: e.revise(
                manager_id=COMPLETE["manager_id"], contract_type=COMPLETE["contract_type"]
            ),
        )
        ready = until(lambda: state_is(fed, engagement.id, "ready"), what="ready after the fix")
        until(lambda: by_status(fed, engagement.id) == {"resolved": fields}, what="all resolved")
        assert ready["lead_time_seconds"] > 0

        # Replay from position zero: the same state, no event recorded, no case twice.
        provisioner = fed.running.hub.provisioner
        assert provisioner is not None
        head = fed.app.hub_recorder.select_head()[0]
        provisioner.process.replay()
        assert provisioner.runner.wait_for(head, timeout=60)
        assert fed.app.hub_recorder.select_head()[0] == head
        assert provisioning(fed, engagement.id) == ready
        assert len(cases(fed, engagement.id)) == 4


def test_a_closed_engagement_closes_the_cases_its_provisioning_opened(
    settings: Settings, make_database: Databases, nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fed_hub(settings, make_database, nats_url, monkeypatch, run=RUN) as fed:
        _, engagement = pipeline(fed, "Tromso Energy AS", "Q2C-003", start_date=date(2026, 3, 1))
        change(fed, engagement.id, lambda e: e.win())
        until(lambda: len(by_status(fed, engagement.id).get("open", ())) == 3, what="3 cases")
        change(fed, engagement.id, lambda e: e.close(date(2026, 3, 2)))
        closed = until(lambda: state_is(fed, engagement.id, "closed"), what="closed")
        assert closed["closed_reason"] == "closed"
        until(lambda: set(by_status(fed, engagement.id)) == {"resolved"}, what="cases closed")
        # A pipeline engagement that is lost was never provisioned: nothing to close.
        _, lost = pipeline(fed, "Lost Deal AS", "Q2C-004", **COMPLETE)
        change(fed, lost.id, lambda e: e.lose("budget cut"))
        head = fed.app.hub_recorder.select_head()[0]
        assert fed.running.hub.provisioner.runner.wait_for(head, timeout=30)  # type: ignore[union-attr]
        assert provisioning(fed, lost.id) is None


def test_a_target_that_never_acknowledges_times_out_and_a_late_acknowledgement_closes_it(
    settings: Settings, make_database: Databases, nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fed_hub(
        settings,
        make_database,
        nats_url,
        monkeypatch,
        run=RUN,
        # A knowledge-base target with no feed here: it never acknowledges by itself.
        provisioning_targets="netsuite,harvest,sharepoint:knowledge",
        provisioning_timeout=timedelta(seconds=1),
    ) as fed:
        _, engagement = pipeline(fed, "Oslo Logistics AS", "Q2C-005", **COMPLETE)
        change(fed, engagement.id, lambda e: e.win())
        timeout = {("DOWNSTREAM_TIMEOUT", "feed.sharepoint.engagement")}
        # The ERP and the PSA acknowledge within the second here; on a busy machine one may
        # take longer, time out as well, and its own acknowledgement then closes its case:
        # only SharePoint's stays open.
        until(
            lambda: by_status(fed, engagement.id).get("open") == timeout,
            timeout=120,  # a bound for a busy machine, not a timing
            what="timeout case",
        )
        [case] = [
            c for c in cases(fed, engagement.id) if c["subject"] == "feed.sharepoint.engagement"
        ]
        assert (case["system"], case["owner"]) == ("sharepoint", "integration")
        waiting = until(
            lambda: (
                (p := state_is(fed, engagement.id, "requested"))
                and all(t["acknowledged"] for t in p["targets"] if t["target"] != "sharepoint")
                and p
            ),
            what="erp and psa acknowledged",
        )
        [sharepoint] = [t for t in waiting["targets"] if t["target"] == "sharepoint"]
        assert sharepoint["timeout_case_id"] == case["id"] and not sharepoint["acknowledged"]

        # The late acknowledgement, recorded the way the feeds record one.
        fed.running.hub.feeds_of().acknowledge(
            "sharepoint", Delivered("driveItem", f"01{uuid4().hex[:10].upper()}"), engagement.id
        )
        ready = until(lambda: state_is(fed, engagement.id, "ready"), what="ready late")
        closed = until(
            lambda: "open" not in (status := by_status(fed, engagement.id)) and status,
            what="case closed",
        )
        assert timeout <= closed["resolved"]
        assert ready["lead_time_seconds"] >= 1.0


def test_an_inactive_client_blocks_provisioning_until_it_is_active_again(
    settings: Settings, make_database: Databases, nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fed_hub(settings, make_database, nats_url, monkeypatch, run=RUN) as fed:
        client, engagement = pipeline(fed, "Stavanger Subsea AS", "Q2C-006", **COMPLETE)
        change(fed, client.id, lambda c: c.deactivate())
        change(fed, engagement.id, lambda e: e.win())
        blocked = until(lambda: state_is(fed, engagement.id, "blocked"), what="blocked")
        assert [(f["field"], f["rule"]) for f in blocked["failed_checks"]] == [
            ("client.status", "client_active")
        ]
        until(
            lambda: (
                by_status(fed, engagement.id) == {"open": {("INCOMPLETE_RECORD", "client.status")}}
            ),
            what="the client's case",
        )
        # The client's own change runs the checks again.
        change(fed, client.id, lambda c: c.activate())
        until(lambda: state_is(fed, engagement.id, "ready"), what="ready once the client is")
        until(
            lambda: (
                by_status(fed, engagement.id)
                == {"resolved": {("INCOMPLETE_RECORD", "client.status")}}
            ),
            what="the client's case resolved",
        )
        # Bad ids are refused naming the field; an unknown engagement is 404.
        bad = fed.running.api.get(
            "/v1/engagements/not-a-uuid/provisioning", headers=fed.running.token("read")
        )
        assert bad.status_code == 422
        assert bad.headers["content-type"].startswith("application/problem+json")
        assert "id" in json.dumps(bad.json()["errors"])
        unknown = fed.running.api.get(
            f"/v1/engagements/{uuid4()}/provisioning", headers=fed.running.token("read")
        )
        assert (unknown.status_code, unknown.json()["reason"]) == (404, "UNKNOWN_AGGREGATE")
