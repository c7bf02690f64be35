"""What a Graph driveItem says about a file beyond its name and URL: where it lives, who made
and changed it, when, its size, media type and content digests.

A property is reported when the item carries it (null clears it); delta leaves some out
(`parentReference.path`), and those stay as the hub has them. People are kept as their
directory account (`user` or, for an app acting alone, `application`), with their display
name and e-mail as PII.

Not kept: `cTag` (the content digests and eTag say the same), `fileSystemInfo` (the client's
own clock), folder `childCount` (folders are not assets).
"""

from __future__ import annotations

from typing import Any

from adapters.sharepoint.payloads import DriveItem, IdentitySet

_PARENT = {
    "drive_id": "driveId",
    "drive_type": "driveType",
    "site_id": "siteId",
    "parent_id": "id",
    "parent_path": "path",
}
_HASHES = {
    "quick_xor": "quickXorHash",
    "sha1": "sha1Hash",
    "sha256": "sha256Hash",
    "crc32": "crc32Hash",
}


def _person(identities: IdentitySet | None) -> dict[str, Any] | None:
    if identities is None:
        return None
    for kind in ("user", "application"):
        identity = getattr(identities, kind)
        if identity is not None and identity.id:
            person: dict[str, Any] = {"type": kind, "id": identity.id}
            if "displayName" in identity.model_fields_set:
                person["name"] = identity.displayName
            if "email" in identity.model_fields_set:
                person["email"] = identity.email
            return person
    return None


def item_details(item: DriveItem) -> dict[str, Any]:
    """The descriptive fields of a file's driveItem (its times as Graph wrote them)."""
    given = item.model_fields_set
    found: dict[str, Any] = {}
    parent = item.parentReference
    if parent is not None:
        found.update(
            {
                target: getattr(parent, key)
                for target, key in _PARENT.items()
                if key in parent.model_fields_set
            }
        )
    for target, key in (("author", "createdBy"), ("modified_by", "lastModifiedBy")):
        if key in given:
            found[target] = _person(getattr(item, key))
    for target, key in (
        ("created_at", "createdDateTime"),
        ("modified_at", "lastModifiedDateTime"),
        ("size_bytes", "size"),
        ("etag", "eTag"),
    ):
        if key in given:
            found[target] = getattr(item, key)
    if item.file is not None:
        if "mimeType" in item.file.model_fields_set:
            found["content_type"] = item.file.mimeType
        if "hashes" in item.file.model_fields_set:
            hashes = item.file.hashes
            digests = {
                target: getattr(hashes, key)
                for target, key in _HASHES.items()
                if hashes is not None and getattr(hashes, key)
            }
            found["hashes"] = digests or None
    return found
