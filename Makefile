# 商丘 consolidation-monitoring warehouse. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
ROLE ?= bi
ARGS ?=
export PYTHONPATH := $(CURDIR)
# Telemetry off: the switches of offline.env, exported to every command.
include offline.env
export $(shell grep -o '^[A-Z][A-Z0-9_]*' offline.env)

.DEFAULT_GOAL := help
.PHONY: help run test bench fuzz stop clean psql rules lint docs explain airflow cluster manifest bi report export

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt
	@echo "» creating $(VENV) and installing requirements.txt (first time only)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check uv
	@$(VENV)/bin/uv pip install --quiet --python $(PY) -r requirements.txt
	@touch $@

# The manifest the DAG renders from: built at install and whenever the dbt project or a contract changes (the
# contracts write the feeds' dbt sources first), never at DAG parse. Python's one name for it is
# config.DBT_MANIFEST; make has to know it before the venv exists, so it is spelled here too and
# tests/unit/test_makefile.py fails on any drift between the two.
MANIFEST := dbt_project/target/manifest.json
DBT_SOURCES := $(shell find dbt_project/models dbt_project/macros dbt_project/seeds dbt_project/tests -type f 2>/dev/null) \
	dbt_project/dbt_project.yml $(wildcard include/contracts/*.yml)
$(MANIFEST): $(VENV)/.installed $(DBT_SOURCES)
	@$(PY) -m include.cli manifest >/dev/null

manifest: $(MANIFEST) ## build the dbt manifest (done by every target that needs it)

run: $(MANIFEST) ## run 2021 under the Airflow scheduler (MONTH=YYYY-MM: one month), then print the gate's summary
	@$(PY) -m include.cli run $(if $(MONTH),--month $(MONTH))

airflow: $(MANIFEST) ## start (or find) Airflow: api-server, scheduler, dag-processor (LocalExecutor); print the UI login
	@$(PY) -m include.cli airflow

cluster: $(MANIFEST) ## start (or find) Redis, Airflow and two Celery workers (CeleryExecutor); print the UI login
	@$(PY) -m include.cli cluster

test: $(MANIFEST) ## run the whole test suite (lint, unit, DAG integrity, end to end, Celery cluster)
	@$(VENV)/bin/pytest

bench: $(MANIFEST) ## measure ingestion, the year under the scheduler, the gate and a 10x month against baselines of the same run: bench/results/latest.md
	@$(PY) -m bench

fuzz: $(VENV)/.installed ## fuzz the feed parser with many more broken files than make test (EXAMPLES=20000)
	@SQW_FUZZ_EXAMPLES=$(or $(EXAMPLES),20000) SQW_FUZZ_RANDOM=1 $(VENV)/bin/pytest tests/ingest/test_fuzz.py -q

stop: ## stop everything the project started: Airflow's services, Redis, Superset, the embedded PostgreSQL
	@if [ -x $(PY) ]; then $(PY) -m include.cli stop; else echo "not running"; fi

clean: stop ## remove local state: embedded data, Airflow home, generated feeds, secrets
	rm -rf .local dbt_project/target dbt_project/logs expectations/gx/uncommitted

psql: $(VENV)/.installed ## psql as the read-only BI role; ROLE=auditor|transformer|loader|admin, ARGS="-c '...'"
	@eval "$$($(PY) -m include.cli psql-env --role $(ROLE))" && $$SQW_PSQL $(ARGS)

rules: $(VENV)/.installed ## compile expectations/rules/*.yml into the committed GX context
	@$(PY) -m include.cli rules

lint: $(VENV)/.installed ## ruff, mypy and sqlfluff only
	@$(VENV)/bin/pytest tests/test_lint.py

explain: $(VENV)/.installed ## how a published figure was made: MART= COUNTY=name|code|商丘市 MONTH=YYYY-MM METRIC=
	@$(PY) -m include.cli explain --mart "$(MART)" --county "$(COUNTY)" --month "$(MONTH)" --metric "$(METRIC)"

report: $(VENV)/.installed ## rewrite a month's auditor report, MONTH=YYYY-MM: index.html, report.xlsx and report.pdf
	@$(PY) -m include.cli report --month "$(MONTH)"

export: $(VENV)/.installed ## a published mart's month as CSV for Excel, formula-safe: MART= MONTH=YYYY-MM [OUT=path]
	@$(PY) -m include.cli export --mart "$(MART)" --month "$(MONTH)" $(if $(OUT),--out "$(OUT)")

bi: $(MANIFEST) ## install Superset in its own venv, provision its dashboard over the published marts, start it; print URL and login
	@$(PY) -m include.cli bi

docs: $(VENV)/.installed ## build the dbt docs (models, grain, 口径, lineage) and serve them on http://127.0.0.1:8081
	@$(PY) -m include.cli docs --serve
