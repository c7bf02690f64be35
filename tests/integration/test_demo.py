"""`pshub demo` on real PostgreSQL: what it records, once, and what later commands see."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

import psycopg
import pytest

from domain.billing_run import BillingRun, run_id
from domain.client import Client
from domain.engagement import Engagement
from domain.invoice import Invoice, InvoiceKind
from domain.time_entry import TimeEntry
from hub import audit
from hub.application import HubApplication
from hub.bootstrap import build_application
from hub.demo import DemoError, DemoPlan, DemoSpec, DemoSummary, load_demo, plan_demo
from hub.demo.billing_runs import PERIOD
from hub.demo.stewardship import ACTOR as STEWARD
from hub.demo.stewardship import CUSTOMERS
from hub.errors import ConflictError
from hub.ingest.engine import IngestEngine
from hub.settings import Settings
from hub.store.recorder import EventMeta

SPEC = DemoSpec(seed=7, scale=0.05)
META = EventMeta(system="test", actor="test")


@dataclass
class Loaded:
    url: str
    app: HubApplication
    summary: DemoSummary
    plan: DemoPlan


@pytest.fixture(scope="module")
def loaded(settings: Settings, make_database: Callable[[str], str]) -> Iterator[Loaded]:
    url = make_database("demo")
    app = build_application(settings, url)
    summary = load_demo(app, SPEC, progress=False)
    yield Loaded(url, app, summary, plan_demo(SPEC))
    app.close()


def stored_counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT entity, count(DISTINCT originator_id) FROM hub_events GROUP BY entity"
        ).fetchall()
    return dict(rows)


def head(app: HubApplication) -> int:
    return app.hub_recorder.select_head()[0]


def test_loading_records_every_planned_record_under_the_demo_meta(loaded: Loaded) -> None:
    # Beside the plan: the stewardship story's three Stripe invoices, through ingest, and
    # March's billing runs (one per contract type) with a draft each.
    planned = loaded.plan.counts()
    runs = len(loaded.summary.billed)
    assert stored_counts(loaded.url) == {
        **planned,
        "invoice": planned["invoice"] + 3 + runs,
        "billing_run": runs,
    }
    assert loaded.summary.counts == planned
    assert not loaded.summary.already_loaded
    with psycopg.connect(loaded.url) as conn:
        demo_events = conn.execute(
            "SELECT count(*) FROM hub_events WHERE system = 'demo'"
        ).fetchone()
        metas = conn.execute(
            "SELECT DISTINCT system, actor, correlation_id FROM hub_events WHERE system = 'demo'"
        ).fetchall()
        batches = conn.execute(
            "SELECT count(DISTINCT message_id) FROM hub_events WHERE system = 'demo'"
        ).fetchone()
    assert demo_events is not None
    assert loaded.summary.events == demo_events[0]
    assert metas == [("demo", "pshub demo", SPEC.correlation_id)]
    assert batches is not None
    assert batches[0] == -(-len(loaded.plan.entities) // 400)


def test_a_second_load_records_nothing_and_says_so(loaded: Loaded, settings: Settings) -> None:
    before = head(loaded.app)
    again = load_demo(loaded.app, SPEC, progress=False)
    assert head(loaded.app) == before
    assert again.already_loaded
    assert again.events == 0
    assert again.counts == loaded.summary.counts
    assert "already in this store" in again.describe(settings)


def test_a_different_scale_of_the_same_seed_is_reported_not_recorded(loaded: Loaded) -> None:
    before = head(loaded.app)
    again = load_demo(loaded.app, DemoSpec(seed=7, scale=1.0), progress=False)
    assert head(loaded.app) == before
    assert again.already_loaded
    assert again.spec == SPEC


def test_another_demo_firm_is_refused_in_a_store_that_holds_one(loaded: Loaded) -> None:
    before = head(loaded.app)
    with pytest.raises(DemoError, match="another demo firm"):
        load_demo(loaded.app, DemoSpec(seed=8, scale=0.05), progress=False)
    assert head(loaded.app) == before


def test_records_read_back_as_the_plan_left_them(loaded: Loaded) -> None:
    expected = loaded.plan.run()
    examples = loaded.plan.examples
    for kind, cls in (
        ("client", Client),
        ("engagement", Engagement),
        ("time_entry", TimeEntry),
        ("invoice", Invoice),
    ):
        found = loaded.app.find(examples[kind], cls)
        assert found is not None
        planned = expected[examples[kind]]
        assert found.version == planned.version
        assert found.status == planned.status  # type: ignore[attr-defined]
    invoice = loaded.app.get(examples["invoice"], Invoice)
    note = loaded.app.get(invoice.credits[0].credit_note_id, Invoice)
    assert note.kind == InvoiceKind.CREDIT_NOTE
    assert note.total == invoice.credits[0].amount
    client = loaded.app.get(examples["client"], Client)
    assert client.contacts
    assert all("@" in c.email for c in client.contacts)


def test_engagement_codes_and_xrefs_are_taken_for_later_commands(loaded: Loaded) -> None:
    engagement = loaded.app.get(loaded.plan.examples["engagement"], Engagement)
    client = loaded.app.get(engagement.client_id, Client)
    with pytest.raises(ConflictError):
        loaded.app.create_engagement(
            client_id=client.id, code=engagement.code, name="Copy", currency="EUR", meta=META
        )
    with pytest.raises(ConflictError):
        loaded.app.register_client(
            legal_name="Someone Else Ltd",
            country="GB",
            billing_currency="GBP",
            xref=client.xrefs[0],
            meta=META,
        )


def test_the_demo_keeps_the_audit_chain_intact(loaded: Loaded) -> None:
    result = audit.verify(loaded.url, "hub_events")
    assert result.intact
    assert result.checked == head(loaded.app)


def test_an_interrupted_load_resumes_where_it_stopped(
    settings: Settings, scratch_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = DemoSpec(seed=11, scale=0.06)
    app = build_application(settings, scratch_database)
    try:
        monkeypatch.setattr("hub.demo.load.BATCH_SIZE", 100)
        record, calls = app.record, []

        def failing(*args: object, **kwargs: object) -> int:
            calls.append(1)
            if len(calls) == 3:
                raise ConnectionError("store went away")
            return record(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(app, "record", failing)
        with pytest.raises(ConnectionError):
            load_demo(app, spec, progress=False)
        partial = head(app)
        assert partial > 0
        monkeypatch.setattr(app, "record", record)
        resumed = load_demo(app, spec, progress=False)
        assert not resumed.already_loaded
        assert 0 < resumed.events < head(app)
        assert resumed.counts == plan_demo(spec).counts()
    finally:
        app.close()


def test_the_demo_runs_marchs_billing_for_each_contract_type(loaded: Loaded) -> None:
    """Through the run command's code: one run per contract type, each with its draft
    (a retainer its fee, a fixed fee its milestone, T&M its hours), under the API's name."""
    billed = loaded.summary.billed
    # At this small scale the demo's own invoices bill every T&M hour before March's runs;
    # a retainer's fee and a billing-ready milestone are always due (scale 1 bills all four).
    assert {"fixed_fee", "retainer"} <= set(billed) <= {
        "time_and_materials", "capped_time_and_materials", "fixed_fee", "retainer",
    }  # fmt: skip
    for kind, engagement_id in billed.items():
        run = loaded.app.get(run_id(engagement_id, PERIOD), BillingRun)
        # A fixed fee bills milestones only: its run has no contract line for work.
        assert run.contract_type == ("" if kind == "fixed_fee" else kind) and run.drafts, kind
        for draft in run.drafts:
            invoice = loaded.app.get(UUID(draft["invoice_id"]), Invoice)
            assert invoice.status == "draft" and invoice.total.amount == Decimal(draft["total"])
    lines = [
        line["kind"]
        for d in loaded.app.get(run_id(billed["retainer"], PERIOD), BillingRun).drafts
        for line in d["lines"]
    ]
    assert lines[0] == "retainer_fee"
    # A second load records no second run.
    head_before = head(loaded.app)
    load_demo(loaded.app, SPEC, progress=False)
    assert head(loaded.app) == head_before


