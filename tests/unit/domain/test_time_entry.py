"""Time entry: hours, work dates, timers, the approval lifecycle and reversal of approved facts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import uuid4

import pytest

from domain.approval import ApprovalStatus
from domain.errors import InvalidTransitionError, NegativeQuantityError, RuleViolationError
from domain.time_entry import TimeEntry
from domain.values import Money

S = ApprovalStatus
DAY = date(2025, 3, 31)
RATE = Money(Decimal("150.00"), "EUR")


def make_entry(**overrides: object) -> TimeEntry:
    fields: dict[str, object] = {
        "id": uuid4(),
        "engagement_id": uuid4(),
        "resource_id": uuid4(),
        "work_date": DAY,
        "hours": Decimal("7.5"),
        "source_rate": RATE,
    }
    fields.update(overrides)
    return TimeEntry.record(**fields)  # type: ignore[arg-type]


def approved(**overrides: object) -> TimeEntry:
    entry = make_entry(**overrides)
    entry.submit()
    entry.approve("manager")
    return entry


def billed(**overrides: object) -> TimeEntry:
    entry = approved(**overrides)
    entry.bill(uuid4())
    return entry


def names(events: list) -> list[str]:
    return [type(e).__name__ for e in events]


class TestRecording:
    def test_records_a_draft_entry(self) -> None:
        entry = make_entry(notes=" design review ")
        assert entry.status == S.DRAFT
        assert entry.hours == Decimal("7.5") and entry.notes == "design review"
        assert entry.billable and not entry.is_running

    def test_refuses_negative_hours_as_negative_quantity(self) -> None:
        with pytest.raises(NegativeQuantityError) as err:
            make_entry(hours="-1")
        assert err.value.reason == "NEGATIVE_QUANTITY"

    def test_refuses_zero_hours_and_more_than_24_hours(self) -> None:
        with pytest.raises(RuleViolationError) as err:
            make_entry(hours=0)
        assert err.value.rule == "hours_positive"
        with pytest.raises(RuleViolationError) as err:
            make_entry(hours="24.5")
        assert err.value.rule == "implausible_duration"

    def test_refuses_float_hours(self) -> None:
        with pytest.raises(RuleViolationError):
            make_entry(hours=7.5)

    def test_refuses_a_datetime_as_work_date(self) -> None:
        with pytest.raises(RuleViolationError) as err:
            make_entry(work_date=datetime(2025, 3, 31, 23, 30, tzinfo=UTC))
        assert err.value.rule == "calendar_date"

    def test_refuses_a_missing_engagement_or_resource(self) -> None:
        with pytest.raises(RuleViolationError) as err:
            make_entry(engagement_id=None)
        assert err.value.rule == "required"
        with pytest.raises(RuleViolationError):
            make_entry(resource_id="42")

    def test_refuses_negative_billing_hours_or_source_rate(self) -> None:
        with pytest.raises(NegativeQuantityError):
            make_entry(billing_hours="-0.25")
        with pytest.raises(NegativeQuantityError):
            make_entry(source_rate=Money(Decimal(-1), "EUR"))

    def test_keeps_recorded_and_billing_quantities(self) -> None:
        entry = make_entry(hours="1.1", billing_hours="1.25")
        assert entry.hours == Decimal("1.1") and entry.billing_quantity == Decimal("1.25")
        assert entry.source_value == Money(Decimal("187.50"), "EUR")
        assert make_entry(hours="2").billing_quantity == Decimal(2)
        assert make_entry(source_rate=None).source_value is None

    def test_may_start_approved_but_not_billed(self) -> None:
        assert make_entry(status=S.APPROVED).status == S.APPROVED
        with pytest.raises(RuleViolationError) as err:
            make_entry(status=S.BILLED)
        assert err.value.rule == "initial_status"


class TestTimers:
    def test_a_running_timer_may_show_zero_hours_and_stays_provisional(self) -> None:
        entry = make_entry(hours=0, is_running=True)
        with pytest.raises(RuleViolationError) as err:
            entry.submit()
        assert err.value.rule == "timer_running"
        entry.revise(hours="0.5")
        entry.stop_timer("1.25")
        assert not entry.is_running and entry.hours == Decimal("1.25")
        entry.submit()

    def test_a_running_timer_cannot_be_created_approved(self) -> None:
        with pytest.raises(RuleViolationError):
            make_entry(is_running=True, status=S.APPROVED)

    def test_stopping_needs_a_running_timer_and_real_hours(self) -> None:
        with pytest.raises(RuleViolationError) as err:
            make_entry().stop_timer("1")
        assert err.value.rule == "timer_not_running"
        with pytest.raises(RuleViolationError):
            make_entry(hours=0, is_running=True).stop_timer(0)


class TestLifecycle:
    def test_walks_draft_submitted_approved_billed_locked(self) -> None:
        entry = approved()
        assert entry.status == S.APPROVED and entry.approved_by == "manager"
        invoice_id = uuid4()
        entry.bill(invoice_id)
        assert entry.status == S.BILLED and entry.invoice_id == invoice_id
        entry.lock()
        entry.lock()
        assert entry.status == S.LOCKED

    def test_a_rejected_entry_returns_to_draft_or_is_resubmitted(self) -> None:
        entry = make_entry()
        entry.submit()
        with pytest.raises(RuleViolationError):
            entry.reject(" ")
        entry.reject("wrong project")
        assert entry.status == S.REJECTED and entry.rejection_reason == "wrong project"
        entry.submit()
        assert entry.status == S.SUBMITTED and entry.rejection_reason == ""
        entry.reject("still wrong")
        entry.reopen()
        assert entry.status == S.DRAFT

    def test_a_submitted_entry_can_be_recalled(self) -> None:
        entry = make_entry()
        entry.submit()
        entry.recall()
        assert entry.status == S.DRAFT

    @pytest.mark.parametrize("action", ["approve", "recall", "reopen", "submit"])
    def test_refuses_transitions_out_of_order(self, action: str) -> None:
        with pytest.raises(InvalidTransitionError) as err:
            getattr(approved(), action)()
        assert err.value.rule == "state_transition"

    def test_approval_needs_a_submission(self) -> None:
        with pytest.raises(InvalidTransitionError):
            make_entry().approve()

    def test_only_a_billable_entry_is_billed(self) -> None:
        entry = approved(billable=False)
        with pytest.raises(RuleViolationError) as err:
            entry.bill(uuid4())
        assert err.value.rule == "not_billable"
        entry.lock()  # non-billable approved time locks at period close
        assert entry.status == S.LOCKED

    def test_an_approved_billable_entry_is_locked_only_after_billing(self) -> None:
        with pytest.raises(InvalidTransitionError):
            approved().lock()

    def test_unapproving_an_unbilled_entry_emits_a_reversal(self) -> None:
        entry = approved()
        entry.collect_events()
        entry.unapprove("approved by mistake")
        events = entry.collect_events()
        assert names(events) == ["Reversed", "Unapproved"]
        assert events[0].hours == Decimal("-7.5")
        assert events[0].value == Money(Decimal("-1125.00"), "EUR")
        assert entry.status == S.SUBMITTED and not entry.credit_note_required

    def test_refuses_to_unapprove_a_billed_entry(self) -> None:
        with pytest.raises(RuleViolationError) as err:
            billed().unapprove("oops")
        assert err.value.rule == "already_billed"

    def test_releasing_a_billed_entry_returns_it_to_wip(self) -> None:
        entry = billed()
        entry.release("invoice voided")
        assert entry.status == S.APPROVED and entry.invoice_id is None
        with pytest.raises(InvalidTransitionError):
            entry.release("again")


class TestEditsAndCorrections:
    @pytest.mark.parametrize("status", ["draft", "submitted", "rejected"])
    def test_edits_before_approval_are_plain_revisions(self, status: str) -> None:
        entry = make_entry()
        if status != "draft":
            entry.submit()
        if status == "rejected":
            entry.reject("no")
        entry.collect_events()
        entry.revise(hours="6", notes="fixed")
        assert entry.hours == Decimal(6)
        assert names(entry.collect_events()) == ["Revised"]

    def test_revisions_are_checked_like_new_entries(self) -> None:
        entry = make_entry()
        with pytest.raises(NegativeQuantityError):
            entry.revise(hours="-2")
        with pytest.raises(RuleViolationError):
            entry.revise(work_date=datetime(2025, 1, 1, tzinfo=UTC))
        with pytest.raises(RuleViolationError) as err:
            entry.revise(status="approved")
        assert err.value.rule == "not_revisable"

    @pytest.mark.parametrize("make", [approved, billed])
    def test_an_approved_entry_is_never_edited(self, make: Callable[[], TimeEntry]) -> None:
        with pytest.raises(RuleViolationError) as err:
            make().revise(hours="6")
        assert err.value.rule == "fact_immutable"

    def test_a_correction_is_a_reversal_plus_a_new_fact(self) -> None:
        entry = approved()
        old_engagement = entry.engagement_id
        new_engagement = uuid4()
        entry.collect_events()
        assert entry.correct("moved to the right project", hours="6", engagement_id=new_engagement)
        reversed_, corrected = entry.collect_events()
        assert names([reversed_, corrected]) == ["Reversed", "Corrected"]
        assert reversed_.hours == Decimal("-7.5")
        assert reversed_.engagement_id == old_engagement and reversed_.work_date == DAY
        assert reversed_.value == Money(Decimal("-1125.00"), "EUR")
        assert reversed_.reason == "moved to the right project"
        assert corrected.hours == Decimal(6) and corrected.engagement_id == new_engagement
        assert entry.status == S.APPROVED and not entry.credit_note_required

    def test_correcting_a_billed_entry_requires_a_credit_note(self) -> None:
        entry = billed()
        invoice_id = entry.invoice_id
        entry.correct("client disputed two hours", hours="5.5")
        assert entry.credit_note_required and entry.credit_note_for == invoice_id
        # The new fact is approved and unbilled: it goes on a new invoice.
        assert entry.status == S.APPROVED and entry.invoice_id is None
        credit_note = uuid4()
        entry.record_credit_note(credit_note)
        assert not entry.credit_note_required and entry.credit_note_id == credit_note

    def test_correcting_a_locked_entry_requires_a_credit_note(self) -> None:
        entry = billed()
        entry.lock()
        entry.correct("wrong date", work_date=date(2025, 3, 30))
        assert entry.credit_note_required and entry.work_date == date(2025, 3, 30)

    def test_a_correction_that_changes_nothing_records_nothing(self) -> None:
        entry = approved()
        entry.collect_events()
        assert not entry.correct("same", hours="7.50")
        assert entry.collect_events() == []

    def test_refuses_a_correction_before_approval_or_without_a_reason(self) -> None:
        with pytest.raises(InvalidTransitionError):
            make_entry().correct("x", hours="1")
        with pytest.raises(RuleViolationError):
            approved().correct(" ", hours="1")
        with pytest.raises(NegativeQuantityError):
            approved().correct("typo", hours="-1")
        with pytest.raises(RuleViolationError) as err:
            approved().correct("typo", resource_id=uuid4())
        assert err.value.rule == "not_revisable"

    def test_a_credit_note_is_recorded_only_when_one_is_required(self) -> None:
        with pytest.raises(RuleViolationError) as err:
            billed().record_credit_note(uuid4())
        assert err.value.rule == "no_credit_note_required"


class TestDeletion:
    @pytest.mark.parametrize("make", [make_entry, approved])
    def test_deletes_an_unbilled_entry(self, make: Callable[[], TimeEntry]) -> None:
        entry = make()
        entry.delete()
        assert entry.deleted
        with pytest.raises(RuleViolationError) as err:
            entry.submit()
        assert err.value.rule == "deleted"

    def test_refuses_to_delete_a_billed_entry(self) -> None:
        with pytest.raises(RuleViolationError) as err:
            billed().delete()
        assert err.value.rule == "already_billed"


def test_replays_to_the_same_state(check_replay: Callable[[TimeEntry], None]) -> None:
    entry = make_entry(hours=0, is_running=True, billing_hours=None)
    entry.stop_timer("7.5")
    entry.revise(billing_hours="7.75", task="design")
    entry.submit()
    entry.reject("typo")
    entry.reopen()
    entry.submit()
    entry.approve("boss")
    entry.unapprove("oops")
    entry.approve("boss")
    entry.bill(uuid4())
    entry.correct("two hours less", hours="5.5", billing_hours="5.5")
    entry.record_credit_note(uuid4())
    entry.bill(uuid4())
    entry.release("voided")
    entry.bill(uuid4())
    entry.lock()
    check_replay(entry)
