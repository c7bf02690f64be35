"""The field names Odoo uses for its record ids and currencies, and the refusals that know
them (adapters/refusals.py)."""

from adapters.refusals import SourceFields

FIELDS = SourceFields(
    ids=frozenset({"id", "_id"}),
    currencies=frozenset({"currency", "billing_currency", "currency_id"}),
)
refusal, parse, build = FIELDS.refusal, FIELDS.parse, FIELDS.build
