"""QuickBooks target mapping: clients, engagements and billable items -> QuickBooks JSON."""

from __future__ import annotations

from adapters.billable import ref
from adapters.quickbooks.feed import QuickBooksTarget, display_name
from tests.support import golden as r
from tests.support.golden import xref

TARGET = QuickBooksTarget(tenant="9130")
ENGAGEMENT = "5b0c3537-f3f5-439a-9396-7c3812444dd0"


def test_maps_a_client_to_a_customer_in_its_billing_currency() -> None:
    client = r.client(
        trading_name="Acme: Europe",
        email="ap@acme.example",
        billing_address={"street": "1 High St", "city": "Leeds", "country": "GB"},
    )
    [item] = TARGET.items("client", client)
    assert item.entity == "customer" and item.key == "customer" and item.target_id is None
    assert item.payload["DisplayName"] == "Acme- Europe"  # QuickBooks refuses a colon
    assert item.payload["CurrencyRef"] == {"value": "GBP"}
    assert item.payload["PrimaryEmailAddr"] == {"Address": "ap@acme.example"}
    assert item.payload["BillAddr"] == {"Line1": "1 High St", "City": "Leeds", "Country": "GB"}
    assert item.payload["Active"] is True


def test_a_client_without_optional_fields_leaves_them_out() -> None:
    [item] = TARGET.items("client", r.client(billing_currency="", status="inactive"))
    assert set(item.payload) == {"DisplayName", "CompanyName", "Active", "Notes"}
    assert item.payload["Active"] is False


def test_a_client_known_to_the_realm_updates_its_customer() -> None:
    known = [
        xref("quickbooks", "Customer", "77", "other"),
        xref("quickbooks", "Customer", "58", "9130"),
    ]
    [item] = TARGET.items("client", r.client(xrefs=known))
    assert item.target_id == "58"  # the other realm's id 77 is another company's record


def test_idempotency_key_follows_the_version() -> None:
    client = r.client()
    [first] = TARGET.items("client", client)
    [again] = TARGET.items("client", client)
    [later] = TARGET.items("client", {**client, "version": 2})
    assert first.idempotency_key == again.idempotency_key != later.idempotency_key
    assert len(first.idempotency_key) <= 50


def test_a_won_engagement_is_a_sub_customer_of_its_client() -> None:
    client = r.client()
    engagement = r.engagement(client["id"], currency="EUR")
    [item] = TARGET.items("engagement", engagement)
    assert item.entity == "customer" and item.key == "job"
    assert item.payload["DisplayName"] == "ACME-2026-01 Finance transformation"
    assert item.payload["Job"] is True and item.payload["BillWithParent"] is True
    assert item.payload["ParentRef"] == {"value": {"$target_id": client["id"], "type": "Customer"}}
    assert item.payload["CurrencyRef"] == {"value": "EUR"}


def test_a_known_sub_customer_is_updated_by_its_job_xref() -> None:
    known = [
        xref("quickbooks", "Customer", "58", "9130"),  # never an engagement's: a client's
        xref("quickbooks", "Job", "61", "9130"),
    ]
    [item] = TARGET.items("engagement", r.engagement(r.client()["id"], xrefs=known))
    assert item.target_id == "61"


def test_no_sub_customer_for_a_deal_not_won_or_a_client_not_known_yet() -> None:
    client_id = r.client()["id"]
    for fields in ({"status": "pipeline"}, {"status": "lost"}, {"contract_type": "non_billable"}):
        assert TARGET.items("engagement", r.engagement(client_id, **fields)) == [], fields
    assert TARGET.items("engagement", r.engagement(None)) == []


def test_an_approved_billable_unbilled_time_entry_is_an_invoice_line() -> None:
    entry = r.time_entry(ENGAGEMENT, billing_hours="7.75")
    [item] = TARGET.items("time_entry", entry)
    assert item.entity == "invoice" and item.key == f"line:{entry['id']}"
    assert item.payload["CustomerRef"] == {"value": {"$target_id": ENGAGEMENT, "type": "Job"}}
    assert item.payload["CurrencyRef"] == {"value": "GBP"}
    [line] = item.payload["Line"]
    assert line["DetailType"] == "SalesItemLineDetail"
    assert line["Description"] == f"Design 2026-03-02, 7.75 h (ref {entry['id'][:8]})"
    detail = line["SalesItemLineDetail"]
    # The billing quantity (rounded hours), never the recorded one, at the entry's rate.
    assert (detail["Qty"], detail["UnitPrice"], line["Amount"]) == ("7.75", "150.00", "1162.50")
    assert detail["ServiceDate"] == "2026-03-02" and detail["ItemRef"] == {"value": "1"}


