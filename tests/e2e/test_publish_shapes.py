"""Body shapes through `pshub adapter <system> publish FILE` (issue 8, part 5): a file whose
JSON is none of the source's shapes is refused with exit code 1 and the reason, field and rule
on stderr, before anything is published; bad usage is exit code 2; an empty input the source
really sends publishes nothing, says why, and exits 0.

The whole matrix runs through `hub.cli.main`, the function the `pshub` console script calls,
against a running hub's PostgreSQL and NATS; a sample per adapter runs as its own process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.cli import main
from hub.intake import load_cursor
from tests.e2e.shape_cases import BAD_BODIES, EVENT, SYSTEMS
from tests.support import vendor_bodies as vendor
from tests.support.adapter_flow import ingest_last_sequence
from tests.support.running import Running, running_hub

# Beyond the webhook's list: a file in UTF-16 (json.loads would guess it; no source sends it).
FILE_BODIES = {
    **BAD_BODIES,
    "UTF-16 text": ('{"id": "1047"}'.encode("utf-16"), 400, "MALFORMED_PAYLOAD"),
}


@pytest.fixture(scope="module")
def hub(settings: Any, make_database: Any, nats_url: str) -> Iterator[Running]:
    """The hub the command publishes to (were it to publish anything)."""
    with running_hub(settings, make_database, nats_url) as running:
        yield running


def hub_env(hub: Running) -> dict[str, str]:
    return {
        "PSHUB_DATABASE_URL": hub.hub.database_url,
        "PSHUB_NATS_URL": hub.nats_url,
        "PSHUB_NATS_PREFIX": hub.hub.settings.nats_prefix,
    }


@pytest.fixture
def cli_env(hub: Running, monkeypatch: pytest.MonkeyPatch) -> Running:
    for name, value in hub_env(hub).items():
        monkeypatch.setenv(name, value)
    return hub


def publish_args(system: str, path: Path) -> list[str]:
    extra = ["--event", EVENT[system]] if system in EVENT else []
    return ["adapter", system, "publish", str(path), *extra]


@pytest.mark.parametrize("shape", list(FILE_BODIES))
@pytest.mark.parametrize("system", SYSTEMS)
def test_publish_refuses_a_file_of_no_source_shape_with_exit_code_1_and_the_reason(
    cli_env: Running,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    system: str,
    shape: str,
) -> None:
    body, _, reason = FILE_BODIES[shape]
    path = tmp_path / "payload.json"
    path.write_bytes(body)
    before = ingest_last_sequence(cli_env)

    code = main(publish_args(system, path))

    out, err = capsys.readouterr()
    assert code == 1
    assert out == ""
    assert err.startswith(f"pshub: error: {reason}: "), err
    assert "(field " in err and ", rule " in err, err
    assert ingest_last_sequence(cli_env) == before


@pytest.mark.parametrize(
    ("system", "body", "why"),
    [
        ("xero", vendor.XERO_INTENT_TO_RECEIVE, "intent to receive"),
        ("harvest", vendor.HARVEST_EMPTY_EXPENSES_PAGE, "an empty expenses page"),
        ("odoo", vendor.ODOO_EMPTY_RESULT, "an empty search_read result"),
        ("netsuite", vendor.NETSUITE_EMPTY_QUERY_PAGE, "an empty page of NetSuite records"),
        ("sharepoint", vendor.GRAPH_REAUTHORIZATION, "lifecycle notifications only"),
    ],
)
def test_publish_of_an_empty_input_the_source_sends_says_why_nothing_is_published_and_exits_0(
    cli_env: Running,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    system: str,
    body: Any,
    why: str,
) -> None:
    path = tmp_path / "payload.json"
    path.write_text(json.dumps(body))
    before = ingest_last_sequence(cli_env)

    code = main(publish_args(system, path))

    out, err = capsys.readouterr()
    assert (code, out) == (0, "")
    assert err.startswith(f"nothing to publish: {why}"), err
    assert ingest_last_sequence(cli_env) == before


def test_publish_of_an_empty_delta_page_keeps_its_delta_link_as_the_cursor(
    cli_env: Running,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PSHUB_ADAPTER_SHAREPOINT_TENANT", "kestrel-cli")
    path = tmp_path / "delta.json"
    path.write_text(json.dumps(vendor.GRAPH_EMPTY_DELTA_PAGE))
    before = ingest_last_sequence(cli_env)

    code = main(["adapter", "sharepoint", "publish", str(path)])

    out, err = capsys.readouterr()
    assert (code, out) == (0, "")
    assert "nothing to publish: no file changed in this delta page" in err
    assert ingest_last_sequence(cli_env) == before
    assert load_cursor(cli_env.hub.app, "sharepoint", "kestrel-cli") == (
        vendor.GRAPH_LATEST_DELTA_LINK
    )


def run_pshub(hub: Running, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", *args],
        env={**os.environ, **hub_env(hub)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# One bad body per adapter, each a different one, in a process of its own.
SAMPLES = list(
    zip(
        SYSTEMS,
        [
            "an empty array",
            "null",
            "a string",
            "an object of another shape",
            "an array of an object",
            "an empty object",
            "Latin-1 bytes",
            "truncated JSON",
            "an empty body",
        ],
        strict=True,
    )
)


@pytest.mark.parametrize(("system", "shape"), SAMPLES)
def test_the_pshub_process_refuses_a_file_of_no_source_shape_with_exit_code_1(
    hub: Running, tmp_path: Path, system: str, shape: str
) -> None:
    body, _, reason = FILE_BODIES[shape]
    path = tmp_path / "payload.json"
    path.write_bytes(body)
    before = ingest_last_sequence(hub)

    done = run_pshub(hub, *publish_args(system, path))

    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    assert done.stderr.startswith(f"pshub: error: {reason}: "), done.stderr
    assert ingest_last_sequence(hub) == before


def test_bad_usage_of_publish_is_exit_code_2_and_a_missing_file_is_1(
    hub: Running, tmp_path: Path
) -> None:
    unknown = run_pshub(hub, "adapter", "kantata", "publish", str(tmp_path / "x.json"))
    assert unknown.returncode == 2, unknown.stderr
    assert "invalid choice: 'kantata'" in unknown.stderr
    no_file = run_pshub(hub, "adapter", "harvest", "publish")
    assert no_file.returncode == 2, no_file.stderr
    missing = run_pshub(hub, "adapter", "harvest", "publish", str(tmp_path / "absent.json"))
    assert missing.returncode == 1, missing.stderr
    assert "cannot read" in missing.stderr
