"""Vendor payloads written for the body-shape tests from DOMAIN.md section 2 (not from the
mappers, nor copied from tests/fixtures): one body of each source's own shape, the empty
inputs each source really sends, and single records as each page-shaped source's API returns
them by id."""

from __future__ import annotations

from typing import Any

# One body of each source's shape, each a different firm, currency and id style.
SALESFORCE_OPPORTUNITY_CREATE: dict[str, Any] = {
    "schema": "Iq3lrTg3YQIfsM7Q8Jq1xA",
    "payload": {
        "ChangeEventHeader": {
            "entityName": "Opportunity",
            "recordIds": ["0068d00000Bq7XyAAJ"],
            "changeType": "CREATE",
            "changeOrigin": "com/salesforce/api/soap/61.0;client=SfdcInternalAPI/",
            "transactionKey": "0002a7e1-bc40-7f3e-5d1a-22f6a1c0e9b4",
            "sequenceNumber": 1,
            "commitTimestamp": 1741168800000,
            "commitNumber": 11704412563591,
            "commitUser": "0058d000004KqLmAAK",
            "changedFields": [],
            "nulledFields": [],
            "diffFields": [],
        },
        "AccountId": "0018d00000Xy3PqAAJ",
        "Name": "Harbourline - Pricing diagnostic",
        "StageName": "Prospecting",
        "Amount": 84000.0,
        "CurrencyIsoCode": "AUD",
        "CloseDate": "2025-06-30",
        "IsClosed": False,
        "IsWon": False,
    },
    "event": {"replayId": 90211},
}

HARVEST_TIME_ENTRIES_PAGE: dict[str, Any] = {
    "time_entries": [
        {
            "id": 2711904417,
            "spent_date": "2025-03-04",
            "hours": 3.5,
            "rounded_hours": 3.5,
            "notes": "Stakeholder interviews",
            "is_locked": False,
            "is_closed": False,
            "is_billed": False,
            "is_running": False,
            "billable": True,
            "billable_rate": 180.0,
            "user": {"id": 4410021, "name": "Priya Raman"},
            "client": {"id": 9911042, "name": "Harbourline Shipping"},
            "project": {"id": 44100877, "name": "Pricing diagnostic", "code": "HBL-07"},
            "task": {"id": 1200331, "name": "Discovery"},
            "created_at": "2025-03-04T17:02:11Z",
            "updated_at": "2025-03-04T17:02:11Z",
        }
    ],
    "per_page": 2000,
    "total_pages": 1,
    "total_entries": 1,
    "next_page": None,
    "previous_page": None,
    "page": 1,
    "links": {
        "first": "https://api.harvestapp.com/v2/time_entries?page=1&per_page=2000",
        "next": None,
        "previous": None,
        "last": "https://api.harvestapp.com/v2/time_entries?page=1&per_page=2000",
    },
}

NETSUITE_JOB: dict[str, Any] = {
    "links": [
        {
            "rel": "self",
            "href": "https://7654321.suitetalk.api.netsuite.com/services/rest/record/v1/job/5310",
        }
    ],
    "id": "5310",
    "entityId": "PRJ-5310",
    "companyName": "Harbourline - Network redesign",
    "parent": {"links": [], "id": "2207", "refName": "Harbourline Shipping Pty Ltd"},
    "entityStatus": {"links": [], "id": "2", "refName": "In Progress"},
    "currency": {"links": [], "id": "4", "refName": "AUD"},
    "startDate": "2025-02-03",
    "projectedEndDate": "2025-08-29",
    "percentComplete": 20.0,
    "lastModifiedDate": "2025-03-01T02:14:09Z",
    "isInactive": False,
}

ODOO_PROJECTS_RESULT: dict[str, Any] = {
    "jsonrpc": "2.0",
    "id": 31,
    "result": [
        {
            "id": 58,
            "name": "Harbourline - Fleet analytics",
            "active": True,
            "partner_id": [301, "Harbourline Shipping"],
            "company_id": [2, "Kestrel Consulting Pty Ltd"],
            "currency_id": [17, "AUD"],
            "user_id": False,
            "date_start": "2025-04-01",
            "date": False,
            "last_update_status": "to_define",
            "write_date": "2025-03-28 23:10:05",
        }
    ],
}