def test_the_summary_says_what_to_open_next(loaded: Loaded, settings: Settings) -> None:
    text = loaded.summary.describe(settings)
    base = f"http://{settings.host}:{settings.port}"
    assert "pshub serve" in text
    assert f"{base}/docs" in text
    for collection, kind in (
        ("clients", "client"),
        ("engagements", "engagement"),
        ("time-entries", "time_entry"),
        ("invoices", "invoice"),
    ):
        assert f"{base}/v1/{collection}/{loaded.plan.examples[kind]}" in text
    assert "time entries" in text
    assert "10,000" not in text
    engagement = loaded.plan.examples["engagement"]
    assert f"{base}/v1/engagements/{engagement}/financials" in text
    assert f"{base}/v1/metrics/wip" in text


def test_the_demo_has_links_to_customers_never_fed_and_a_stewards_mapping(loaded: Loaded) -> None:
    engine = IngestEngine(loaded.app)
    items, counts = engine.links.unresolved(system="stripe", entity=None, limit=10, after=None)
    assert [i["source_id"] for i in items] == [CUSTOMERS[1]]
    assert counts == {"stripe": 1}
    client_id = loaded.plan.steward_client
    assert client_id is not None
    client = loaded.app.get(client_id, Client)
    assert [x.id for x in client.xrefs if x.system == "stripe"] == [CUSTOMERS[0]]
    with psycopg.connect(loaded.url) as conn:
        mapped = conn.execute(
            "SELECT count(*) FROM hub_events WHERE topic LIKE %s AND actor = %s",
            ("%.LinkResolved", STEWARD),
        ).fetchone()
    assert mapped is not None
    assert mapped[0] == 2  # both invoices of the mapped customer resolved, by the steward
