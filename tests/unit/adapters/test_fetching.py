"""The one retrying request every fetching or polling adapter uses (adapters/fetching.py),
against a loopback HTTP server."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from adapters.fetching import get_json, send, setting
from hub.contracts.adapters import AdapterConfig, AdapterError
from tests.support.http_source import Request, Response, serve


def config(**extra: str) -> AdapterConfig:
    return AdapterConfig(extra=extra)


def test_settings_are_read_by_name_then_by_their_older_names() -> None:
    assert setting(config(backoff="2"), "backoff", 0.5) == 2.0
    assert setting(config(backoff_seconds="3"), "backoff", 0.5) == 3.0
    assert setting(config(timeout_seconds="4"), "timeout", 10.0) == 4.0
    assert setting(config(max_retry_after_seconds="5"), "max_backoff", 30.0) == 5.0
    assert setting(config(backoff="1", backoff_seconds="9"), "backoff", 0.5) == 1.0
    assert setting(config(), "retries", 3) == 3


@pytest.mark.parametrize("bad", ["abc", "-1", "nan", "inf", "1e999"])
def test_a_bad_setting_is_refused_by_name_not_a_crash(bad: str) -> None:
    with pytest.raises(AdapterError) as refused:
        setting(config(retries=bad), "retries", 3)
    assert (refused.value.reason, refused.value.field) == ("SCHEMA_VIOLATION", "retries")


def test_a_post_is_retried_after_a_5xx_then_answered() -> None:
    answers = iter([Response(503, {"error": "busy"}), Response(200, {"result": 7})])

    def rpc(request: Request) -> Response:
        return next(answers)

    slept: list[float] = []
    with serve({("POST", "/jsonrpc"): rpc}) as source, httpx.Client() as client:
        response = send(
            client,
            f"{source.base_url}/jsonrpc",
            config=config(backoff="0.25"),
            headers={},
            method="POST",
            json={"method": "call"},
            sleep=slept.append,
        )
    assert response.json() == {"result": 7}
    assert slept == [0.25]
    assert [r.body for r in source.requests] == [b'{"method":"call"}'] * 2


def test_a_retry_after_is_honoured_up_to_max_backoff() -> None:
    busy = Response(429, {"error": "slow down"}, headers={"Retry-After": "120"})
    slept: list[float] = []
    with (
        serve({("GET", "/x"): lambda _: busy}) as source,
        httpx.Client() as client,
        pytest.raises(AdapterError) as failed,
    ):
        get_json(
            client,
            f"{source.base_url}/x",
            config=config(retries="2", max_retry_after_seconds="7"),
            headers={},
            sleep=slept.append,
        )
    assert failed.value.reason == "FETCH_FAILED"
    assert slept == [7.0, 7.0]


def test_a_body_that_is_not_json_is_fetch_failed_and_a_missing_one_can_be_none() -> None:
    routes = {
        ("GET", "/html"): lambda _: Response(200, b"<html>maintenance</html>"),
    }
    with serve(routes) as source, httpx.Client() as client:
        with pytest.raises(AdapterError) as failed:
            get_json(client, f"{source.base_url}/html", config=config(), headers={})
        assert (failed.value.reason, failed.value.status) == ("FETCH_FAILED", 502)
        missing = get_json(
            client, f"{source.base_url}/gone", config=config(), headers={}, allow_missing=True
        )
        assert missing is None
        with pytest.raises(AdapterError) as not_found:
            get_json(client, f"{source.base_url}/gone", config=config(), headers={})
        assert not_found.value.reason == "FETCH_FAILED"


def test_every_5xx_is_retried_and_the_timeout_is_the_clients_unless_configured() -> None:
    seen: list[float] = []
    answers = iter([Response(507, {"error": "insufficient storage"}), Response(200, {"ok": 1})])
    with serve({("GET", "/x"): lambda _: next(answers)}) as source:
        url = f"{source.base_url}/x"
        with httpx.Client(timeout=30) as client:
            original = client.request

            def request(*args: Any, **kwargs: Any) -> httpx.Response:
                timeout = kwargs["timeout"]
                seen.append(30.0 if timeout is httpx.USE_CLIENT_DEFAULT else timeout)
                return original(*args, **kwargs)

            client.request = request  # type: ignore[method-assign]
            assert get_json(client, url, config=config(), headers={}, sleep=lambda _: None) == {
                "ok": 1
            }
            answers = iter([Response(200, {"ok": 2})])
            get_json(client, url, config=config(timeout="2.5"), headers={})
    assert seen == [30.0, 30.0, 2.5]
