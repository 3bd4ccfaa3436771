# The table of contents: every way to run, test and measure picqer-sync.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint format bench chaos sandbox clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)  ## the whole pipeline against the sandbox, end to end
	$(BIN)/picqer-sync demo

test: $(STAMP)  ## the default test run (SQLite and fakeredis locally; real PostgreSQL and Redis under CI=true)
	$(BIN)/pytest -m "not bench and not chaos" -q

lint: $(STAMP)  ## ruff, mypy strict, and the layering contracts (import-linter, in pyproject.toml)
	$(BIN)/ruff check --no-cache .
	$(BIN)/ruff format --no-cache --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)  ## ingest, events, push at the rate limit, latency, resync: .bench/results.json and a table
	$(BIN)/pytest -m bench -q -s tests/bench

# chaos: first web, 2 workers, scheduler and the sandbox as processes on PostgreSQL + Redis (127.0.0.1)
# through cuttable proxies, 510 paid orders while workers are killed, Redis and PostgreSQL go away, Picqer
# and the webhooks misbehave: counts and recovery in .bench/chaos.json (~4 min); then the in-process run
# with edits, cancellations and fulfilments (~1 min). Fails when a count is not 0 or recovery > 60 s.
chaos: $(STAMP)  ## exactly-once and recovery within a minute, on the real processes under faults
	$(BIN)/pytest -m chaos -q -s tests/chaos/test_real_stack.py tests/chaos/test_chaos.py

sandbox: $(STAMP)
	$(BIN)/picqer-sync sandbox --port 8700

clean:
	rm -rf $(VENV) *.egg-info .mypy_cache .ruff_cache picqer-sync.db*
