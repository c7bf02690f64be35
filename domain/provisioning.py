"""Provisioning of a won engagement in the downstream systems (quote-to-cash, DOMAIN.md 3.2).

won -> validated (requested on every target that follows engagements) or blocked (the failed
checks) -> acknowledged per target -> ready; a lost, cancelled or deleted engagement closes it.
The state machine is pure: the process manager (hub/quote_to_cash) decides when to call it,
and every method is a no-op where the state says it was done already, so a replay of the log
records nothing twice.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.ids import natural_id
from domain.provisioning_checks import Failure


class ProvisioningState(StrEnum):
    WON = "won"
    BLOCKED = "blocked"
    REQUESTED = "requested"
    READY = "ready"
    CLOSED = "closed"


_P = ProvisioningState
OPEN_STATES = frozenset({_P.WON, _P.BLOCKED, _P.REQUESTED})


class Provisioning(Aggregate):
    """One engagement's provisioning: its checks, the targets asked and what each answered."""

    ENTITY = "provisioning"

    @staticmethod
    def id_for(engagement_id: UUID) -> UUID:
        return natural_id("provisioning", str(engagement_id))

    @classmethod
    def start(
        cls, *, engagement_id: UUID, won_at: datetime, targets: dict[str, str]
    ) -> Provisioning:
        """`targets`: each downstream target that follows engagements -> its category."""
        return cls(
            id=cls.id_for(engagement_id),
            engagement_id=engagement_id,
            won_at=won_at,
            targets=dict(sorted(targets.items())),
        )

    @event("Started")
    def __init__(
        self, *, id: UUID, engagement_id: UUID, won_at: datetime, targets: dict[str, str]
    ) -> None:
        self.engagement_id = engagement_id
        self.won_at = won_at
        self.targets = dict(targets)
        self.state = _P.WON
        self.failures: list[dict[str, str]] = []
        self.client_id: str | None = None  # the client the checks last read
        self.checked: dict[str, int] = {}  # record id -> the version last checked
        self.requested_at: datetime | None = None
        self.acknowledged: dict[str, dict[str, str]] = {}  # target -> {ref, at}
        self.timeouts: dict[str, str] = {}  # target -> its open DOWNSTREAM_TIMEOUT case
        self.ready_at: datetime | None = None
        self.lead_time_seconds: float | None = None
        self.closed_reason = ""

    # Checks ---------------------------------------------------------------------------------

    def is_new(self, record_id: UUID, version: int) -> bool:
        """Whether that version of a record is later than what the checks last saw."""
        return version > self.checked.get(str(record_id), 0)

    def validate(
        self,
        failures: list[Failure],
        *,
        client_id: UUID | None,
        seen: dict[UUID, int],
        at: datetime,
    ) -> list[Failure]:
        """Applies a run of the checks over the versions `seen`; returns the failures that
        are new (each wants a case). No failures: provisioning is requested."""
        if self.state not in (_P.WON, _P.BLOCKED):
            return []
        before = {f["field"] for f in self.failures}
        checked = {str(k): v for k, v in seen.items()}
        client = str(client_id) if client_id else None
        if failures:
            rows = [f.as_dict() for f in sorted(failures)]
            if rows != self.failures or self.state != _P.BLOCKED or client != self.client_id:
                self._blocked(failures=rows, client_id=client, checked=checked)
            else:
                self._checked(checked=checked)
            return [f for f in failures if f.field not in before]
        self._requested(client_id=client, checked=checked, at=at)
        return []

    @event("Blocked")
    def _blocked(
        self, failures: list[dict[str, str]], client_id: str | None, checked: dict[str, int]
    ) -> None:
        self.state = _P.BLOCKED
        self.failures = list(failures)
        self.client_id = client_id
        self.checked.update(checked)

    @event("Checked")
    def _checked(self, checked: dict[str, int]) -> None:
        self.checked.update(checked)

    @event("Requested")
    def _requested(self, client_id: str | None, checked: dict[str, int], at: datetime) -> None:
        self.state = _P.REQUESTED
        self.failures = []
        self.client_id = client_id
        self.checked.update(checked)
        self.requested_at = at
        self._maybe_ready(at)

    # Acknowledgements -----------------------------------------------------------------------

    def acknowledge(self, target: str, ref: str, *, at: datetime) -> bool:
        """A target holds the engagement (its xref); False when nothing changes."""
        if target not in self.targets or target in self.acknowledged or self.state == _P.CLOSED:
            return False
        self._acknowledged(target=target, ref=ref, at=at)
        return True

    @event("Acknowledged")
    def _acknowledged(self, target: str, ref: str, at: datetime) -> None:
        self.acknowledged[target] = {"ref": ref, "at": at.isoformat()}
        self.timeouts.pop(target, None)
        if self.state == _P.REQUESTED:
            self._maybe_ready(at)

    def _maybe_ready(self, at: datetime) -> None:
        if self.missing_categories():
            return
        self.state = _P.READY
        self.ready_at = at
        self.lead_time_seconds = max(0.0, (at - self.won_at).total_seconds())

    def missing_categories(self) -> list[str]:
        """Categories of target (erp, psa, knowledge...) none of whose targets acknowledged."""
        done = {self.targets[t] for t in self.acknowledged}
        return sorted(set(self.targets.values()) - done)

    def overdue(self, now: datetime, timeout_seconds: float) -> list[str]:
        """Targets asked longer ago than the timeout that have neither answered nor a case."""
        if self.state != _P.REQUESTED or self.requested_at is None:
            return []
        if (now - self.requested_at).total_seconds() < timeout_seconds:
            return []
        return [t for t in self.targets if t not in self.acknowledged and t not in self.timeouts]

    def note_timeout(self, target: str, case_id: UUID) -> None:
        if target in self.targets and target not in self.timeouts:
            self._timed_out(target=target, case_id=str(case_id))

    @event("TimedOut")
    def _timed_out(self, target: str, case_id: str) -> None:
        self.timeouts[target] = case_id

    # Ending ---------------------------------------------------------------------------------

    def close(self, reason: str) -> bool:
        """The engagement was lost, cancelled or deleted: provisioning stops where it is
        (a ready engagement stays ready). False when nothing changes."""
        if self.state not in OPEN_STATES:
            return False
        self._closed(reason=reason)
        return True

    @event("Closed")
    def _closed(self, reason: str) -> None:
        self.state = _P.CLOSED
        self.closed_reason = reason
        self.timeouts = {}

    def summary(self) -> dict[str, object]:
        """What GET /v1/engagements/{id}/provisioning serves."""
        return {
            "engagement_id": str(self.engagement_id),
            "client_id": self.client_id,
            "state": str(self.state),
            "won_at": self.won_at.isoformat(),
            "requested_at": self.requested_at.isoformat() if self.requested_at else None,
            "ready_at": self.ready_at.isoformat() if self.ready_at else None,
            "lead_time_seconds": self.lead_time_seconds,
            "failed_checks": list(self.failures),
            "targets": [
                {
                    "target": name,
                    "category": category,
                    "acknowledged": name in self.acknowledged,
                    "ref": self.acknowledged.get(name, {}).get("ref"),
                    "acknowledged_at": self.acknowledged.get(name, {}).get("at"),
                    "timeout_case_id": self.timeouts.get(name),
                }
                for name, category in self.targets.items()
            ],
            "closed_reason": self.closed_reason or None,
            "version": self.version,
        }
