"""A record's history and the audit export leave out of event data what events.* leaves out,
including classified values that events carry under names of their own (a milestone's
`signed_by`, a rate card's `line`, a reversed time entry's `value`)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from domain.registry import COLLECTIONS
from hub.bootstrap import Hub
from hub.store.recorder import EventMeta
from tests.integration.conftest import Tokens
from tests.support.classified import MARKER, SECRET_AMOUNTS, classified_scenario


def _secrets_in(text: str) -> list[str]:
    return [s for s in (MARKER, *SECRET_AMOUNTS) if s in text]


def test_history_and_audit_export_withhold_classified_event_attributes(
    hub: Hub, api: TestClient, tokens: Tokens
) -> None:
    scenario = classified_scenario()
    for aggregate in scenario.aggregates:
        hub.app.record(aggregate, meta=EventMeta(system="harvest", actor="tester"))
    reader = tokens.headers("read")
    entitled = tokens.headers("read", "read:pii", "read:confidential")
    seen_by_reader, seen_by_entitled = [], []
    for aggregate in scenario.aggregates:
        path = f"/v1/{COLLECTIONS[aggregate.ENTITY]}/{aggregate.id}/history"
        seen_by_reader.append(api.get(path, headers=reader).text)
        seen_by_entitled.append(api.get(path, headers=entitled).text)
    assert _secrets_in("".join(seen_by_reader)) == []
    assert _secrets_in("".join(seen_by_entitled)) == [MARKER, *SECRET_AMOUNTS]

    export = api.get("/v1/audit/export", headers=tokens.headers("audit")).text
    assert _secrets_in(export) == []