STRIPE_INVOICE_PAID: dict[str, Any] = {
    "id": "evt_1QzHarbourPaid9K2",
    "object": "event",
    "api_version": "2025-03-31.basil",
    "created": 1743465600,
    "type": "invoice.paid",
    "livemode": False,
    "pending_webhooks": 1,
    "request": {"id": None, "idempotency_key": None},
    "data": {
        "object": {
            "id": "in_1QzHarbour0041",
            "object": "invoice",
            "status": "paid",
            "number": "HBL-0041",
            "currency": "aud",
            "customer": "cus_RxHarbour01",
            "amount_due": 1980000,
            "amount_paid": 1980000,
            "amount_remaining": 0,
            "subtotal": 1800000,
            "total": 1980000,
            "created": 1743379200,
            "status_transitions": {"finalized_at": 1743379260, "paid_at": 1743465600},
            "lines": {"object": "list", "data": [], "has_more": False, "total_count": 0},
        }
    },
}

XERO_INVOICE_EVENTS: dict[str, Any] = {
    "events": [
        {
            "resourceUrl": "https://api.xero.com/api.xro/2.0/Invoices/0c6a0f3e-77d2-4b71-9f36-3d8f2a1b5e90",
            "resourceId": "0c6a0f3e-77d2-4b71-9f36-3d8f2a1b5e90",
            "eventDateUtc": "2025-03-05T04:12:40.221",
            "eventType": "UPDATE",
            "eventCategory": "INVOICE",
            "tenantId": "5d2b9e61-0a4c-4f3e-8b17-6c9e2d1a7f04",
            "tenantType": "ORGANISATION",
        }
    ],
    "firstEventSequence": 7,
    "lastEventSequence": 7,
    "entropy": "MZQWERTXCVBNHJKLPOIU",
}

QUICKBOOKS_CLOUDEVENTS: list[dict[str, Any]] = [
    {
        "specversion": "1.0",
        "id": "9c1e7f42-0b3d-4a6e-8f25-7d4c2b1a0e93",
        "source": "intuit.Xk4vBq7RmJ2pLw9sT1yN",
        "type": "qbo.invoice.updated.v1",
        "datacontenttype": "application/json",
        "time": "2025-03-06T21:40:02.515Z",
        "intuitentityid": "2210",
        "intuitaccountid": "4620816365203874",
        "data": {},
    }
]

CONFLUENCE_PAGE_UPDATED: dict[str, Any] = {
    "page": {
        "idAsString": "3301769217",
        "id": 3301769217,
        "title": "Harbourline - Diagnostic approach",
        "spaceKey": "HBL",
        "spaceId": 3301736449,
        "contentType": "page",
        "version": 4,
        "creationDate": 1740985200000,
        "modificationDate": 1741257000000,
        "creatorAccountId": "712020:0d8e2f6a-4b1c-4c3e-9a7d-5f0b2e1c8d36",
        "lastModifierAccountId": "712020:0d8e2f6a-4b1c-4c3e-9a7d-5f0b2e1c8d36",
        "self": "https://kestrel.atlassian.net/wiki/spaces/HBL/pages/3301769217/Harbourline+-+Diagnostic+approach",
    },
    "userAccountId": "712020:0d8e2f6a-4b1c-4c3e-9a7d-5f0b2e1c8d36",
    "accountType": "customer",
    "timestamp": 1741257000512,
    "updateTrigger": "edit_page",
    "suppressNotifications": False,
}

GRAPH_DRIVE = "b!Qm9zY2gtSGFyYm91cmxpbmUtZHJpdmUtMDAwMDAwMDAwMDAwMDAwMDAwMDAw"

