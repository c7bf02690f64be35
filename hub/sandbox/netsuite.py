"""NetSuite's REST record service as the feed uses it (DOMAIN.md 2.15): PUT /{type}/eid:{id}
upserts (204, Location), PATCH /{type}/{id} updates, GET /{type}?limit=&offset= lists ids
(a reconcile pass reads each by GET /{type}/{id}), 400 with o:errorDetails, 429 with
Retry-After (injected). An update adds the sublist lines it carries to those the record holds,
unless `?replace=<sublist>` names the sublist (then they replace them), as NetSuite does.
Required fields are required as NetSuite requires them (a customer's name, an employee's name
and subsidiary, a job's parent, a cost line's employee and job)."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from hub.sandbox.server import Answer, Ids, Request, TargetServer

PREFIX = "/services/rest/record/v1/"
EID = re.compile(r"^[A-Za-z0-9_-]+$")


def error(status: int, detail: str, code: str = "INVALID_CONTENT") -> Answer:
    return Answer(
        status,
        {
            "type": "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.1",
            "title": "Bad Request",
            "status": status,
            "o:errorDetails": [{"detail": detail, "o:errorCode": code}],
        },
    )


class NetSuite:
    def __init__(self) -> None:
        types = ("customer", "job", "employee", "timebill", "expenseReport")
        self.records: dict[str, dict[str, dict[str, Any]]] = {t: {} for t in types}
        self.by_eid: dict[str, dict[str, str]] = {t: {} for t in types}
        self.created: Counter[str] = Counter()
        self._ids = Ids(1001)
        self.server = TargetServer(self.handle)

    def handle(self, request: Request) -> Answer:
        if not request.headers.get("authorization", "").startswith("Bearer "):
            return error(401, "Invalid login attempt.", "INVALID_LOGIN")
        if not request.path.startswith(PREFIX):
            return error(404, "no such resource", "NONEXISTENT_ID")
        type_, _, ident = request.path[len(PREFIX) :].partition("/")
        if type_ not in self.records:
            return error(404, f"Record type '{type_}' does not exist.", "INVALID_RCRD_TYPE")
        if request.method == "GET" and not ident:
            return self._list(type_, request)
        body = request.json() or {}
        if request.method == "PUT" and ident.startswith("eid:"):
            eid = ident[4:]
            if not EID.match(eid):
                return error(400, f"Invalid external id '{eid}'.", "INVALID_ID")
            refused = self._check(type_, body)
            if refused:
                return refused
            internal = self.by_eid[type_].get(eid)
            if internal is None:
                internal = str(next(self._ids))
                self.by_eid[type_][eid] = internal
                self.records[type_][internal] = {"id": internal, "externalId": eid}
                self.created[type_] += 1
            self._update(self.records[type_][internal], body, request)
            return self._located(type_, internal)
        if request.method == "PATCH" and ident in self.records[type_]:
            refused = self._check(type_, body)
            if refused:
                return refused
            self._update(self.records[type_][ident], body, request)
            return self._located(type_, ident)
        if request.method == "GET" and ident in self.records[type_]:
            return Answer(200, self.records[type_][ident])
        return error(404, f"That record does not exist. id {ident}", "NONEXISTENT_ID")

    def _update(self, record: dict[str, Any], body: dict[str, Any], request: Request) -> None:
        replaced = set(",".join(request.query.get("replace", [])).split(","))
        for name, value in body.items():
            lines = isinstance(value, dict) and "items" in value and name not in replaced
            if lines and isinstance(record.get(name), dict):
                record[name] = {"items": [*record[name]["items"], *value["items"]]}
            else:
                record[name] = value

    def lines(self, type_: str, sublist: str) -> list[dict[str, Any]]:
        """Every sublist line the records of a type hold (what a repeat must not add to)."""
        return [
            line
            for r in self.records[type_].values()
            for line in r.get(sublist, {}).get("items", [])
        ]

    def delete(self, type_: str, internal: str) -> None:
        """Someone deletes the record in NetSuite (its externalId is free again)."""
        record = self.records[type_].pop(internal)
        self.by_eid[type_].pop(record.get("externalId", ""), None)

    def _list(self, type_: str, request: Request) -> Answer:
        """A page of ids and links, as the record service lists a type."""
        limit = int((request.query.get("limit") or ["1000"])[0])
        offset = int((request.query.get("offset") or ["0"])[0])
        ids = sorted(self.records[type_], key=int)
        page = ids[offset : offset + limit]
        base = f"{self.server.base_url}{PREFIX}{type_}"
        return Answer(
            200,
            {
                "links": [{"rel": "self", "href": f"{base}?limit={limit}&offset={offset}"}],
                "count": len(page),
                "hasMore": offset + len(page) < len(ids),
                "items": [
                    {"links": [{"rel": "self", "href": f"{base}/{i}"}], "id": i} for i in page
                ],
                "offset": offset,
                "totalResults": len(ids),
            },
        )

    def _check(self, type_: str, body: dict[str, Any]) -> Answer | None:
        if type_ == "customer" and not body.get("companyName"):
            return error(400, "Please enter value(s) for: Company Name", "USER_ERROR")
        if type_ == "employee" and not (body.get("firstName") and body.get("lastName")):
            return error(400, "Please enter value(s) for: Name", "USER_ERROR")
        if type_ == "employee" and not body.get("subsidiary"):
            # A OneWorld account books every employee to a subsidiary.
            return error(400, "Please enter value(s) for: Subsidiary", "USER_ERROR")
        if type_ in ("timebill", "expenseReport"):
            employee = (body.get("employee") or {}).get("id")
            if employee not in self.records["employee"]:
                return error(400, f"Invalid employee reference key {employee}.", "INVALID_KEY")
        customers = (
            [body.get("customer")]
            if type_ == "timebill"
            else [line.get("customer") for line in (body.get("expense") or {}).get("items", [])]
        )
        for customer in customers:
            job = (customer or {}).get("id")
            if job not in self.records["job"]:
                return error(400, f"Invalid customer reference key {job}.", "INVALID_KEY")
        if type_ == "timebill" and (body.get("hours") is None or not body.get("tranDate")):
            return error(400, "Please enter value(s) for: Duration, Date", "USER_ERROR")
        if type_ == "job":
            parent = (body.get("parent") or {}).get("id")
            if parent not in self.records["customer"]:
                return error(400, f"Invalid parent reference key {parent}.", "INVALID_KEY")
        return None

    def _located(self, type_: str, internal: str) -> Answer:
        location = f"{self.server.base_url}{PREFIX}{type_}/{internal}"
        return Answer(204, None, {"Location": location})
