"""The field names Salesforce uses for its record ids and currencies, and the refusals that know
them (adapters/refusals.py)."""

from adapters.refusals import SourceFields

FIELDS = SourceFields(
    ids=frozenset({"id", "Id", "recordIds", "transactionKey", "entityName"}),
    currencies=frozenset({"currency", "billing_currency", "CurrencyIsoCode"}),
)
refusal, parse, build = FIELDS.refusal, FIELDS.parse, FIELDS.build