SHAREPOINT_DELTA_PAGE: dict[str, Any] = {
    "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(driveItem)",
    "value": [
        {
            "id": "01HBLXK7Q2VZMB3RTYDGBZ6M4PKQW7FX2N",
            "name": "Harbourline diagnostic deck.pptx",
            "eTag": '"{5B1E2C3D-4F6A-4B7C-8D9E-0F1A2B3C4D5E},2"',
            "cTag": '"c:{5B1E2C3D-4F6A-4B7C-8D9E-0F1A2B3C4D5E},2"',
            "size": 3204117,
            "createdDateTime": "2025-03-03T22:15:00Z",
            "lastModifiedDateTime": "2025-03-05T06:40:31Z",
            "webUrl": "https://kestrel.sharepoint.com/sites/Harbourline/Shared%20Documents/Harbourline%20diagnostic%20deck.pptx",
            "parentReference": {"driveId": GRAPH_DRIVE, "driveType": "documentLibrary"},
            "file": {"mimeType": "application/vnd.ms-powerpoint"},
        }
    ],
    "@odata.deltaLink": f"https://graph.microsoft.com/v1.0/drives/{GRAPH_DRIVE}/root/delta?token=aGJsLTAx",
}

# A body of each source's own shape, by system.
OWN_SHAPES: dict[str, Any] = {
    "salesforce": SALESFORCE_OPPORTUNITY_CREATE,
    "harvest": HARVEST_TIME_ENTRIES_PAGE,
    "netsuite": NETSUITE_JOB,
    "odoo": ODOO_PROJECTS_RESULT,
    "stripe": STRIPE_INVOICE_PAID,
    "xero": XERO_INVOICE_EVENTS,
    "quickbooks": QUICKBOOKS_CLOUDEVENTS,
    "confluence": CONFLUENCE_PAGE_UPDATED,
    "sharepoint": SHAREPOINT_DELTA_PAGE,
}

# The empty inputs sources really send (DOMAIN.md 2.2, 2.5, 2.6, 2.11, 2.13), with the
# webhook's query parameters where the source puts something in the URL.
XERO_INTENT_TO_RECEIVE: dict[str, Any] = {
    "events": [],
    "firstEventSequence": 0,
    "lastEventSequence": 0,
    "entropy": "LKJHGFDSAQWERTYUIOPZ",
}
HARVEST_EMPTY_EXPENSES_PAGE: dict[str, Any] = {
    "expenses": [],
    "per_page": 100,
    "total_pages": 0,
    "total_entries": 0,
    "next_page": None,
    "previous_page": None,
    "page": 1,
    "links": {
        "first": "https://api.harvestapp.com/v2/expenses?from=2025-03-01&page=1&per_page=100",
        "next": None,
        "previous": None,
        "last": "https://api.harvestapp.com/v2/expenses?from=2025-03-01&page=1&per_page=100",
    },
}
ODOO_EMPTY_RESULT: dict[str, Any] = {"jsonrpc": "2.0", "id": 12, "result": []}
NETSUITE_EMPTY_QUERY_PAGE: dict[str, Any] = {
    "links": [
        {
            "rel": "self",
            "href": "https://7654321.suitetalk.api.netsuite.com/services/rest/record/v1/job"
            "?q=lastModifiedDate+AFTER+%222025-03-01%22",
        }
    ],
    "count": 0,
    "hasMore": False,
    "items": [],
    "offset": 0,
    "totalResults": 0,
}
GRAPH_LATEST_DELTA_LINK = (
    f"https://graph.microsoft.com/v1.0/drives/{GRAPH_DRIVE}/root/delta?token=MzAxLWxhdGVzdA"
)
# `GET .../delta?token=latest`: no items, only the link to continue from.
GRAPH_EMPTY_DELTA_PAGE: dict[str, Any] = {
    "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(driveItem)",
    "value": [],
    "@odata.deltaLink": GRAPH_LATEST_DELTA_LINK,
}
GRAPH_REAUTHORIZATION: dict[str, Any] = {
    "value": [
        {
            "subscriptionId": "7f105c7d-2dc5-4530-97cd-4e7ae6534c07",
            "subscriptionExpirationDateTime": "2025-03-07T11:00:00.0000000Z",
            "tenantId": "3e2a1c5b-8f4d-4e6a-9b7c-0d1e2f3a4b5c",
            "clientState": "kestrel-graph-state",
            "lifecycleEvent": "reauthorizationRequired",
        }
    ]
}

