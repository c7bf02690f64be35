"""Application errors: refusals that depend on the store's state rather than on one aggregate."""

from __future__ import annotations


class HubError(Exception):
    """Base of application errors; each names a contract reason code."""

    reason = "RULE_VIOLATION"

    def __init__(self, message: str, *, field: str = "", rule: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.rule = rule


class ConflictError(HubError):
    """The change collides with recorded state (a duplicate registration, a taken xref)."""

    reason = "DUPLICATE"


class UnknownReferenceError(HubError):
    """A command refers to a record the hub does not know."""

    reason = "UNKNOWN_AGGREGATE"


class NotFoundError(HubError):
    """No record of that collection has that id."""

    reason = "NOT_FOUND"
