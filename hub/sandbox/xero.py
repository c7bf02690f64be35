"""Xero's Accounting API on loopback: contacts and invoices per organisation (tenant).

Faithful where the writer depends on it: every request names a connected organisation in
`Xero-Tenant-Id` (403 otherwise); `Idempotency-Key` answers a repeat with the first answer and
writes nothing twice; PUT creates, POST creates or updates by ContactID/InvoiceID; a contact
name is unique among active contacts; an invoice names an existing contact and has typed
lines; only a draft can be edited; an update's LineItems replace the invoice's (a line without
LineItemID is new, a line left out is deleted); a payment (PUT Payments) applies to an
approved invoice, names an account and is at most what is still due, and shows on the
invoice (AmountPaid, AmountDue, Payments[], PAID when nothing is due). Validation errors are
ValidationExceptions whose Elements carry ValidationErrors.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from hub.sandbox.exchange import Request, Response
from hub.sandbox.loopback_api import LoopbackApi, Route, is_number, json_of

_COLLECTION = r"/api\.xro/2\.0/(?P<collection>Contacts|Invoices)"
IDS = {"Contacts": "ContactID", "Invoices": "InvoiceID"}
EDITABLE = {"DRAFT", "SUBMITTED"}


def _date() -> str:
    return f"/Date({int(datetime.now(UTC).timestamp() * 1000)}+0000)/"


class XeroApi(LoopbackApi):
    """Holds `records[tenant][collection][id]` for the organisations in `tenants`."""

    def __init__(self, *tenants: str) -> None:
        super().__init__()
        self.tenants = set(tenants)
        self.records: dict[str, dict[str, dict[str, dict[str, Any]]]] = {
            t: {"Contacts": {}, "Invoices": {}, "Payments": {}} for t in tenants
        }
        self.replays: dict[tuple[str, str], Response] = {}

    def held(self, tenant: str, collection: str) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.records[tenant][collection].values())

    def routes(self) -> list[Route]:
        return [
            ("PUT", re.compile(r"/api\.xro/2\.0/(?P<collection>Payments)"), self._write),
            ("PUT", re.compile(_COLLECTION), self._write),
            ("POST", re.compile(_COLLECTION), self._write),
            ("GET", re.compile(_COLLECTION), self._list),
            ("GET", re.compile(_COLLECTION + r"/(?P<record_id>[^/]+)"), self._get),
        ]

    def _list(self, request: Request, collection: str) -> Response:
        """A page of 100 (`page`, from 1) in the order they were made; archived contacts only
        with `includeArchived=true`; with `If-Modified-Since`, only those changed after it."""
        tenant = self._tenant(request)
        if tenant is None:
            return Response(403, {"Title": "Forbidden", "Status": 403})
        rows = list(self.records[tenant][collection].values())
        archived = (request.query.get("includeArchived") or ["false"])[0].lower() == "true"
        if collection == "Contacts" and not archived:
            rows = [r for r in rows if r.get("ContactStatus", "ACTIVE") != "ARCHIVED"]
        since = request.headers.get("If-Modified-Since")
        if since:
            after = datetime.fromisoformat(since.replace("Z", "+00:00")).timestamp() * 1000
            rows = [r for r in rows if _millis(r.get("UpdatedDateUTC", "")) > after]
        page = int((request.query.get("page") or ["1"])[0])
        shown = rows[(page - 1) * 100 : page * 100]
        if collection == "Contacts":
            shown = [_every_kind(r) for r in shown]
        return Response(200, self._envelope(collection, shown))

    def delete(self, tenant: str, invoice_id: str) -> None:
        """Someone deletes a draft in Xero: it stays listed, as DELETED."""
        with self.lock:
            self.records[tenant]["Invoices"][invoice_id]["Status"] = "DELETED"

    def throttled(self, status: int) -> Any:
        return {"Title": "Too Many Requests", "Status": status, "Detail": "Rate limit exceeded"}

    def unauthorised(self) -> Response:
        return Response(
            401, {"Type": None, "Title": "Unauthorized", "Status": 401, "Detail": "TokenExpired"}
        )

    def _tenant(self, request: Request) -> str | None:
        tenant = request.headers.get("Xero-Tenant-Id") or ""
        return tenant if tenant in self.tenants else None

    def _get(self, request: Request, collection: str, record_id: str) -> Response:
        tenant = self._tenant(request)
        found = self.records[tenant][collection].get(record_id) if tenant else None
        if found is None:
            return Response(404, {"Title": "Not Found", "Status": 404})
        return Response(200, self._envelope(collection, [found]))

    def _write(self, request: Request, collection: str) -> Response:
        tenant = self._tenant(request)
        if tenant is None:
            detail = "AuthenticationUnsuccessful: no access to that Xero-Tenant-Id"
            return Response(
                403, {"Type": None, "Title": "Forbidden", "Status": 403, "Detail": detail}
            )
        key = request.headers.get("Idempotency-Key")
        if key and (tenant, key) in self.replays:
            return self.replays[(tenant, key)]
        answer = self._apply(request, tenant, collection)
        if key:
            self.replays[(tenant, key)] = answer
        return answer

    def _check_payment(self, tenant: str, payment: dict) -> list[str]:
        invoice_id = (payment.get("Invoice") or {}).get("InvoiceID")
        invoice = self.records[tenant]["Invoices"].get(invoice_id or "")
        errors = []
        if invoice is None:
            errors.append("Invoice could not be found")
        elif invoice.get("Status") != "AUTHORISED":
            errors.append("Payment can only be made against Authorised documents")
        if not (payment.get("Account") or {}).get("Code"):
            errors.append("Account code must be specified")
        if not payment.get("Date"):
            errors.append("Payment date must be specified")
        amount = Decimal(str(payment["Amount"])) if is_number(payment.get("Amount")) else None
        if amount is None or amount <= 0:
            errors.append("Payment amount must be greater than zero")
        elif invoice is not None and amount > Decimal(str(invoice.get("AmountDue", 0))):
            errors.append("Payment amount exceeds the amount outstanding on this document")
        return errors

    def _apply_payment(self, tenant: str, payment: dict) -> dict[str, Any]:
        """Records the payment, and shows it on its invoice, PAID when nothing is left due."""
        held = {**payment, "PaymentID": str(uuid.uuid4()), "Status": "AUTHORISED"}
        self.records[tenant]["Payments"][held["PaymentID"]] = held
        invoice = self.records[tenant]["Invoices"][payment["Invoice"]["InvoiceID"]]
        amount = Decimal(str(payment["Amount"]))
        listed = {"PaymentID": held["PaymentID"]}
        listed.update({k: payment.get(k) for k in ("Date", "Amount", "Reference")})
        invoice.update(
            AmountPaid=Decimal(str(invoice.get("AmountPaid", 0))) + amount,
            AmountDue=Decimal(str(invoice["AmountDue"])) - amount,
            Payments=[*invoice.get("Payments", []), listed],
            UpdatedDateUTC=_date(),
        )
        if invoice["AmountDue"] == 0:
            invoice.update(Status="PAID", FullyPaidOnDate=payment["Date"])
        return held

    def _apply(self, request: Request, tenant: str, collection: str) -> Response:
        body = json_of(request)
        objects = body.get(collection) if isinstance(body, dict) and collection in body else [body]
        if not isinstance(objects, list) or not all(isinstance(o, dict) for o in objects):
            return Response(
                400,
                {
                    "ErrorNumber": 14,
                    "Type": "PostDataInvalidException",
                    "Message": "The request body is not a valid JSON object",
                },
            )
        if collection == "Payments":
            return self._payments(tenant, objects)
        held = self.records[tenant][collection]
        check = self._check_contact if collection == "Contacts" else self._check_invoice
        written, refused = [], False
        for obj in objects:
            record_id = obj.get(IDS[collection])
            current = held.get(record_id) if record_id else None
            errors = check(tenant, obj, current)
            if record_id and current is None:
                errors.append(f"{IDS[collection]} {record_id} could not be found")
            if request.method == "PUT" and current is not None:
                errors.append(f"PUT creates: {IDS[collection]} {record_id} already exists")
            if errors:
                refused = True
                written.append({**obj, "ValidationErrors": [{"Message": m} for m in errors]})
                continue
            merged = {**(current or {}), **obj, "UpdatedDateUTC": _date()}
            merged.setdefault(IDS[collection], str(uuid.uuid4()))
            if collection == "Invoices":
                _totals(merged)
            held[merged[IDS[collection]]] = merged
            written.append(merged)
        return self._answer(collection, written, refused)

    def _payments(self, tenant: str, objects: list[dict]) -> Response:
        written, refused = [], False
        for obj in objects:
            errors = self._check_payment(tenant, obj)
            if errors:
                refused = True
                written.append({**obj, "ValidationErrors": [{"Message": m} for m in errors]})
            else:
                written.append(self._apply_payment(tenant, obj))
        return self._answer("Payments", written, refused)

    def _answer(self, collection: str, written: list[dict], refused: bool) -> Response:
        if refused:
            return Response(
                400,
                {
                    "ErrorNumber": 10,
                    "Type": "ValidationException",
                    "Message": "A validation exception occurred",
                    "Elements": written,
                },
            )
        return Response(200, self._envelope(collection, written))

    def _check_contact(self, tenant: str, contact: dict, current: dict | None) -> list[str]:
        name = contact.get("Name", (current or {}).get("Name"))
        if not name:
            return ["The contact name must be specified"]
        for other in self.records[tenant]["Contacts"].values():
            if (
                other is not current
                and other.get("ContactStatus", "ACTIVE") == "ACTIVE"
                and other["Name"].lower() == name.lower()
            ):
                return [
                    f"The contact name {name} is already assigned to another contact. The "
                    "contact name must be unique across all active contacts."
                ]
        return []

    def _check_invoice(self, tenant: str, invoice: dict, current: dict | None) -> list[str]:
        errors = []
        if current is not None and current.get("Status") not in EDITABLE:
            errors.append("This document cannot be edited as it is not a draft.")
        if invoice.get("Type", (current or {}).get("Type")) not in ("ACCREC", "ACCPAY"):
            errors.append("Invoice Type must be specified")
        contact = (invoice.get("Contact") or (current or {}).get("Contact") or {}).get("ContactID")
        if contact not in self.records[tenant]["Contacts"]:
            errors.append("The Contact ID provided is not valid")
        number = invoice.get("InvoiceNumber")
        if number and invoice.get("Type", (current or {}).get("Type")) == "ACCREC":
            for other in self.records[tenant]["Invoices"].values():
                if (
                    other is not current
                    and other.get("InvoiceNumber") == number
                    and other.get("Status") not in ("DELETED", "VOIDED")
                ):
                    errors.append("Invoice # must be unique.")
                    break
        known = {line["LineItemID"] for line in (current or {}).get("LineItems") or ()}
        for n, line in enumerate(invoice.get("LineItems") or ()):
            if "LineItemID" in line and line["LineItemID"] not in known:
                errors.append(f"LineItemID {line['LineItemID']} is not a line of this invoice")
            if not line.get("Description"):
                errors.append(f"Description is required for line {n + 1}")
            if not (is_number(line.get("Quantity")) and is_number(line.get("UnitAmount"))):
                errors.append(f"Quantity and UnitAmount must be numbers on line {n + 1}")
        return errors

    def _envelope(self, collection: str, written: list[dict]) -> dict[str, Any]:
        return {
            "Id": str(uuid.uuid4()),
            "Status": "OK",
            "ProviderName": "pshub loopback",
            "DateTimeUTC": _date(),
            collection: written,
        }


def _every_kind(contact: dict[str, Any]) -> dict[str, Any]:
    """As Xero shows a contact: every address and phone kind, empty where never given."""
    addresses = {a["AddressType"]: a for a in contact.get("Addresses") or ()}
    phones = {p["PhoneType"]: p for p in contact.get("Phones") or ()}
    return {
        **contact,
        "Addresses": [addresses.get(k, {"AddressType": k}) for k in ("POBOX", "STREET")],
        "Phones": [
            phones.get(k, {"PhoneType": k, "PhoneNumber": ""})
            for k in ("DDI", "DEFAULT", "FAX", "MOBILE")
        ],
    }


def _millis(stamp: str) -> int:
    found = re.search(r"/Date\((\d+)", stamp)
    return int(found.group(1)) if found else 0


def _totals(invoice: dict[str, Any]) -> None:
    # Lines sent without a LineItemID are new; lines left out of an update are deleted (as
    # Xero does). Exclusive amounts and no tax rates here: the total is the lines' sum.
    for line in invoice.get("LineItems") or ():
        line.setdefault("LineItemID", str(uuid.uuid4()))
        amount = Decimal(line["Quantity"]) * Decimal(line["UnitAmount"])
        line["LineAmount"] = amount.quantize(Decimal("0.01"), ROUND_HALF_UP)
    subtotal = sum((line["LineAmount"] for line in invoice.get("LineItems") or ()), Decimal(0))
    invoice.update(SubTotal=subtotal, TotalTax=Decimal(0), Total=subtotal, AmountDue=subtotal)
