"""The README stays true: its configuration table names every setting, and its two commands
are Makefile targets that CI runs."""

from __future__ import annotations

import re
from pathlib import Path

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
