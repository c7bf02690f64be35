"""The building blocks of canonical change `data`: the base model, references, and people.

A `Ref` names another record the hub resolves to a golden record (an engagement, a client);
a `SourceKey` names a record in a source system that the hub keeps as a reference only (a
task, a sale order line); a `PersonData` is a person as a source names them (PII).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, ConfigDict, Field

from hub.contracts.common import ContractModel, DecimalString, check_non_negative

SYSTEM_PATTERN = r"^[a-z][a-z0-9_]*$"

SourceId = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str, Field(max_length=2000)]
ShortText = Annotated[str, Field(max_length=200)]
Url = Annotated[str, Field(min_length=1, max_length=2000)]
Quantity = Annotated[DecimalString, AfterValidator(check_non_negative)]
Count = Annotated[int, Field(ge=0, le=2**63 - 1)]
# A descriptive field reported as null is cleared; left out, it stays as it is.
CLEARS = "Optional: null clears it, left out keeps it."
# A field a record cannot exist without: needed to create it; null does not clear it.
REQUIRED = "Needed to create the record; null or left out keeps the current value."


class CanonicalModel(ContractModel):
    """Base of every change `data` model: unknown fields refused, all but `id` optional."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def reported(self) -> dict[str, Any]:
        """The fields this change reports (set, even to null), as attributes."""
        return {name: getattr(self, name) for name in self.model_fields_set}


class Ref(CanonicalModel):
    """Another record, by its source id; system and tenant default to the event's own."""

    type: Annotated[
        str,
        Field(
            min_length=1,
            max_length=100,
            examples=["Project"],
            description="The source's own object type of the record named.",
        ),
    ]
    id: Annotated[SourceId, Field(description="Its id in that source.")]
    system: Annotated[
        str | None,
        Field(
            pattern=SYSTEM_PATTERN,
            max_length=64,
            description="Its system; the change's own when left out.",
        ),
    ] = None
    tenant: Annotated[
        str | None, Field(max_length=200, description="Its tenant; the change's own when left out.")
    ] = None


class SourceKey(CanonicalModel):
    """A record in a source system kept as a reference only, never resolved to a golden
    record (a task, a sale order line); system and tenant default to the event's own."""

    type: Annotated[
        str,
        Field(
            min_length=1,
            max_length=100,
            examples=["Task"],
            description="The source's own object type of the record named.",
        ),
    ]
    id: Annotated[SourceId, Field(description="Its id in that source.")]
    system: Annotated[
        str | None,
        Field(
            pattern=SYSTEM_PATTERN,
            max_length=64,
            description="Its system; the change's own when left out.",
        ),
    ] = None
    tenant: Annotated[
        str | None, Field(max_length=200, description="Its tenant; the change's own when left out.")
    ] = None


class PersonData(SourceKey):
    """A person as a source names them: the account (kept as a reference), and where the
    source gives them, a display name and an e-mail address (PII, served with read:pii).
    Name or e-mail left out keeps what the hub has; null clears it."""

    name: Annotated[str | None, Field(max_length=200, description="Their display name.")] = None
    email: Annotated[str | None, Field(max_length=320, description="Their e-mail address.")] = None
