"""Views write jsonb with orjson: the same JSON as json.dumps(default=str) gave."""

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID

from hub.store.sql_params import json_text as _json


def test_the_same_json_as_the_json_module_with_str_for_the_rest() -> None:
    value = {
        "id": UUID("6f1c2a9e-0000-4000-8000-000000000001"),
        "amount": Decimal("1650.00"),
        "when": datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
        "day": date(2026, 3, 2),
        "name": "Müller & Søn — Zürich",
        "lines": [{"hours": 7.5, "billable": True, "note": None}],
        7: "a key that is not a string",
    }
    assert json.loads(_json(value)) == json.loads(json.dumps(value, default=str))
