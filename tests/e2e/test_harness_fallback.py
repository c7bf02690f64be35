"""On a machine without PostgreSQL or NATS, the suite starts embedded ones (as `pshub serve`
does) rather than skipping anything: shown by running tests with the local services ignored."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_suite_brings_its_own_postgresql_and_nats_when_none_answers() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PSHUB_")}
    env["PSHUB_TEST_EMBEDDED"] = "1"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/integration/test_append_only.py",
            "tests/integration/test_ingest_nats.py::"
            "test_a_change_published_on_nats_becomes_a_golden_record",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "7 passed" in result.stdout
