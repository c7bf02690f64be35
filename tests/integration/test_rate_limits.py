"""Per-token rate limits: over its rate a token gets 429 with Retry-After; others are unaffected."""

from __future__ import annotations

import uuid

from hub.settings import Settings
from tests.support.hygiene import Databases
from tests.support.running import running_hub


def test_a_token_over_its_rate_gets_429_with_retry_after(
    settings: Settings, make_database: Databases, nats_url: str
) -> None:
    with running_hub(settings, make_database, nats_url, rate_limit=0.5, rate_burst=3) as hub:
        busy, calm = hub.token("read"), hub.token("read")
        path = f"/v1/clients/{uuid.uuid4()}"
        answers = [hub.api.get(path, headers=busy).status_code for _ in range(4)]
        assert answers == [404, 404, 404, 429]
        limited = hub.api.get(path, headers=busy)
        assert limited.status_code == 429
        assert int(limited.headers["Retry-After"]) >= 1
        assert limited.json()["reason"] == "RATE_LIMITED"
        assert hub.api.get(path, headers=calm).status_code == 404
