"""What the metrics tests share: feeding changes and waiting for the metrics projection,
the small firm of the scenario, and reading its figures and refusals."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.integration import metrics_scenario as S
from tests.support.running import Running


def settle(running: Running, *bodies: dict[str, Any]) -> None:
    running.publish_events(*bodies)
    outcomes = running.settle([b["id"] for b in bodies])
    assert [o["status"] for o in outcomes] == ["applied"] * len(bodies), outcomes
    head = running.hub.app.hub_recorder.select_head()[0]
    assert running.hub.runners["metrics"].wait_for(head, 30)


def canonical_id(running: Running, type_: str, source_id: str, system: str = "harvest") -> str:
    found = running.xref(system, type_, source_id)
    assert found.status_code == 200, found.text
    return found.json()["id"]


def as_money(amount: Decimal, currency: str = "GBP") -> dict[str, str]:
    return {"amount": str(amount), "currency": currency}


@pytest.fixture
def firm(running: Running) -> Running:
    settle(running, *S.parties())
    settle(running, *S.work())
    settle(running, S.rate_card())  # arrives after the work it prices
    settle(running, S.invoice())
    settle(running, S.billed_entry())
    return running


def financials_of(running: Running, engagement: str) -> dict[str, Any]:
    head = running.hub.app.hub_recorder.select_head()[0]
    resp = running.api.get(
        f"/v1/engagements/{engagement}/financials",
        params={"min_position": str(head)},
        headers=running.token("read", "read:confidential"),
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


def problem_of(resp: Any, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    return resp.json()


def histogram(text: str, name: str, labels: str = "") -> tuple[float, float]:
    values = {
        line.split(" ")[0]: float(line.split(" ")[1])
        for line in text.splitlines()
        if line.startswith(name) and not line.startswith("#")
    }
    return values[f"{name}_count{labels}"], values[f"{name}_sum{labels}"]
