"""The demo sandbox keeps what its targets hold while they run, not only at a clean stop: a
hub killed with SIGKILL comes back to the targets as its feeds left them."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from hub.sandbox.running import TENANTS, Sandbox
from hub.sandbox.xero import XeroApi


def test_a_write_is_kept_without_a_stop(tmp_path: Path) -> None:
    keep = tmp_path / "sandbox.pickle"
    running = Sandbox(keep, save_every=0.1).start(["xero"])
    try:
        answer = httpx.put(
            f"{running.base_urls()['xero']}/api.xro/2.0/Contacts",
            json={"Contacts": [{"Name": "Northwind Advisory Ltd", "ContactNumber": "c-1"}]},
            headers={
                "Authorization": f"Bearer {XeroApi.token}",
                "Xero-Tenant-Id": TENANTS["xero"],
            },
        )
        assert answer.status_code == 200, answer.text
        deadline = time.monotonic() + 10
        found: list = []
        while not found and time.monotonic() < deadline:
            time.sleep(0.1)
            # What a hub started after a SIGKILL would load (this one never stopped).
            found = Sandbox(keep).xero.held(TENANTS["xero"], "Contacts")
        assert [c["Name"] for c in found] == ["Northwind Advisory Ltd"]
    finally:
        running.stop()
