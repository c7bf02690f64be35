"""Golden records -> what the knowledge base in SharePoint must hold (pure): a folder per
engagement, under a configured folder of the configured drive, tagged with the engagement code
(the SharePoint column the writer sets on the folder's list item).

A folder name is the engagement's code and name, with what SharePoint refuses in a name
replaced: the characters " * : < > ? / \\ | # %, control characters, leading and trailing
spaces, trailing dots, and the reserved names (CON, PRN, AUX, NUL, COM0-9, LPT0-9, .lock,
desktop.ini, names beginning with ~$ or holding _vti_).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

import httpx

from adapters.billable import canonical_id, xref_id
from adapters.sharepoint.writes import SharePointWriter
from hub.contracts.feeds import FeedItem, TargetSettings

NAME = "sharepoint"
DRIVE_ITEM = "driveItem"
MAX_NAME = 128  # well inside SharePoint's 400-character path limit
_FORBIDDEN = re.compile(r'["*:<>?/\\|#%\x00-\x1f\x7f]')
_RESERVED = re.compile(r"(?i)^(con|prn|aux|nul|com\d|lpt\d|\.lock|desktop\.ini)(\..*)?$")


def folder_name(code: str, name: str) -> str:
    """The engagement's folder name, as SharePoint allows it."""
    text = _FORBIDDEN.sub("-", " ".join(f"{code} {name}".split()))
    text = text.replace("_vti_", "-vti-")[:MAX_NAME]
    text = text.rstrip(" .")
    if text.startswith("~$"):
        text = "-" + text[2:]
    if not text or _RESERVED.match(text):
        text = f"_{text}"
    return text


class SharePointTarget:
    """The knowledge base in SharePoint (Microsoft Graph): a folder per engagement."""

    name = NAME
    category = "knowledge"
    entities = frozenset({"engagement"})

    def __init__(
        self,
        *,
        tenant: str = "",
        parent_path: str | None = None,
        code_column: str = "EngagementCode",
    ) -> None:
        # The drive (the xrefs of another drive do not count), the folder the engagement
        # folders live in ("" is the drive's root; None: PSHUB_FEED_SHAREPOINT_PARENT when the
        # connector is made), and the column that carries the code.
        self.tenant = tenant
        self.parent_path = None if parent_path is None else parent_path.strip("/")
        self.code_column = code_column

    def items(self, entity: str, record: Mapping[str, Any]) -> list[FeedItem]:
        """The engagement's folder; [] for a deleted or lost engagement, or one with no code."""
        if entity != "engagement" or record.get("deleted") or record.get("status") == "lost":
            return []
        code = str(record.get("code") or "").strip()
        if not code:
            return []
        payload = {
            "name": folder_name(code, str(record.get("name") or "")),
            "folder": {},
            "@microsoft.graph.conflictBehavior": "fail",
            "fields": {self.code_column: code},
        }
        return [
            FeedItem(
                target=NAME,
                entity="folder",
                canonical_id=canonical_id(record),
                version=int(record["version"]),
                key="folder",
                payload=payload,
                target_id=xref_id(record, NAME, DRIVE_ITEM, self.tenant),
            )
        ]

    def writer(self, settings: TargetSettings, client: httpx.Client) -> SharePointWriter:
        """The connector to the drive the settings name (PSHUB_FEED_SHAREPOINT_TENANT)."""
        parent = self.parent_path
        if parent is None:
            parent = os.environ.get("PSHUB_FEED_SHAREPOINT_PARENT", "")
        return SharePointWriter(settings, client, parent_path=parent)

    def reader(self, settings: TargetSettings, client: httpx.Client) -> Any:
        """What a reconcile pass reads the drive's engagement folders through."""
        from adapters.sharepoint.reads import SharePointReader  # noqa: PLC0415

        parent = self.parent_path
        if parent is None:
            parent = os.environ.get("PSHUB_FEED_SHAREPOINT_PARENT", "")
        return SharePointReader(settings, client, parent_path=parent)


# What the feeds register (hub/feeds/registry.py): the drive is the connector's tenant
# (PSHUB_FEED_SHAREPOINT_TENANT); PSHUB_FEED_SHAREPOINT_PARENT is the folder, by path in that
# drive, the engagement folders are made in (the drive's root when unset).
TARGET = SharePointTarget(tenant=os.environ.get("PSHUB_FEED_SHAREPOINT_TENANT", "").strip())
