"""Harvest v2 as the feed uses it (DOMAIN.md 2.2, 2.15): POST creates (201), PATCH updates,
GET lists in the v2 page envelope; 422 for what it refuses (a client name taken, a project
without its required fields, an e-mail address taken, a user assigned twice to a project),
429 with Retry-After (injected); no idempotency key. A project's assignments live under it:
/v2/projects/{id}/user_assignments."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from tests.support.targets.server import Answer, Request, TargetServer

REQUIRED = {
    "clients": ("name",),
    "projects": ("client_id", "name", "is_billable", "bill_by", "budget_by"),
    "users": ("first_name", "last_name", "email"),
    "user_assignments": ("user_id",),
}


class Harvest:
    def __init__(self, account_id: str = "998877") -> None:
        self.account_id = account_id
        self.records: dict[str, dict[int, dict[str, Any]]] = {
            "clients": {},
            "projects": {},
            "users": {},
            "user_assignments": {},
        }
        self.created: Counter[str] = Counter()
        self._ids = itertools.count(5_000_001)
        self.server = TargetServer(self.handle)

    def handle(self, request: Request) -> Answer:
        if request.headers.get("harvest-account-id") != self.account_id:
            return Answer(401, {"error": "invalid_token"})
        parts = request.path.strip("/").split("/")
        if len(parts) < 2 or parts[0] != "v2" or parts[1] not in self.records:
            return Answer(404, {"error": "not_found"})
        scope: dict[str, Any] = {}
        if len(parts) >= 4 and parts[1] == "projects" and parts[3] == "user_assignments":
            if not parts[2].isdigit() or int(parts[2]) not in self.records["projects"]:
                return Answer(404, {"error": "not_found"})
            scope = {"project_id": int(parts[2])}
            parts = ["v2", "user_assignments", *parts[4:]]
        elif parts[1] == "user_assignments" and len(parts) > 2:
            return Answer(404, {"error": "not_found"})
        collection = parts[1]
        records = self.records[collection]
        if request.method == "GET" and len(parts) == 2:
            return Answer(200, self._page(collection, request, scope))
        body = request.json() or {}
        if request.method == "POST" and len(parts) == 2:
            refused = self._check(collection, {**body, **scope}, None)
            if refused:
                return refused
            record_id = next(self._ids)
            records[record_id] = self._stamp({"id": record_id, **body, **scope}, created=True)
            self.created[collection] += 1
            return Answer(201, self._shown(collection, records[record_id]))
        if (
            request.method == "PATCH"
            and len(parts) == 3
            and parts[2].isdigit()
            and int(parts[2]) in records
            and all(records[int(parts[2])].get(k) == v for k, v in scope.items())
        ):
            record = records[int(parts[2])]
            refused = self._check(collection, {**record, **body}, record["id"])
            if refused:
                return refused
            record.update(body)
            self._stamp(record)
            return Answer(200, self._shown(collection, record))
        return Answer(404, {"error": "not_found"})

    def _check(self, collection: str, body: dict[str, Any], own: int | None) -> Answer | None:
        missing = [name for name in REQUIRED[collection] if body.get(name) in (None, "")]
        if missing:
            return Answer(
                422, {"message": f"{missing[0].replace('_', ' ').title()} can't be blank"}
            )
        if collection == "clients":
            taken = any(
                c["name"] == body["name"] and c["id"] != own
                for c in self.records["clients"].values()
            )
            if taken:
                return Answer(422, {"message": "Name has already been taken"})
        if collection == "projects" and body["client_id"] not in self.records["clients"]:
            return Answer(422, {"message": "Client must exist"})
        if collection == "users" and any(
            str(u["email"]).lower() == str(body["email"]).lower() and u["id"] != own
            for u in self.records["users"].values()
        ):
            return Answer(422, {"message": "Email has already been taken"})
        if collection == "user_assignments":
            if body["user_id"] not in self.records["users"]:
                return Answer(422, {"message": "User must exist"})
            if any(
                a["user_id"] == body["user_id"]
                and a["project_id"] == body["project_id"]
                and a["id"] != own
                for a in self.records["user_assignments"].values()
            ):
                return Answer(422, {"message": "User has already been taken"})
        return None

    def _stamp(self, record: dict[str, Any], *, created: bool = False) -> dict[str, Any]:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if created:
            record["created_at"] = now
        record["updated_at"] = now
        return record

    def _shown(self, collection: str, record: dict[str, Any]) -> dict[str, Any]:
        """As Harvest shows it: a project names its client with the client's currency; an
        assignment names its user and project."""
        if collection == "user_assignments":
            user = self.records["users"].get(record["user_id"], {})
            name = f"{user.get('first_name', '')} {user.get('last_name', '')}".strip()
            return {
                **{k: v for k, v in record.items() if k not in ("user_id", "project_id")},
                "user": {"id": record["user_id"], "name": name},
                "project": {"id": record["project_id"]},
            }
        if collection != "projects":
            return dict(record)
        client = self.records["clients"].get(record["client_id"], {})
        return {
            **{k: v for k, v in record.items() if k != "client_id"},
            "client": {
                "id": client.get("id"),
                "name": client.get("name"),
                "currency": client.get("currency"),
            },
        }

    def _page(
        self, collection: str, request: Request, scope: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """One page of the v2 list envelope (`per_page`, `page`, `links.next`); a project's
        assignments only (`scope`)."""
        rows = [
            r
            for r in self.records[collection].values()
            if all(r.get(k) == v for k, v in (scope or {}).items())
        ]
        client_id = request.query.get("client_id")
        if collection == "projects" and client_id:
            rows = [r for r in rows if str(r["client_id"]) == client_id[0]]
        per_page = int((request.query.get("per_page") or ["2000"])[0])
        page = int((request.query.get("page") or ["1"])[0])
        pages = max(1, -(-len(rows) // per_page))
        shown = [self._shown(collection, r) for r in rows[(page - 1) * per_page : page * per_page]]
        base = f"{self.server.base_url}{request.path}?per_page={per_page}"
        more = page < pages
        return {
            collection: shown,
            "per_page": per_page,
            "total_pages": pages,
            "total_entries": len(rows),
            "next_page": page + 1 if more else None,
            "previous_page": page - 1 if page > 1 else None,
            "page": page,
            "links": {
                "first": f"{base}&page=1",
                "next": f"{base}&page={page + 1}" if more else None,
                "previous": f"{base}&page={page - 1}" if page > 1 else None,
                "last": f"{base}&page={pages}",
            },
        }