def test_a_line_rounds_half_up_to_its_currencys_minor_unit() -> None:
    eur = r.time_entry(ENGAGEMENT, hours="3", source_rate={"amount": "99.995", "currency": "EUR"})
    [item] = TARGET.items("time_entry", eur)
    assert item.payload["Line"][0]["Amount"] == "299.99"  # 299.985 half up
    assert item.payload["CurrencyRef"] == {"value": "EUR"}
    jpy = r.time_entry(ENGAGEMENT, hours="0.33", source_rate={"amount": "15001", "currency": "JPY"})
    [item] = TARGET.items("time_entry", jpy)
    assert item.payload["Line"][0]["Amount"] == "4950"  # 4950.33 in whole yen


def test_billable_items_follow_the_lifecycle_rules() -> None:
    not_billable = [
        ("time_entry", r.time_entry(ENGAGEMENT, status="submitted")),
        ("time_entry", r.time_entry(ENGAGEMENT, billable=False)),
        ("time_entry", r.time_entry(ENGAGEMENT, status="billed")),
        ("time_entry", r.time_entry(ENGAGEMENT, invoice_id=ENGAGEMENT)),
        ("time_entry", r.time_entry(ENGAGEMENT, is_running=True)),
        ("time_entry", r.time_entry(ENGAGEMENT, deleted=True)),
        ("time_entry", r.time_entry(ENGAGEMENT, credit_note_required=True)),
        ("time_entry", r.time_entry(ENGAGEMENT, source_rate=None)),  # no rate: no price
        ("time_entry", r.time_entry(ENGAGEMENT, hours="0")),
        ("expense", r.expense(ENGAGEMENT, status="draft")),
        ("expense", r.expense(ENGAGEMENT, billable=False)),
        ("expense", r.expense(ENGAGEMENT, status="reimbursed")),
        ("milestone", r.milestone(ENGAGEMENT, status="accepted")),
        ("milestone", r.milestone(ENGAGEMENT, dispute="scope of phase 2")),
        ("milestone", r.milestone(ENGAGEMENT, status="billed")),
    ]
    for entity, record in not_billable:
        assert TARGET.items(entity, record) == [], (entity, record)


def test_an_expense_and_a_milestone_are_lines_of_their_amount_in_their_currency() -> None:
    usd = {"amount": "84.20", "currency": "USD"}
    [expense] = TARGET.items("expense", r.expense(ENGAGEMENT, amount=usd))
    [milestone] = TARGET.items("milestone", r.milestone(ENGAGEMENT))
    assert expense.payload["Line"][0]["Amount"] == "84.20"
    assert expense.payload["CurrencyRef"] == {"value": "USD"}
    assert milestone.payload["Line"][0]["Amount"] == "12000.00"
    assert milestone.payload["CurrencyRef"] == {"value": "GBP"}
    assert milestone.payload["Line"][0]["SalesItemLineDetail"]["ServiceDate"] == "2026-03-10"
    no_date = r.milestone(ENGAGEMENT, accepted_on=None)
    [item] = TARGET.items("milestone", no_date)
    assert "ServiceDate" not in item.payload["Line"][0]["SalesItemLineDetail"]


def test_a_line_already_delivered_updates_its_invoice() -> None:
    known = [xref("quickbooks", "InvoiceLine", "1047", "9130")]
    [item] = TARGET.items("time_entry", r.time_entry(ENGAGEMENT, xrefs=known, version=3))
    assert item.target_id == "1047" and item.version == 3


def test_display_name_collapses_space() -> None:
    assert display_name("  Acme\tEurope \n") == "Acme Europe"


def test_a_deleted_client_or_engagement_becomes_inactive_where_quickbooks_holds_it() -> None:
    client = r.client(deleted=True, xrefs=[xref("quickbooks", "Customer", "58", "9130")])
    [customer] = TARGET.items("client", client)
    assert customer.target_id == "58" and customer.payload["Active"] is False
    known = [xref("quickbooks", "Job", "61", "9130")]
    [job] = TARGET.items("engagement", r.engagement(client["id"], deleted=True, xrefs=known))
    assert job.target_id == "61" and job.payload["Active"] is False
    # Never held there: nothing to send.
    assert TARGET.items("client", r.client(deleted=True)) == []
    assert TARGET.items("engagement", r.engagement(client["id"], deleted=True)) == []


