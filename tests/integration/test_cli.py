"""The `pshub` command line: tokens without a running server, help, and bad arguments."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest
from fastapi.testclient import TestClient

from hub.cli import build_parser, main

PSHUB = [sys.executable, "-m", "hub.cli"]


@pytest.fixture
def store_env(monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    monkeypatch.setenv("PSHUB_DATABASE_URL", database_url)


def test_tokens_create_prints_the_token_as_its_last_line_and_it_works(
    store_env: None, capsys: pytest.CaptureFixture[str], api: TestClient
) -> None:
    name = f"cli-{uuid.uuid4().hex[:6]}"
    assert main(["tokens", "create", "--name", name, "--scopes", "read,read:pii"]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert token.startswith("pshub_")
    resp = api.get(f"/v1/clients/{uuid.uuid4()}", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 404

    assert main(["tokens", "revoke", name]) == 0
    assert f"'{name}' revoked" in capsys.readouterr().out


def test_tokens_create_refuses_an_unknown_scope_in_one_line(
    store_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tokens", "create", "--name", "bad-scope", "--scopes", "read,sudo"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "unknown scope 'sudo'" in err


def test_tokens_create_refuses_a_name_in_use(
    store_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    name = f"twice-{uuid.uuid4().hex[:6]}"
    assert main(["tokens", "create", "--name", name, "--scopes", "read"]) == 0
    assert main(["tokens", "create", "--name", name, "--scopes", "read"]) == 1
    assert "exists already" in capsys.readouterr().err


def test_revoking_an_unknown_token_fails_with_exit_code_1(
    store_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tokens", "revoke", f"nobody-{uuid.uuid4().hex[:6]}"]) == 1
    assert "no active token" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["frobnicate"],
        ["serve", "--port", "not-a-port"],
        ["serve", "--port", "70000"],
        ["demo", "--scale", "-1"],
        ["tokens", "create", "--name", "x"],
        ["tokens"],
    ],
)
def test_a_bad_argument_is_one_line_and_exit_code_2(argv: list[str]) -> None:
    result = subprocess.run([*PSHUB, *argv], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("pshub") and ": error: " in result.stderr


def _commands(parser: object, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    import argparse

    found = [prefix]
    for action in parser._actions:  # type: ignore[attr-defined]
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.extend(_commands(sub, (*prefix, name)))
    return found


def _invocation(command: tuple[str, ...]) -> list[str]:
    # `pshub adapter <system> publish`: the system comes before the action.
    if command[:1] == ("adapter",) and len(command) > 1:
        return ["adapter", "harvest", *command[1:]]
    return list(command)


@pytest.mark.parametrize("command", _commands(build_parser()))
def test_every_command_has_help(command: tuple[str, ...]) -> None:
    result = subprocess.run(
        [*PSHUB, *_invocation(command), "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    assert "usage: pshub" in result.stdout
