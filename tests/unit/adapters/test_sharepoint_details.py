"""Graph driveItem: where a file lives, who made and changed it, when, its size, media type
and digests (delta pages written from DOMAIN.md 2.13; delta omits parentReference.path)."""

from __future__ import annotations

import json
from typing import Any

from adapters.sharepoint import ADAPTER
from hub.contracts.adapters import AdapterConfig

TENANT = "6b1f3e2d-0c9a-4b8e-a7d6-5c4b3a291807"
CONFIG = AdapterConfig(tenant=TENANT)
DRIVE = "b!Q2xpZW50cy1GYWJyaWthbQ"


def file_item(**changes: Any) -> dict[str, Any]:
    item = {
        "lastModifiedDateTime": "2026-03-12T10:41:09Z",
        "name": "Statement of work v3.pdf",
        "id": "01KQ7HZXWJ4F3VUMSNC5GIOD6ZK3M6J3QZ",
        "file": {
            "mimeType": "application/pdf",
            "hashes": {"quickXorHash": "k0lq8V3B2vM9cTq1pR5wXy7zA0E="},
        },
        "size": 482113,
        "createdDateTime": "2026-03-01T08:00:00Z",
        "eTag": '"{9F1E2D3C-4B5A-4978-8695-A4B3C2D1E0F9},7"',
        "webUrl": "https://fabrikam.sharepoint.com/sites/Clients/Shared%20Documents/SOW%20v3.pdf",
        "createdBy": {
            "user": {"id": "a1b2c3d4-0000-4111-8222-333344445555", "displayName": "Léa Moreau"}
        },
        "lastModifiedBy": {
            "application": {"id": "f00dcafe-1234-4567-89ab-cdef01234567", "displayName": "Scanner"}
        },
        "parentReference": {
            "driveType": "documentLibrary",
            "driveId": DRIVE,
            "id": "01KQ7HZXV6Y2GOVW7725BZO354PWSELRRZ",
            "siteId": "fabrikam.sharepoint.com,1a2b,3c4d",
        },
    }
    item.update(changes)
    return item


def data(*items: dict[str, Any]) -> list[dict[str, Any]]:
    page = {
        "value": list(items),
        "@odata.deltaLink": f"https://graph.microsoft.com/v1.0/drives/{DRIVE}/root/delta?token=x",
    }
    return [e.data for e in ADAPTER.map_payload(json.dumps(page).encode(), config=CONFIG).events]


def test_a_file_keeps_its_library_folder_people_times_size_type_and_digest() -> None:
    [item] = data(file_item())
    assert (item["site_id"], item["drive_id"], item["drive_type"]) == (
        "fabrikam.sharepoint.com,1a2b,3c4d",
        DRIVE,
        "documentLibrary",
    )
    assert item["parent_id"] == "01KQ7HZXV6Y2GOVW7725BZO354PWSELRRZ"
    assert "parent_path" not in item  # delta does not return it: kept as the hub has it
    assert item["author"] == {
        "type": "user",
        "id": "a1b2c3d4-0000-4111-8222-333344445555",
        "name": "Léa Moreau",
    }
    # An application acting on its own is kept as what it is.
    assert item["modified_by"]["type"] == "application"
    assert (item["created_at"], item["modified_at"]) == (
        "2026-03-01T08:00:00Z",
        "2026-03-12T10:41:09Z",
    )
    assert (item["size_bytes"], item["content_type"]) == (482113, "application/pdf")
    assert item["hashes"] == {"quick_xor": "k0lq8V3B2vM9cTq1pR5wXy7zA0E="}
    assert item["etag"] == '"{9F1E2D3C-4B5A-4978-8695-A4B3C2D1E0F9},7"'


def test_a_rename_in_a_later_occurrence_is_what_is_reported() -> None:
    renamed = file_item(name="SOW v3 (signed).pdf", eTag='"{9F1E},8"', size=490001)
    [item] = data(file_item(), renamed)  # the last occurrence wins
    assert (item["title"], item["size_bytes"], item["etag"]) == (
        "SOW v3 (signed).pdf",
        490001,
        '"{9F1E},8"',
    )


def test_a_file_read_by_id_gives_its_folder_path_and_hashes_of_personal_drives() -> None:
    item = file_item(
        file={
            "mimeType": "text/plain",
            "hashes": {"sha1Hash": "A94A8FE5", "sha256Hash": "9F86D0", "crc32Hash": "D87F7E0C"},
        },
        parentReference={
            "driveId": DRIVE,
            "driveType": "personal",
            "id": "F00D!1",
            "path": "/drive/root:/Notes",
        },
    )
    [mapped] = data(item)
    assert mapped["parent_path"] == "/drive/root:/Notes"
    assert mapped["hashes"] == {"sha1": "A94A8FE5", "sha256": "9F86D0", "crc32": "D87F7E0C"}
    assert "site_id" not in mapped