def _carried_invoice(**fields: object) -> dict:
    """Xero's invoice INV-0042 (1,200.00 EUR, 200.00 paid), carried to QuickBooks when billing
    moved there."""
    eur = {"amount": "1200.00", "currency": "EUR"}
    values = {
        "kind": "invoice",
        "client_id": "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d",
        "number": "INV-0042",
        "currency": "EUR",
        "status": "issued",
        "issue_date": "2026-01-15",
        "subtotal": eur,
        "tax_total": {"amount": "0.00", "currency": "EUR"},
        "total": eur,
        "open_balance": {"amount": "1000.00", "currency": "EUR"},
        "carried_to": "quickbooks",
        "carried_from": "xero",
        "carried_balance": {"amount": "1000.00", "currency": "EUR"},
        "xrefs": [xref("xero", "Invoice", "0c9b6e1a-1111-4c2d-9f00-2b1d3e4f5a6b", "org")],
        **fields,
    }
    return r.golden("invoice", **values)


def test_an_invoice_carried_to_quickbooks_is_an_invoice_of_its_balance() -> None:
    record = _carried_invoice()
    [item] = TARGET.items("invoice", record)
    assert (item.entity, item.key, item.target_id) == ("invoice_carried", "carried", None)
    payload = item.payload
    assert payload["CustomerRef"] == {"value": ref(record["client_id"], "Customer")}
    assert (payload["CurrencyRef"], payload["DocNumber"]) == ({"value": "EUR"}, "INV-0042")
    # No due date given: due when issued.
    assert (payload["TxnDate"], payload["DueDate"]) == ("2026-01-15", "2026-01-15")
    [line] = payload["Line"]
    assert line["Amount"] == "1000.00" and line["DetailType"] == "SalesItemLineDetail"
    assert line["SalesItemLineDetail"] == {
        "ItemRef": {"value": "1"},
        "Qty": "1",
        "UnitPrice": "1000.00",
    }
    assert line["Description"] == "Open balance of xero invoice INV-0042 of 2026-01-15"
    # Its own carry-over item where one is set; a number longer than QuickBooks keeps is cut.
    other = QuickBooksTarget(tenant="9130", carry_item="77")
    long = other.items("invoice", _carried_invoice(number="X" * 30))[0].payload
    assert long["Line"][0]["SalesItemLineDetail"]["ItemRef"] == {"value": "77"}
    assert long["DocNumber"] == "X" * 21
    # Paid afterwards: the same payload; deleted at its source: nothing more.
    paid = {**record, "status": "paid"}
    assert TARGET.items("invoice", paid)[0].payload == payload
    assert TARGET.items("invoice", {**record, "deleted": True}) == []
    # Not carried to QuickBooks: not given to it.
    assert TARGET.items("invoice", _carried_invoice(carried_to="xero")) == []


def test_what_is_paid_into_xero_after_the_carry_over_is_taken_off_quickbookss_copy() -> None:
    """200.00 paid into Xero before the move (in the balance carried), 50.00 into QuickBooks
    (its own) and 300.00 into Xero after it: QuickBooks's copy asks for 700.00. Paid there in
    full, a copy QuickBooks holds is deleted (the writer refuses one sent or paid), and one it
    does not hold is not made."""
    payments = [
        r.payment("200.00", "EUR", "xero", "m-1"),
        r.payment("50.00", "EUR", "quickbooks", "m-2"),
        r.payment("300.00", "EUR", "xero", "m-3"),
    ]
    record = _carried_invoice(carried_payments=1, payments=payments)
    [item] = TARGET.items("invoice", record)
    [line] = item.payload["Line"]
    assert (line["Amount"], line["SalesItemLineDetail"]["UnitPrice"]) == ("700.00", "700.00")
    assert line["Description"] == (
        "Open balance of xero invoice INV-0042 of 2026-01-15, less 300.00 paid into xero since"
    )
    rest = [*payments, r.payment("700.00", "EUR", "xero", "m-4")]
    assert TARGET.items("invoice", _carried_invoice(carried_payments=1, payments=rest)) == []
    held = _carried_invoice(
        carried_payments=1,
        payments=rest,
        xrefs=[xref("quickbooks", "Invoice", "188", "9130")],
    )
    [gone] = TARGET.items("invoice", held)
    assert (gone.payload, gone.target_id) == ({"operation": "delete"}, "188")
