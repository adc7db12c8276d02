# The two commands of the quick start:  make run  (the pipeline on the bundled sample)  and  make test.
# Both set everything up from this repository's own files: uv from the package index, then the locked
# environment (uv.lock); without uv, pip installs requirements.lock.txt.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
SAMPLE_AS_OF ?= $(shell cat data/sample/truth/as_of.txt 2>/dev/null || echo 2026-11-20)

# Older DuckDB clients the analysts' copy must open (docs/ANALYSTS.md): the oldest that reads it and the last
# release of every later minor line; each in its own virtual environment under .tools/, made once (make test).
DUCKDB_CLIENTS := 0.10.3 1.0.0 1.1.3 1.2.2 1.3.2 1.4.4 1.5.6

.PHONY: setup run test test-fast test-e2e lint sql-lint sql-fix bench bench-ingest dev prepare sample clean duckdb-clients

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml uv.lock requirements.lock.txt
	@set -e; \
	echo "setting up $(VENV) from uv.lock (a minute or two the first time)"; \
	if command -v uv >/dev/null 2>&1; then UV=uv; \
	elif [ -x .tools/bin/uv ] || ($(PYTHON) -m venv .tools && .tools/bin/pip install -qq "uv==$(UV_VERSION)"); then UV=.tools/bin/uv; \
	else UV=; fi; \
	if [ -n "$$UV" ]; then \
	  $$UV sync --quiet --frozen --compile-bytecode --python $(PYTHON); \
	else \
	  echo "uv unavailable: falling back to pip with requirements.lock.txt"; \
	  $(PYTHON) -m venv $(VENV) && $(BIN)/pip install -qq -r requirements.lock.txt && $(BIN)/pip install -qq --no-deps -e .; \
	fi
	@touch $@

prepare: setup
	@$(BIN)/refunds prepare

# docs/MART_CATALOG.md from the dbt YAML of the marts: run it after editing a model's YAML (a test compares them).
.PHONY: catalog
catalog: setup
	@$(BIN)/python -m pipelines.reports.catalog

# The sample is a synthetic world dated SAMPLE_AS_OF: run as of that date even on a clock that has not reached it.
run: setup
	@$(BIN)/refunds run --input data/sample --as-of $(SAMPLE_AS_OF) --settle 0 --force-future-as-of

# Two tiers: the fast one (pure Python, dbt unit tests, the definitions, about a minute) first, so a slip shows at
# once; then the end-to-end one (marked e2e: the pipeline on real DuckDB files). make test (CI) runs both.
test: setup lint duckdb-clients
	$(BIN)/pytest -m "not e2e"
	$(BIN)/pytest -m e2e

test-fast: setup
	$(BIN)/pytest -m "not e2e"

test-e2e: setup duckdb-clients
	$(BIN)/pytest -m e2e

duckdb-clients:  # four at a time; each is made once (pip's cache serves a fresh clone's wheels)
	@$(MAKE) -s --no-print-directory -j4 $(foreach v,$(DUCKDB_CLIENTS),.tools/duckdb-$(v)/.installed)

.tools/duckdb-%/.installed:
	@rm -rf .tools/duckdb-$*
	$(PYTHON) -m venv .tools/duckdb-$*
	.tools/duckdb-$*/bin/pip install -q --disable-pip-version-check "duckdb==$*"
	@touch $@

lint: setup sql-lint
	$(BIN)/ruff check pipelines synth tests benchmarks
	$(BIN)/ruff format --check pipelines synth tests benchmarks

# sqlfluff compiles each model with dbt: a throwaway warehouse path and a fixed date, never the real warehouse.
SQLFLUFF_ENV = REFUNDS_WAREHOUSE=$(CURDIR)/.tools/sqlfluff.duckdb REFUNDS_AS_OF=2026-01-01 DBT_SEND_ANONYMOUS_USAGE_STATS=false
sql-lint: setup
	@mkdir -p .tools
	cd dbt_project && $(SQLFLUFF_ENV) ../$(BIN)/sqlfluff lint models tests --processes 2 --disable-progress-bar --nocolor

sql-fix: setup
	@mkdir -p .tools
	cd dbt_project && $(SQLFLUFF_ENV) ../$(BIN)/sqlfluff fix models tests --processes 2 --disable-progress-bar

bench: setup
	$(BIN)/python benchmarks/daily_run_benchmark.py --json data/bench/daily_run.json

bench-ingest: setup
	$(BIN)/python benchmarks/ingest_benchmark.py

# One Dagster instance folder for the UI and the command line (refunds run records its runs in .dagster_home/ too,
# unless DAGSTER_HOME is set), so the UI shows every run.
dev: prepare
	@DAGSTER_HOME=$${DAGSTER_HOME:-$(CURDIR)/.dagster_home}; mkdir -p $$DAGSTER_HOME; \
	[ -f $$DAGSTER_HOME/dagster.yaml ] || touch $$DAGSTER_HOME/dagster.yaml; \
	echo "Dagster UI on http://127.0.0.1:3000, instance $$DAGSTER_HOME (the runs of refunds run are there too)"; \
	DAGSTER_HOME=$$DAGSTER_HOME $(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

sample: setup
	$(BIN)/refunds sample

clean:
	rm -rf data/warehouse data/exports data/published .dagster_home dbt_project/target dbt_project/logs
