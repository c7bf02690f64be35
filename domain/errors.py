"""Domain errors: every refusal names a contract reason code and, where one applies, a rule."""

from __future__ import annotations


class DomainError(Exception):
    """A business rule refused a change; nothing was recorded."""

    reason: str = "RULE_VIOLATION"

    def __init__(self, message: str, *, rule: str = "", field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.rule = rule
        self.field = field


class InvalidCurrencyError(DomainError):
    """A currency code is not an active ISO 4217 code with a minor unit."""

    reason = "INVALID_CURRENCY"


class NegativeQuantityError(DomainError):
    """Hours, units or an amount that must not be negative were negative."""

    reason = "NEGATIVE_QUANTITY"


class RuleViolationError(DomainError):
    """A named business rule was broken (reason RULE_VIOLATION, with the rule's name)."""

    reason = "RULE_VIOLATION"


class CurrencyMismatchError(RuleViolationError):
    """Amounts in different currencies were combined."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message, rule="currency_mismatch", field=field)


class InvalidTransitionError(RuleViolationError):
    """A lifecycle transition is not allowed from the current state."""

    def __init__(self, entity: str, current: str, action: str) -> None:
        super().__init__(
            f"{entity} in state '{current}' cannot {action}",
            rule="state_transition",
            field="status",
        )
        self.current = current
        self.action = action
