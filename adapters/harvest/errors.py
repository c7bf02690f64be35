"""The field names Harvest uses for its record ids and currencies, and the refusals that know
them (adapters/refusals.py)."""

from adapters.refusals import SourceFields

FIELDS = SourceFields()
refusal, parse, build = FIELDS.refusal, FIELDS.parse, FIELDS.build
