"""`pshub serve` with nothing configured: it starts its own PostgreSQL and NATS (and the
sandbox's downstream systems), all on loopback, prints a token that works, answers /ready, and
stops both servers when it stops."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from hub.embedded import free_port


def _wait_ready(base: str, proc: subprocess.Popen[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        try:
            if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("pshub serve did not become ready")


def _children(pid: int) -> list[psutil.Process]:
    return psutil.Process(pid).children(recursive=True)


@pytest.mark.parametrize(
    ("stop", "code"),
    # Ctrl-C, and `kill <pid>` or a service manager (uvicorn re-raised SIGTERM after its own
    # shutdown and the process died with the embedded servers still running).
    [(signal.SIGINT, 0), (signal.SIGTERM, 128 + signal.SIGTERM)],
    ids=["ctrl-c", "sigterm"],
)
def test_serve_embedded_starts_its_servers_and_stops_them(
    tmp_path: Path, stop: signal.Signals, code: int
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PSHUB_")}
    env["PSHUB_DATA_DIR"] = str(tmp_path / "var")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base, proc)
        postgres_dir = tmp_path / "var" / "postgres"
        postmaster = int((postgres_dir / "postmaster.pid").read_text().splitlines()[0])
        assert psutil.pid_exists(postmaster)
        nats = [p for p in _children(proc.pid) if "nats-server" in p.name()]
        assert nats, "the embedded NATS server runs as a child of the hub"
        for listener in nats[0].net_connections(kind="tcp"):
            if listener.status == psutil.CONN_LISTEN:
                assert listener.laddr.ip == "127.0.0.1"
        # The hub's own: the API and the sandbox's stand-ins for the downstream systems.
        listening = [
            c.laddr
            for c in psutil.Process(proc.pid).net_connections(kind="tcp")
            if c.status == psutil.CONN_LISTEN
        ]
        assert len(listening) >= 4, listening  # the API and the three sandbox targets
        assert {address.ip for address in listening} == {"127.0.0.1"}
    finally:
        proc.send_signal(stop)
        output, _ = proc.communicate(timeout=60)

    token = next(line for line in reversed(output.splitlines()) if line.startswith("pshub_"))
    assert "event store     postgresql://" in output
    assert proc.returncode == code, output
    assert not psutil.pid_exists(postmaster) or psutil.Process(postmaster).status() == "zombie"
    assert not any(p.is_running() for p in nats)
    assert token


def test_the_printed_token_reads_and_writes(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PSHUB_")}
    env["PSHUB_DATA_DIR"] = str(tmp_path / "var")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        assert proc.stdout is not None
        token = ""
        while not token:
            line = proc.stdout.readline()
            assert line, "serve ended before printing a token"
            token = line.strip() if line.startswith("pshub_") else ""
        _wait_ready(base, proc)
        auth = {"Authorization": f"Bearer {token}"}
        created = httpx.post(
            f"{base}/v1/commands/register-client",
            headers=auth,
            json={"legal_name": "Embedded Mode Ltd", "country": "IE", "billing_currency": "EUR"},
        )
        assert created.status_code == 201, created.text
        read = httpx.get(f"{base}/v1/clients/{created.json()['id']}", headers=auth)
        assert read.json()["legal_name"] == "Embedded Mode Ltd"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
