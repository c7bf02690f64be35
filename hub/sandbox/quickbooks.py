"""QuickBooks Online's accounting API on loopback: customers and invoices per realm.

Faithful where the writer depends on it: `?requestid=` answers a repeat with the first answer
and writes nothing twice; an update needs the current SyncToken (5010 Stale Object Error
otherwise) and is sparse; DisplayName is unique per realm (6240); an invoice's customer must
exist (2500) and carry the invoice's currency (a sub-customer its parent's: 6000), and a
line's Amount must be Qty x UnitPrice (6070). Errors are Faults:
{"Fault": {"Error": [{Message, Detail, code, element}], "type"}}.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from hub.sandbox.exchange import Request, Response
from hub.sandbox.loopback_api import LoopbackApi, Route, is_number, json_of

_ENTITY = r"/v3/company/(?P<realm>[^/]+)/(?P<entity>customer|invoice)"
KEYS = {"customer": "Customer", "invoice": "Invoice"}
HOME_CURRENCY = "GBP"


def fault(code: str, message: str, detail: str = "", kind: str = "ValidationFault") -> Response:
    error = {"Message": message, "Detail": detail or message, "code": code, "element": ""}
    return Response(400, {"Fault": {"Error": [error], "type": kind}, "time": _now()})


def _now() -> str:
    return datetime.now(UTC).isoformat()


class QuickBooksApi(LoopbackApi):
    """Holds `records[realm][entity][Id]`; `interfere(entity, id)` makes the next read of
    that record be followed by someone else's edit (its SyncToken moves on)."""

    def __init__(self) -> None:
        super().__init__()
        self.records: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
        self.replays: dict[tuple[str, str], Response] = {}
        self._next_id = 100
        self._interfere: set[tuple[str, str]] = set()

    def held(self, realm: str, entity: str) -> list[dict[str, Any]]:
        """What the realm holds of an entity ("customer", "invoice")."""
        with self.lock:
            return list(self.records.get(realm, {}).get(entity, {}).values())

    def interfere(self, entity: str, record_id: str) -> None:
        with self.lock:
            self._interfere.add((entity, record_id))

    def routes(self) -> list[Route]:
        return [
            ("POST", re.compile(_ENTITY), self._post),
            ("GET", re.compile(r"/v3/company/(?P<realm>[^/]+)/query"), self._query),
            ("GET", re.compile(_ENTITY + r"/(?P<record_id>[^/]+)"), self._get),
        ]

    def delete(self, realm: str, entity: str, record_id: str) -> None:
        """Someone deletes the record in QuickBooks."""
        with self.lock:
            del self.records[realm][entity][record_id]

    def _query(self, request: Request, realm: str) -> Response:
        """The query language as far as a listing needs it: `select * from <Entity>` with an
        optional `where Active in (...)` / `Active = ...`, STARTPOSITION and MAXRESULTS
        (1-based; 1000 at most). Customers are listed active only unless Active is named."""
        text = (request.query.get("query") or [""])[0]
        found = _QUERY.fullmatch(text.strip())
        if found is None or found["entity"].lower() not in KEYS:
            return fault("4000", "Error parsing query", f"QueryParserError: {text[:100]}")
        entity = found["entity"].lower()
        where = (found["where"] or "").lower().replace(" ", "")
        rows = sorted(
            self.records.get(realm, {}).get(entity, {}).values(), key=lambda r: int(r["Id"])
        )
        if entity == "customer" and "active" not in where:
            rows = [r for r in rows if r.get("Active", True)]
        elif where in ("active=false", "activein(false)"):
            rows = [r for r in rows if not r.get("Active", True)]
        start = int(found["start"] or 1)
        most = min(int(found["most"] or 100), 1000)
        page = [_shown(entity, r) for r in rows[start - 1 : start - 1 + most]]
        listed: dict[str, Any] = {"startPosition": start, "maxResults": len(page)}
        if page:
            listed[KEYS[entity]] = page
        return Response(200, {"QueryResponse": listed, "time": _now()})

    def throttled(self, status: int) -> Any:
        message = f"message=ThrottleExceeded; errorCode=003001; statusCode={status}"
        error = {"Message": message, "Detail": "ThrottleExceeded", "code": "3001"}
        return {"Fault": {"Error": [error], "type": "SERVICE"}, "time": _now()}

    def unauthorised(self) -> Response:
        message = "message=AuthenticationFailed; errorCode=003200; statusCode=401"
        error = {"message": message, "detail": "Token invalid", "code": "3200"}
        return Response(401, {"fault": {"error": [error], "type": "AUTHENTICATION"}})

    def _get(self, request: Request, realm: str, entity: str, record_id: str) -> Response:
        found = self.records.get(realm, {}).get(entity, {}).get(record_id)
        if found is None:
            return fault("610", "Object Not Found", f"Object Not Found : {record_id}")
        answer = Response(200, {KEYS[entity]: dict(found), "time": _now()})
        if (entity, record_id) in self._interfere:
            self._interfere.discard((entity, record_id))
            found["SyncToken"] = str(int(found["SyncToken"]) + 1)
        return answer

    def _post(self, request: Request, realm: str, entity: str) -> Response:
        request_id = (request.query.get("requestid") or [""])[0]
        if len(request_id) > 50:
            return fault("2010", "Request has invalid or unsupported property", "requestid")
        if request_id and (realm, request_id) in self.replays:
            return self.replays[(realm, request_id)]
        body = json_of(request)
        if not isinstance(body, dict):
            return fault("2010", "Request has invalid or unsupported property", "body")
        held = self.records.setdefault(realm, {}).setdefault(entity, {})
        if (request.query.get("operation") or [""])[0] == "delete":
            answer = self._delete(entity, held, body)
        else:
            check = self._check_customer if entity == "customer" else self._check_invoice
            answer = self._write(realm, entity, held, body, check)
        if request_id:
            self.replays[(realm, request_id)] = answer
        return answer

    def _write(self, realm: str, entity: str, held: dict, body: dict, check: Any) -> Response:
        record_id = body.get("Id")
        if record_id is not None:
            current = held.get(str(record_id))
            if current is None:
                return fault("610", "Object Not Found", f"Object Not Found : {record_id}")
            if str(body.get("SyncToken")) != current["SyncToken"]:
                return fault(
                    "5010",
                    "Stale Object Error",
                    f"Stale Object Error : You and someone else edited {KEYS[entity]} "
                    f"{record_id} at the same time",
                )
            merged = {**current, **{k: v for k, v in body.items() if k != "sparse"}}
        else:
            self._next_id += 1
            merged = {**body, "Id": str(self._next_id), "SyncToken": "-1"}
        refused = check(realm, merged)
        if refused is not None:
            return refused
        merged["SyncToken"] = str(int(merged["SyncToken"]) + 1)
        merged["MetaData"] = {"LastUpdatedTime": _now()}
        if entity == "invoice":
            merged["TotalAmt"] = sum((line["Amount"] for line in merged["Line"]), Decimal(0))
            merged.setdefault("DocNumber", str(1000 + len(held) + 1))
        held[merged["Id"]] = merged
        return Response(200, {KEYS[entity]: merged, "time": _now()})

    def _delete(self, entity: str, held: dict, body: dict) -> Response:
        """`operation=delete`: the record goes, answered as QuickBooks does ({Id, status})."""
        record_id = str(body.get("Id"))
        current = held.get(record_id)
        if current is None:
            return fault("610", "Object Not Found", f"Object Not Found : {record_id}")
        if str(body.get("SyncToken")) != current["SyncToken"]:
            return fault("5010", "Stale Object Error", f"Stale Object Error : {record_id}")
        del held[record_id]
        deleted = {"Id": record_id, "status": "Deleted", "domain": "QBO"}
        return Response(200, {KEYS[entity]: deleted, "time": _now()})

    def _check_customer(self, realm: str, customer: dict) -> Response | None:
        name = customer.get("DisplayName")
        if not name:
            return fault("2020", "Required param missing", "Required parameter DisplayName")
        if ":" in name or "\t" in name or "\n" in name:
            return fault("2050", "Invalid String Format", "DisplayName cannot contain : \\t \\n")
        for other in self.records[realm]["customer"].values():
            if other["Id"] != customer["Id"] and other["DisplayName"].lower() == name.lower():
                return fault(
                    "6240",
                    "Duplicate Name Exists Error",
                    f"The name supplied already exists. : Id={other['Id']}",
                )
        parent_ref = (customer.get("ParentRef") or {}).get("value")
        if parent_ref is not None:
            parent = self.records[realm]["customer"].get(str(parent_ref))
            if parent is None:
                return fault("2500", "Invalid Reference Id", f"Invalid Reference Id : {parent_ref}")
            if _currency(parent) != _currency(customer):
                return fault(
                    "6000",
                    "A business validation error has occurred while processing your request",
                    "Business Validation Error: a sub-customer must use its parent's currency",
                )
        return None

    def _check_invoice(self, realm: str, invoice: dict) -> Response | None:
        ref = (invoice.get("CustomerRef") or {}).get("value")
        customer = self.records[realm].get("customer", {}).get(str(ref))
        if customer is None:
            return fault("2500", "Invalid Reference Id", f"Invalid Reference Id : Customer {ref}")
        currency = _currency(invoice)
        if currency != _currency(customer):
            return fault(
                "6000",
                "A business validation error has occurred while processing your request",
                f"Business Validation Error: {currency} is not the customer's currency",
            )
        if not invoice.get("Line"):
            return fault("2020", "Required param missing", "Required parameter Line")
        for n, line in enumerate(invoice["Line"]):
            detail = line.get("SalesItemLineDetail") or {}
            numbers = (line.get("Amount"), detail.get("Qty"), detail.get("UnitPrice"))
            if not all(is_number(value) for value in numbers):
                return fault("2010", "Request has invalid or unsupported property", f"Line {n}")
            product = (Decimal(numbers[1]) * Decimal(numbers[2])).quantize(
                Decimal("0.01"), ROUND_HALF_UP
            )
            if product != numbers[0]:
                return fault(
                    "6070",
                    "Amount is not equal to UnitPrice * Qty",
                    f"Line {n}: Supplied value:{numbers[0]}",
                )
        return None


_QUERY = re.compile(
    r"select \* from (?P<entity>\w+)(?: where (?P<where>.+?))?"
    r"(?: startposition (?P<start>\d+))?(?: maxresults (?P<most>\d+))?",
    re.IGNORECASE,
)


def _shown(entity: str, record: dict[str, Any]) -> dict[str, Any]:
    """As QuickBooks shows it: an invoice's lines end with a subtotal line."""
    if entity != "invoice":
        return dict(record)
    subtotal = {"Amount": record["TotalAmt"], "DetailType": "SubTotalLineDetail"}
    return {**record, "Line": [*record["Line"], subtotal]}


def _currency(record: dict[str, Any]) -> str:
    # A customer or transaction without a CurrencyRef is in the home currency.
    return (record.get("CurrencyRef") or {}).get("value") or HOME_CURRENCY
