"""Microsoft Graph's drive API on loopback: folders in SharePoint drives, with list item fields.

Faithful where the writer depends on it: a child is created under `items/{id|root}/children`
and a name already in that folder (case-insensitively, as SharePoint compares) answers 409
`nameAlreadyExists` under `conflictBehavior: fail`; `root:/{path}` reads an item by path; a
name with a character SharePoint refuses is a 400; a rename collides the same way; a list
item's fields are set by PATCH. Errors are {"error": {"code", "message"}}.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from hub.sandbox.exchange import Request, Response
from hub.sandbox.loopback_api import LoopbackApi, Route, json_of

_DRIVE = r"/drives/(?P<drive>[^/]+)"
_INVALID = re.compile(r'["*:<>?/\\|]')


def error(status: int, code: str, message: str) -> Response:
    return Response(status, {"error": {"code": code, "message": message}})


class GraphApi(LoopbackApi):
    """Holds `items[drive][id]`; each drive starts with its root folder."""

    def __init__(self, *drives: str) -> None:
        super().__init__()
        self.items: dict[str, dict[str, dict[str, Any]]] = {}
        for drive in drives:
            self.items[drive] = {"root": self._item(drive, "root", "", None)}

    def folders(self, drive: str, parent_path: str = "") -> list[dict[str, Any]]:
        """The folders directly in the folder at that path."""
        with self.lock:
            parent = self._by_path(drive, parent_path)
            assert parent is not None
            return [i for i in self.items[drive].values() if i["parent"] == parent["id"]]

    def make_folder(self, drive: str, parent_path: str, name: str) -> dict[str, Any]:
        """Seeds a folder (as a person would have made it)."""
        with self.lock:
            parent = self._by_path(drive, parent_path)
            assert parent is not None
            made = self._item(drive, str(uuid.uuid4()), name, parent["id"])
            self.items[drive][made["id"]] = made
            return made

    def routes(self) -> list[Route]:
        return [
            ("GET", re.compile(_DRIVE + r"/root:/(?P<path>.*?):?"), self._get_path),
            ("POST", re.compile(_DRIVE + r"/items/(?P<parent>[^/]+)/children"), self._create),
            (
                "PATCH",
                re.compile(_DRIVE + r"/items/(?P<item>[^/]+)/listItem/fields"),
                self._fields,
            ),
            ("GET", re.compile(_DRIVE + r"/items/(?P<item>[^/]+)/children"), self._children),
            ("PATCH", re.compile(_DRIVE + r"/items/(?P<item>[^/]+)"), self._rename),
            ("GET", re.compile(_DRIVE + r"/items/(?P<item>[^/]+)"), self._get),
        ]

    def throttled(self, status: int) -> Any:
        code = "activityLimitReached" if status == 429 else "serviceNotAvailable"
        return {"error": {"code": code, "message": "The request has been throttled"}}

    def unauthorised(self) -> Response:
        return error(401, "InvalidAuthenticationToken", "Access token validation failure.")

    def _item(self, drive: str, id_: str, name: str, parent: str | None) -> dict[str, Any]:
        return {
            "id": id_,
            "name": name,
            "folder": {"childCount": 0},
            "parent": parent,
            "parentReference": {"driveId": drive, "id": parent},
            "webUrl": f"https://contoso.sharepoint.com/{drive}/{name}",
            "fields": {},
        }

    def _by_path(self, drive: str, path: str) -> dict[str, Any] | None:
        found = self.items[drive]["root"]
        for name in (part for part in path.split("/") if part):
            found = self._child(drive, found["id"], name)
            if found is None:
                return None
        return found

    def _child(self, drive: str, parent: str, name: str) -> dict[str, Any] | None:
        for item in self.items[drive].values():
            if item["parent"] == parent and item["name"].lower() == name.lower():
                return item
        return None

    def _public(self, item: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in item.items() if k not in ("parent", "fields")}

    def _get_path(self, request: Request, drive: str, path: str) -> Response:
        found = self._by_path(drive, path) if drive in self.items else None
        if found is None:
            return error(404, "itemNotFound", "The resource could not be found.")
        return Response(200, self._public(found))

    def _get(self, request: Request, drive: str, item: str) -> Response:
        found = self.items.get(drive, {}).get(item)
        if found is None:
            return error(404, "itemNotFound", "The resource could not be found.")
        return Response(200, self._public(found))

    def delete(self, drive: str, item_id: str) -> None:
        """Someone deletes the folder (it goes to the recycle bin: no longer listed)."""
        with self.lock:
            del self.items[drive][item_id]

    def _children(self, request: Request, drive: str, item: str) -> Response:
        """A page of the folder's children (`$top`, then `@odata.nextLink` with `$skiptoken`);
        each with its list item fields under `$expand=listItem($expand=fields)`."""
        if item not in self.items.get(drive, {}):
            return error(404, "itemNotFound", "The resource could not be found.")
        top = int((request.query.get("$top") or ["200"])[0])
        skip = int((request.query.get("$skiptoken") or ["0"])[0])
        expand = "listItem" in (request.query.get("$expand") or [""])[0]
        children = [i for i in self.items[drive].values() if i["parent"] == item]
        page = []
        for child in children[skip : skip + top]:
            shown = self._public(child)
            if expand:
                shown["listItem"] = {"id": child["id"], "fields": dict(child["fields"])}
            page.append(shown)
        body: dict[str, Any] = {"value": page}
        if skip + top < len(children):
            body["@odata.nextLink"] = (
                f"{self.base_url}/drives/{drive}/items/{item}/children?"
                f"$top={top}&$skiptoken={skip + top}"
                + ("&$expand=listItem($expand=fields)" if expand else "")
            )
        return Response(200, body)

    def _create(self, request: Request, drive: str, parent: str) -> Response:
        body = json_of(request)
        if drive not in self.items or parent not in self.items[drive]:
            return error(404, "itemNotFound", "The resource could not be found.")
        if not isinstance(body, dict) or "folder" not in body:
            return error(400, "invalidRequest", "Invalid request: a folder or file facet")
        name = str(body.get("name") or "")
        refused = _check_name(name)
        if refused:
            return refused
        behaviour = body.get("@microsoft.graph.conflictBehavior", "fail")
        existing = self._child(drive, parent, name)
        if existing is not None and behaviour == "fail":
            return error(
                409, "nameAlreadyExists", f"The specified item name already exists. Name: {name}"
            )
        if existing is not None and behaviour == "replace":
            return Response(200, self._public(existing))
        made = self._item(drive, str(uuid.uuid4()), name, parent)
        self.items[drive][made["id"]] = made
        self.items[drive][parent]["folder"]["childCount"] += 1
        return Response(201, self._public(made))

    def _rename(self, request: Request, drive: str, item: str) -> Response:
        found = self.items.get(drive, {}).get(item)
        if found is None:
            return error(404, "itemNotFound", "The resource could not be found.")
        name = str((json_of(request) or {}).get("name") or found["name"])
        refused = _check_name(name)
        if refused:
            return refused
        other = self._child(drive, found["parent"], name)
        if other is not None and other is not found:
            return error(
                409, "nameAlreadyExists", f"The specified item name already exists. Name: {name}"
            )
        found["name"] = name
        return Response(200, self._public(found))

    def _fields(self, request: Request, drive: str, item: str) -> Response:
        found = self.items.get(drive, {}).get(item)
        if found is None:
            return error(404, "itemNotFound", "The resource could not be found.")
        body = json_of(request)
        if not isinstance(body, dict):
            return error(400, "invalidRequest", "Invalid request")
        found["fields"].update(body)
        return Response(200, {"@odata.etag": f'"{uuid.uuid4()},1"', **found["fields"]})


def _check_name(name: str) -> Response | None:
    if not name or _INVALID.search(name) or name != name.strip() or name.endswith("."):
        return error(400, "invalidRequest", f"The provided name is not valid: {name!r}")
    return None