# Single records as the page-shaped sources' APIs return them by id.
HARVEST_CLIENT = {  # GET /v2/clients/{id}
    "id": 9911042,
    "name": "Harbourline Shipping",
    "is_active": True,
    "address": "12 Wharf Street\nFremantle WA 6160",
    "statement_key": "5f3d2a1c9b8e7f6d5c4b3a2918e7d6c5",
    "currency": "AUD",
    "created_at": "2025-01-13T00:40:00Z",
    "updated_at": "2025-02-20T03:11:52Z",
}
HARVEST_PROJECT = {  # GET /v2/projects/{id}
    "id": 44100877,
    "client": {"id": 9911042, "name": "Harbourline Shipping", "currency": "AUD"},
    "name": "Pricing diagnostic",
    "code": "HBL-07",
    "is_active": True,
    "is_billable": True,
    "is_fixed_fee": True,
    "bill_by": "Project",
    "hourly_rate": None,
    "budget": None,
    "budget_by": "none",
    "cost_budget": None,
    "fee": 48000.0,
    "notes": "Fixed fee, billed on milestones",
    "starts_on": "2025-03-03",
    "ends_on": "2025-05-30",
    "created_at": "2025-02-24T01:00:00Z",
    "updated_at": "2025-02-28T05:30:00Z",
}
HARVEST_USER = {  # GET /v2/users/{id}
    "id": 4410021,
    "first_name": "Priya",
    "last_name": "Raman",
    "email": "priya.raman@kestrel.example",
    "telephone": "",
    "timezone": "Perth",
    "has_access_to_all_future_projects": False,
    "is_contractor": False,
    "is_active": True,
    "weekly_capacity": 136800,
    "default_hourly_rate": 180.0,
    "cost_rate": 82.5,
    "roles": ["Manager"],
    "access_roles": ["member"],
    "avatar_url": "https://d3s3969qhosaug.cloudfront.net/v2/user.png",
    "created_at": "2024-11-04T02:00:00Z",
    "updated_at": "2025-01-06T01:15:00Z",
}
HARVEST_TIME_ENTRY = {  # GET /v2/time_entries/{id}: fields in another order, optional ones gone
    "updated_at": "2025-03-05T08:20:44Z",
    "created_at": "2025-03-05T08:20:44Z",
    "is_running": False,
    "hours": 2.25,
    "hours_without_timer": 2.25,
    "rounded_hours": 2.5,
    "spent_date": "2025-03-05",
    "id": 2711990051,
    "project": {"id": 44100877, "name": "Pricing diagnostic", "code": "HBL-07"},
    "user": {"id": 4410021, "name": "Priya Raman"},
    "client": {"id": 9911042, "name": "Harbourline Shipping"},
    "task": {"id": 1200331, "name": "Analysis"},
    "notes": "Margin waterfall, first cut",
    "billable": True,
    "budgeted": True,
    "billable_rate": 180.0,
    "cost_rate": 82.5,
    "is_locked": False,
    "locked_reason": None,
    "is_closed": True,
    "is_billed": False,
    "invoice": None,
    "external_reference": None,
}
HARVEST_EXPENSE = {  # GET /v2/expenses/{id}
    "id": 15290077,
    "notes": "Flight Perth-Sydney for the steering committee",
    "total_cost": 612.4,
    "units": 1.0,
    "is_closed": False,
    "is_locked": False,
    "is_billed": False,
    "locked_reason": None,
    "spent_date": "2025-03-06",
    "billable": True,
    "receipt": None,
    "user": {"id": 4410021, "name": "Priya Raman"},
    "project": {"id": 44100877, "name": "Pricing diagnostic", "code": "HBL-07"},
    "expense_category": {"id": 4197501, "name": "Travel", "unit_price": None, "unit_name": None},
    "client": {"id": 9911042, "name": "Harbourline Shipping", "currency": "AUD"},
    "invoice": None,
    "created_at": "2025-03-07T00:12:09Z",
    "updated_at": "2025-03-07T00:12:09Z",
}

