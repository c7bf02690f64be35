"""The README stays true: its configuration table names every setting, and its two commands
are Makefile targets that CI runs."""

from __future__ import annotations

import re
from pathlib import Path

from hub.cli import try_token_scopes
from hub.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_the_configuration_table_lists_every_setting() -> None:
    readme = (ROOT / "README.md").read_text()
    listed = set(re.findall(r"^\| `(PSHUB_[A-Z_]+)` \|", readme, flags=re.MULTILINE))
    expected = {f"PSHUB_{name.upper()}" for name in Settings.model_fields}
    assert listed == expected


def test_the_two_commands_exist_and_ci_runs_the_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "    make run " in readme
    assert "    make test " in readme
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^run: ", makefile, flags=re.MULTILINE)
    assert re.search(r"^test: ", makefile, flags=re.MULTILINE)
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_the_token_make_run_prints_may_post_every_webhook_the_walk_throughs_post() -> None:
    # The walk-throughs run with the token `make run` prints ("a token with every scope"):
    # a webhook it may not post to answers 403 to a newcomer following them.
    readme = (ROOT / "README.md").read_text()
    posted = set(re.findall(r"/v1/adapters/([a-z]+)/webhook", readme))
    assert {"harvest", "sharepoint"} <= posted
    assert {f"write:{system}" for system in posted} <= set(try_token_scopes())
