"""Schemathesis over /openapi.json against a running hub (real HTTP, PostgreSQL, NATS): for
generated requests to every operation, zero 5xx answers, and every refusal is problem+json."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings

from hub.api.app import create_app
from hub.auth import TokenStore
from hub.bootstrap import build_hub
from hub.demo import DemoSpec, load_demo
from hub.embedded import free_port
from hub.settings import Settings
from hub.streams import remove_streams
from tests.support.hygiene import Databases

SCOPES = (
    "read",
    "read:pii",
    "read:confidential",
    "operate",
    "audit",
    "write:hub",
    "write:harvest",
    "write:salesforce",
    "write:stripe",
    "write:xero",
    "write:quickbooks",
    "write:confluence",
    "write:sharepoint",
    "write:netsuite",
    "write:odoo",
)


EXAMPLES = 20


class Served:
    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url
        self.headers = {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def served(
    settings: Settings, make_database: Databases, nats_url: str, nats_prefix: str
) -> Iterator[Served]:
    url, prefix = make_database("fuzz"), f"{nats_prefix}FZ_"
    with contextlib.ExitStack() as cleanup:  # last to first: hub, streams, database
        cleanup.callback(make_database.drop, url)
        cleanup.callback(remove_streams, nats_url, prefix)
        hub = build_hub(
            settings.model_copy(
                update={
                    "database_url": url,
                    "nats_prefix": prefix,
                    "rate_limit": 100000.0,
                    "rate_burst": 100000,
                }
            )
        )
        cleanup.callback(hub.close)
        load_demo(hub.app, DemoSpec(seed=3, scale=0.02), progress=False)
        token = TokenStore(hub.database_url).create("fuzzer", SCOPES)
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(create_app(hub), host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        cleanup.callback(thread.join, 30)
        cleanup.callback(setattr, server, "should_exit", True)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        yield Served(base, token)


def test_no_operation_answers_5xx_and_refusals_are_problems(served: Served) -> None:
    api = schemathesis.openapi.from_url(f"{served.base_url}/openapi.json")
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) > 40
    failures: list[tuple[str, str, int, str]] = []

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def check(case: schemathesis.Case) -> None:
            response = case.call(base_url=served.base_url, headers=served.headers)
            content_type = response.headers.get("content-type") or [""]
            problem = content_type[0].startswith("application/problem+json")
            if response.status_code >= 500 or (response.status_code >= 400 and not problem):
                failures.append(
                    (case.method, case.formatted_path, response.status_code, response.text[:300])
                )

        check()
    assert failures == [], "\n".join(map(str, failures))
