# The two commands a fresh clone needs: `make demo` (the whole job on the embedded default) and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: help install airflow demo test test-fast test-at lint format orchestration bench bench-generate bench-load lock lock-airflow clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

# The Python packages (pinned), and the Step Functions validator the tests use (npm, locked).
$(STAMP): pyproject.toml constraints.txt tools/asl/package-lock.json
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==25.3
	$(BIN)/pip install --quiet --constraint constraints.txt --editable '.[dev]'
	npm ci --prefix tools/asl --silent --no-audit --no-fund
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install the project with pinned dependencies

# checkov, which the tests run over the CloudFormation template, in a virtualenv of its own: its pinned
# dependencies clash with the project's. tools/checkov/requirements.txt pins its whole tree.
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-stamp
$(CHECKOV_STAMP): tools/checkov/requirements.txt
	rm -rf $(CHECKOV_VENV) && $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --upgrade pip==25.3
	$(CHECKOV_VENV)/bin/pip install --quiet --no-deps --requirement tools/checkov/requirements.txt
	touch $(CHECKOV_STAMP)

# Apache Airflow in a virtualenv of its own, apart from the project's dependencies: the tests load the
# generated DAG in Airflow's DagBag and run it with `airflow dags test` (tests/python/test_airflow.py).
# tools/airflow/requirements.txt pins apache-airflow and its whole tree; `make lock-airflow` re-pins it.
AIRFLOW_VERSION := 3.3.2
AIRFLOW_VENV := .venv-airflow
AIRFLOW_STAMP := $(AIRFLOW_VENV)/.installed-stamp
$(AIRFLOW_STAMP): tools/airflow/requirements.txt
	rm -rf $(AIRFLOW_VENV)
	$(PYTHON) -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_VENV)/bin/pip install --quiet --upgrade pip==25.3
	$(AIRFLOW_VENV)/bin/pip install --quiet --requirement tools/airflow/requirements.txt
	touch $(AIRFLOW_STAMP)

airflow: $(AIRFLOW_STAMP)  ## create .venv-airflow: Apache Airflow (pinned) for the DAG's tests, not the project's

# Debian's Chromium, which the browser tests drive headless through Playwright (Playwright's own browser
# download needs the network at test time; this is the distribution's package, installed once).
CHROMIUM := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
$(CHROMIUM):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium

demo: $(STAMP)  ## start local S3, land 30 days of sample data, then load, build and report on DuckDB
	PATH=$(CURDIR)/$(BIN):$$PATH scripts/demo.sh

test: $(STAMP) $(CHECKOV_STAMP) $(AIRFLOW_STAMP) $(CHROMIUM) lint  ## lint, then run the whole test suite (installs Chromium for the browser tests)
	$(BIN)/pytest -n 2 --dist loadgroup

# The fast tests: the Python tests not marked slow (no dbt, no daily run, no server of their own), then dbt's
# unit tests on an empty DuckDB file. A unit test needs its model's parents to exist: the loader creates the
# raw tables (nothing is landed), `--empty` builds the models above them without reading a row, and the unit
# tests run beside them. Under 2 minutes on 2 cores.
test-fast: $(STAMP) $(CHECKOV_STAMP)  ## the Python unit tests (not marked slow) and dbt's unit tests, on DuckDB
	$(BIN)/pytest -n 2 -m "not slow"
	@scratch=$$(mktemp -d) && trap 'rm -rf "$$scratch"' EXIT && mkdir "$$scratch/landing" && \
	export SHOPWAREHOUSE_TARGET=duckdb SHOPWAREHOUSE_DUCKDB_PATH="$$scratch/warehouse.duckdb" \
	  SHOPWAREHOUSE_LANDING="$$scratch/landing" DBT_PROFILES_DIR=$(CURDIR) DBT_TARGET_PATH="$$scratch/target" \
	  DBT_LOG_PATH="$$scratch/logs" && \
	$(BIN)/shopwarehouse load --all > /dev/null 2>&1 && \
	$(BIN)/dbt build --empty --select "+test_type:unit" --exclude-resource-type test snapshot --quiet && \
	echo "dbt unit tests: passed"

# Debian's libfaketime, for `make test-at`: every process of the suite (pytest, the `shopwarehouse` commands
# it starts, DuckDB, dbt, Node, Chromium) sees one clock that starts at TIME, UTC, and runs on. The
# PostgreSQL server is not under it and keeps the real time, so the default TIME, the last 01:00 UTC that
# has passed, is within a day of it (the loaded rows' times are then fresh on PostgreSQL too).
FAKETIME := /usr/bin/faketime
$(FAKETIME):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends faketime

TIME ?= $(shell date -u -d '1 hour ago' +%F) 01:00:00
TESTS ?=
test-at: $(STAMP) $(CHECKOV_STAMP) $(AIRFLOW_STAMP) $(CHROMIUM) $(FAKETIME)  ## the suite (or TESTS) with the clock starting at TIME, UTC (installs faketime)
	TZ=UTC FAKETIME_DONT_RESET=1 $(FAKETIME) -f "@$(TIME)" $(BIN)/pytest -n 2 --dist loadgroup $(TESTS)

lint: $(STAMP)  ## ruff (lint + format check), mypy, and sqlfluff over the dbt SQL
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	SHOPWAREHOUSE_DUCKDB_PATH=:memory: $(BIN)/sqlfluff lint --processes 2 models snapshots tests

format: $(STAMP)  ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

orchestration: $(STAMP)  ## regenerate deploy/ (crontab, Airflow DAG, Step Functions) from the run's steps
	$(BIN)/shopwarehouse orchestration --out deploy

ORDERS ?= 1000000
bench: $(STAMP)  ## the whole pipeline at ORDERS orders beside its floor; writes docs/benchmarks/
	$(BIN)/python scripts/bench_pipeline.py --orders $(ORDERS)

bench-generate: $(STAMP)  ## orders/second of the data generator for 1M orders
	$(BIN)/python scripts/bench_generate.py --orders 1000000

bench-load: $(STAMP)  ## DuckDB load throughput for 1M orders beside DuckDB's own read_csv of the same files
	$(BIN)/python scripts/bench_load.py --orders 1000000

lock:  ## re-pin every transitive dependency into constraints.txt from a clean venv
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install --quiet --upgrade pip==25.3
	.venv-lock/bin/pip install --quiet '.[dev]'
	.venv-lock/bin/pip freeze --exclude-editable | grep -v '^shopwarehouse' > constraints.txt
	rm -rf .venv-lock

lock-airflow:  ## re-pin apache-airflow (AIRFLOW_VERSION) and its whole tree into tools/airflow/requirements.txt
	rm -rf .venv-airflow-lock && $(PYTHON) -m venv .venv-airflow-lock
	.venv-airflow-lock/bin/pip install --quiet --upgrade pip==25.3
	.venv-airflow-lock/bin/pip install --quiet 'apache-airflow==$(AIRFLOW_VERSION)'
	{ echo "# apache-airflow==$(AIRFLOW_VERSION) and its whole tree, for .venv-airflow (make airflow); written by make lock-airflow"; \
	  .venv-airflow-lock/bin/pip freeze; } > tools/airflow/requirements.txt
	rm -rf .venv-airflow-lock

clean:  ## remove the virtualenvs, the generated data and dbt's artefacts
	rm -rf $(VENV) $(CHECKOV_VENV) $(AIRFLOW_VENV) tools/asl/node_modules data target dbt_packages logs .pytest_cache .mypy_cache .ruff_cache