ODOO_PARTNER = {  # one item of a res.partner search_read asking for these fields
    "id": 301,
    "name": "Harbourline Shipping",
    "is_company": True,
    "parent_id": False,
    "vat": "AU51824753556",
    "country_code": "AU",
    "email": "accounts@harbourline.example",
    "write_date": "2025-02-19 22:04:10",
}
ODOO_PROJECT_READ = {  # project.project `read` of one id, in its JSON-RPC answer
    "jsonrpc": "2.0",
    "id": 44,
    "result": [
        {
            "id": 58,
            "name": "Harbourline - Fleet analytics",
            "active": True,
            "partner_id": [301, "Harbourline Shipping"],
            "company_id": [2, "Kestrel Consulting Pty Ltd"],
            "currency_id": [17, "AUD"],
            "account_id": [88, "Harbourline - Fleet analytics"],
            "user_id": False,
            "date_start": "2025-04-01",
            "date": "2025-07-31",
            "allow_milestones": True,
            "allow_timesheets": True,
            "allow_billable": True,
            "stage_id": [2, "In Progress"],
            "last_update_status": "on_track",
            "milestone_ids": [91],
            "is_template": False,
            "write_date": "2025-03-30 01:45:00",
        }
    ],
}
ODOO_MILESTONE = {  # one project.milestone as search_read returns it
    "id": 91,
    "name": "Fleet baseline report",
    "project_id": [58, "Harbourline - Fleet analytics"],
    "deadline": "2025-05-16",
    "is_reached": False,
    "reached_date": False,
    "write_date": "2025-03-30 01:46:12",
}

GRAPH_FILE_ITEM = {  # GET /drives/{drive-id}/items/{item-id}
    "@odata.context": f"https://graph.microsoft.com/v1.0/$metadata#drives('{GRAPH_DRIVE}')/items/$entity",
    "@microsoft.graph.downloadUrl": "https://kestrel.sharepoint.com/sites/Harbourline/_layouts/15/download.aspx?UniqueId=8e1f",
    "createdDateTime": "2025-03-10T01:02:03Z",
    "eTag": '"{8E1F2A3B-4C5D-4E6F-8A9B-0C1D2E3F4A5B},3"',
    "id": "01HBLXK7U3R5QWTGJZCNBYQ2LX4D6VHK7P",
    "lastModifiedDateTime": "2025-03-11T04:05:06Z",
    "name": "Harbourline SOW v3.pdf",
    "webUrl": "https://kestrel.sharepoint.com/sites/Harbourline/Shared%20Documents/Contracts/Harbourline%20SOW%20v3.pdf",
    "cTag": '"c:{8E1F2A3B-4C5D-4E6F-8A9B-0C1D2E3F4A5B},3"',
    "size": 482113,
    "createdBy": {"user": {"id": "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f", "displayName": "Tom Ng"}},
    "lastModifiedBy": {
        "user": {"id": "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f", "displayName": "Tom Ng"}
    },
    "parentReference": {
        "driveType": "documentLibrary",
        "driveId": GRAPH_DRIVE,
        "id": "01HBLXK7VCONTRACTSFOLDER0000000000",
        "name": "Contracts",
        "path": f"/drives/{GRAPH_DRIVE}/root:/Contracts",
        "siteId": "kestrel.sharepoint.com,0b9e2c41-7d3a-4e5f-9a1b-2c3d4e5f6a7b,"
        "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
    },
    "file": {"mimeType": "application/pdf", "hashes": {"quickXorHash": "aGFyYm91cmxpbmUtc293"}},
    "fileSystemInfo": {
        "createdDateTime": "2025-03-10T01:02:03Z",
        "lastModifiedDateTime": "2025-03-11T04:05:06Z",
    },
    "shared": {"scope": "users"},
}
GRAPH_FOLDER_ITEM = {  # the folder that file sits in, read by id
    "id": "01HBLXK7VCONTRACTSFOLDER0000000000",
    "name": "Contracts",
    "eTag": '"{0C0F1D2E-3A4B-4C5D-8E6F-7A8B9C0D1E2F},1"',
    "createdDateTime": "2025-03-01T00:00:00Z",
    "lastModifiedDateTime": "2025-03-11T04:05:06Z",
    "webUrl": "https://kestrel.sharepoint.com/sites/Harbourline/Shared%20Documents/Contracts",
    "parentReference": {"driveType": "documentLibrary", "driveId": GRAPH_DRIVE},
    "folder": {"childCount": 4},
    "size": 1930211,
}
