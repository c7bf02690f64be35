"""Provisioning checks and state machine (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from uuid import uuid4

from domain.client import Client
from domain.engagement import Engagement, EngagementStatus
from domain.provisioning import Provisioning, ProvisioningState
from domain.provisioning_checks import Failure, provisioning_checks

WON_AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TARGETS = {"netsuite": "erp", "harvest": "psa"}


def client(**overrides: object) -> Client:
    values = {"id": uuid4(), "legal_name": "Acme Ltd", "country": "GB", "billing_currency": "GBP"}
    values.update(overrides)
    return Client.register(**values)  # type: ignore[arg-type]


def engagement(client_id: object, **overrides: object) -> Engagement:
    values: dict[str, object] = {
        "id": uuid4(),
        "client_id": client_id,
        "code": "E-1",
        "name": "Rollout",
        "currency": "GBP",
        "legal_entity": "PS-UK-LTD",
        "start_date": date(2026, 3, 9),
        "manager_id": uuid4(),
        "status": EngagementStatus.WON,
        "details": {"contract_type": "fixed_fee"},
    }
    values.update(overrides)
    return Engagement.create(**values)  # type: ignore[arg-type]


def fields(failures: list[Failure]) -> list[tuple[str, str]]:
    return [(f.field, f.reason) for f in failures]


def test_a_complete_engagement_of_a_complete_client_passes_every_check() -> None:
    c = client()
    assert provisioning_checks(engagement(c.id), c) == []


def test_every_missing_engagement_field_is_its_own_failure_with_its_reason() -> None:
    c = client()
    e = engagement(c.id, legal_entity="", start_date=None, manager_id=None, details={})
    assert fields(provisioning_checks(e, c)) == [
        ("contract_type", "INCOMPLETE_RECORD"),
        ("legal_entity", "INCOMPLETE_RECORD"),
        ("manager_id", "INCOMPLETE_RECORD"),
        ("start_date", "INCOMPLETE_RECORD"),
    ]


def test_an_unknown_or_missing_client_is_an_unresolved_link() -> None:
    e = engagement(uuid4())
    assert fields(provisioning_checks(e, None)) == [("client_id", "UNRESOLVED_LINK")]
    e = engagement(None)
    assert [f.rule for f in provisioning_checks(e, None)] == ["client_known"]


def test_an_incomplete_or_inactive_client_names_each_field() -> None:
    c = SimpleNamespace(legal_name="Acme", country="", billing_currency=None, status="closed")
    failures = provisioning_checks(engagement(uuid4()), c)
    assert fields(failures) == [
        ("client.billing_currency", "INCOMPLETE_RECORD"),
        ("client.country", "INCOMPLETE_RECORD"),
        ("client.status", "INCOMPLETE_RECORD"),
    ]


def test_a_bad_currency_is_invalid_currency() -> None:
    c = client()
    e = SimpleNamespace(
        client_id=c.id, legal_entity="X", currency="gbp", contract_type="retainer",
        start_date=date(2026, 1, 1), manager_id=uuid4(),
    )  # fmt: skip
    assert fields(provisioning_checks(e, c)) == [("currency", "INVALID_CURRENCY")]


def started() -> Provisioning:
    return Provisioning.start(engagement_id=uuid4(), won_at=WON_AT, targets=TARGETS)


def test_the_id_is_one_per_engagement() -> None:
    p = started()
    assert p.id == Provisioning.id_for(p.engagement_id)
    assert p.state == ProvisioningState.WON


def test_failed_checks_block_and_only_new_failures_are_returned() -> None:
    p = started()
    first = [Failure("start_date", "INCOMPLETE_RECORD", "start_date", "no start date")]
    assert p.validate(first, client_id=None, seen={p.engagement_id: 1}, at=WON_AT) == first
    assert p.state == ProvisioningState.BLOCKED
    assert [f["field"] for f in p.failures] == ["start_date"]
    second = [*first, Failure("manager_id", "INCOMPLETE_RECORD", "manager", "no manager")]
    assert p.validate(second, client_id=None, seen={p.engagement_id: 2}, at=WON_AT) == [second[1]]
    # The same failures again record only which version was checked.
    version = p.version
    assert p.validate(second, client_id=None, seen={p.engagement_id: 3}, at=WON_AT) == []
    assert p.version == version + 1 and not p.is_new(p.engagement_id, 3)
    assert p.is_new(p.engagement_id, 4)


def test_fixed_checks_request_provisioning_then_acknowledgements_make_it_ready() -> None:
    p = started()
    p.validate(
        [Failure("start_date", "INCOMPLETE_RECORD", "start_date", "x")],
        client_id=None,
        seen={},
        at=WON_AT,
    )
    requested = WON_AT + timedelta(minutes=5)
    p.validate([], client_id=None, seen={p.engagement_id: 2}, at=requested)
    assert p.state == ProvisioningState.REQUESTED and p.requested_at == requested
    assert p.missing_categories() == ["erp", "psa"]
    assert p.acknowledge("netsuite", "netsuite::job:7", at=requested)
    assert not p.acknowledge("netsuite", "netsuite::job:7", at=requested)  # once only
    assert not p.acknowledge("sharepoint", "x", at=requested)  # not a configured target
    assert p.state == ProvisioningState.REQUESTED
    p.acknowledge("harvest", "harvest::project:9", at=WON_AT + timedelta(minutes=30))
    assert p.state == ProvisioningState.READY
    assert p.lead_time_seconds == 1800.0
    summary = p.summary()
    assert summary["state"] == "ready"
    assert [t["acknowledged"] for t in summary["targets"]] == [True, True]  # type: ignore[index]


def test_an_acknowledgement_before_validation_counts_once_validated() -> None:
    p = started()
    p.acknowledge("netsuite", "n", at=WON_AT)
    p.acknowledge("harvest", "h", at=WON_AT)
    assert p.state == ProvisioningState.WON
    p.validate([], client_id=None, seen={}, at=WON_AT + timedelta(seconds=10))
    assert p.state == ProvisioningState.READY and p.lead_time_seconds == 10.0


def test_overdue_targets_and_a_late_acknowledgement() -> None:
    p = started()
    p.validate([], client_id=None, seen={}, at=WON_AT)
    p.acknowledge("netsuite", "n", at=WON_AT)
    assert p.overdue(WON_AT + timedelta(seconds=59), 60) == []
    assert p.overdue(WON_AT + timedelta(seconds=60), 60) == ["harvest"]
    case = uuid4()
    p.note_timeout("harvest", case)
    assert p.overdue(WON_AT + timedelta(hours=1), 60) == []
    assert p.timeouts == {"harvest": str(case)}
    p.acknowledge("harvest", "h", at=WON_AT + timedelta(hours=2))
    assert p.timeouts == {} and p.state == ProvisioningState.READY


def test_a_lost_engagement_closes_an_open_provisioning_but_not_a_ready_one() -> None:
    p = started()
    assert p.close("lost") and p.state == ProvisioningState.CLOSED
    assert not p.close("lost")
    assert not p.acknowledge("netsuite", "n", at=WON_AT)
    assert p.validate([], client_id=None, seen={}, at=WON_AT) == []
    ready = Provisioning.start(engagement_id=uuid4(), won_at=WON_AT, targets={})
    ready.validate([], client_id=None, seen={}, at=WON_AT)
    assert ready.state == ProvisioningState.READY and not ready.close("lost")
