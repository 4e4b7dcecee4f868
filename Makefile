# Greek Net Pulse. `make help` lists the targets.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PARAMS ?= params/local.yaml
FROM ?=
TO ?=
ROWS ?= 500000,1000000,5000000
MONTHS ?= 24
WORKERS ?= 2  # test processes (pytest-xdist); each holds a Spark session of its own
PORT ?= 8866
KERNEL := gnp
STAMP := $(VENV)/.installed
# uv installs the pinned wheels (from PyPI, as pip would) into each venv, in seconds rather than minutes.
UV := $(VENV)/bin/uv
UV_VERSION := 0.13.8
# Spark's extra jars (Delta, the GCS connector): pinned in image/jars/pom.xml,
# copied from Maven Central once, found by gnp.lake.spark inside the venv; the
# same pom builds the project's own (a faster local file system, image/jars/src).
JARS := $(VENV)/share/gnp-jars
# Test tools whose pins clash with the project's get venvs of their own: checkov
# (an older HCL parser), bqemulator (protobuf 6, DuckDB 1.5), local-bigquery (Python 3.13).
TOOLS := .gnp/tools
CHECKOV_VENV := $(TOOLS)/checkov-venv
BQEMU_VENV := $(TOOLS)/bqemulator-venv
LOCALBQ_VENV := $(TOOLS)/local-bigquery-venv
# (a pyenv shim answers `command -v` but may not run: take the first candidate that runs)
PY313 ?= $(firstword $(foreach c,$(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13) $(shell command -v python3.13 2>/dev/null),$(shell $(c) -c 'print("$(c)")' 2>/dev/null)))

export PYSPARK_PYTHON := $(abspath $(PY))
export SPARK_LOCAL_IP := 127.0.0.1

.DEFAULT_GOAL := help

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[1m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml constraints.txt image/jars/pom.xml $(wildcard image/jars/src/gnp/hadoop/*.java)
	@bash .ci/system-deps.sh
	python3.11 -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip==26.3" "uv==$(UV_VERSION)"
	$(UV) pip install --quiet --python $(PY) -c constraints.txt -e '.[test]'
	@# pyspark comes as a source archive: where the index sends no caching headers, uv builds
	@# it again on each install and keeps every build (1.4 GB each). Drop the unused ones.
	$(UV) cache prune --quiet
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Greek Net Pulse (venv)" >/dev/null
	rm -rf $(JARS) && mvn -q -B -f image/jars/pom.xml package dependency:copy-dependencies -Djars.dir=$(abspath $(JARS))
	touch $(STAMP)

install: $(STAMP) ## Create .venv and install the pinned dependencies and the project kernel

run: $(STAMP) ## Run the pipeline on PARAMS (default: sample source, local lakehouse); FROM=/TO= override dates
	$(VENV)/bin/gnp run --params $(PARAMS) $(if $(FROM),--from $(FROM)) $(if $(TO),--to $(TO))

live: PARAMS := params/live.yaml
live: run ## Run on the real data.gov.gr API (needs HYPERION_TOKEN)

$(CHECKOV_VENV)/bin/checkov: tests/infra/checkov-requirements.txt | $(STAMP)
	python3.11 -m venv $(CHECKOV_VENV) || python3 -m venv $(CHECKOV_VENV)
	$(UV) pip install --quiet --python $(CHECKOV_VENV)/bin/python -r tests/infra/checkov-requirements.txt
	touch $@

$(BQEMU_VENV)/bin/bqemulator: tests/bqemulator-requirements.txt | $(STAMP)
	python3.11 -m venv $(BQEMU_VENV) || python3 -m venv $(BQEMU_VENV)
	$(UV) pip install --quiet --python $(BQEMU_VENV)/bin/python -r tests/bqemulator-requirements.txt
	touch $@

$(LOCALBQ_VENV)/bin/local-bigquery: tests/local-bigquery-requirements.txt | $(STAMP)
	@if [ -z "$(PY313)" ]; then echo "python3.13 not found: the gs:// BigQuery load test will be skipped"; exit 0; fi; \
	$(PY313) -m venv $(LOCALBQ_VENV) && $(UV) pip install --quiet --python $(LOCALBQ_VENV)/bin/python -r tests/local-bigquery-requirements.txt && touch $@

tools: $(CHECKOV_VENV)/bin/checkov $(BQEMU_VENV)/bin/bqemulator $(LOCALBQ_VENV)/bin/local-bigquery ## Build the test tools' own venvs (checkov, BigQuery emulators)

test: $(STAMP) tools ## Run the test suite (what CI runs): in-process tests, a few end-to-end runs, branch coverage of lib/gnp
	$(VENV)/bin/pytest -n $(WORKERS) --dist loadscope --no-loadscope-reorder --cov=gnp --cov-branch --cov-report=term:skip-covered

test-fast: $(STAMP) ## The in-process tests only: no papermill, browser, emulator or JVM beyond the shared Spark session
	$(VENV)/bin/pytest -n $(WORKERS) --dist loadscope --no-loadscope-reorder -m "not slow and not heavy"

test-heavy: $(STAMP) ## The heavy end-to-end tests left out of `make test`: the bench at two sizes, a standalone cluster
	$(VENV)/bin/pytest -m heavy

dashboard: $(STAMP) ## Serve the dashboard with Voila on 127.0.0.1:PORT over PARAMS' Gold (run `make run` first)
	$(VENV)/bin/gnp dashboard --params $(PARAMS) --port $(PORT)

bench: $(STAMP) ## Time make run on an empty lake and a new day after it; benchmark Spark against the DuckDB SQL reference and time the daily run at each history size in ROWS (comma-separated, default 500000,1000000,5000000) and after MONTHS of history at the daily volume (default 24; 0: none), one report
	$(VENV)/bin/gnp bench --rows $(ROWS) --months $(MONTHS)

bench-dashboard: $(STAMP) ## Time the served dashboard in headless Chromium: 5 visitors, then filter changes (over PARAMS' Gold)
	$(VENV)/bin/gnp bench-dashboard --params $(PARAMS)

book: $(STAMP) ## Render (if needed) and open the latest run's book of notebooks; prints its path
	$(VENV)/bin/gnp book --params $(PARAMS) --open

MONTH ?=
release: $(STAMP) ## Write a whole month of PARAMS' Gold as an open-data package under its artifacts/releases (MONTH=2025-10; default: the latest whole month)
	$(VENV)/bin/gnp release --params $(PARAMS) $(if $(MONTH),--month $(MONTH))

lab: $(STAMP) ## Open JupyterLab on the notebooks with the project kernel
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks --ServerApp.ip=127.0.0.1

fake-api: $(STAMP) ## Serve the fake data.gov.gr API on 127.0.0.1:8765 (sample data)
	$(VENV)/bin/gnp fake-api --port 8765

diagram: $(STAMP) ## Render terraform/architecture.d2 to terraform/architecture.svg
	$(VENV)/bin/d2 terraform/architecture.d2 terraform/architecture.svg

# `make clean` keeps .gnp/live (Bronze fetched from data.gov.gr: it cannot be fetched again offline, and the
# portal may not serve old days forever) and every `secrets` folder (pseudonym keys: a lost key gives every
# user a new id). Everything else under .gnp is rebuilt by the next run or `make tools`.
KEEP_LIVE := .gnp/live
clean: ## Remove the sample lakes, warehouses, artifacts and tool venvs (.gnp/); keeps .gnp/live and every key
	@if [ -d .gnp ]; then \
	  find .gnp -mindepth 1 \( -path $(KEEP_LIVE) -o -name secrets \) -prune -o ! -type d -print0 | xargs -0r rm -f; \
	  find .gnp -mindepth 1 -depth -type d -empty ! -path '$(KEEP_LIVE)' ! -path '$(KEEP_LIVE)/*' ! -name secrets -delete; \
	fi

clean-live: ## Remove the live data in .gnp/live (real Bronze, lake, warehouse; keeps its key): asks, or CONFIRM=yes
	@if [ ! -d $(KEEP_LIVE) ]; then echo "nothing to remove: no $(KEEP_LIVE)"; exit 0; fi; \
	if [ "$(CONFIRM)" != yes ]; then \
	  echo "This deletes $(KEEP_LIVE): the Bronze fetched from data.gov.gr and everything built from it."; \
	  read -r -p "Type 'delete live' to confirm: " answer || true; \
	  if [ "$$answer" != "delete live" ]; then echo "not confirmed: nothing removed"; exit 1; fi; \
	fi; \
	find $(KEEP_LIVE) -mindepth 1 -name secrets -prune -o ! -type d -print0 | xargs -0r rm -f; \
	find $(KEEP_LIVE) -mindepth 1 -depth -type d -empty ! -name secrets -delete; \
	echo "removed $(KEEP_LIVE) (its secrets folder, if any, is kept)"

.PHONY: help install tools run live test test-fast test-heavy dashboard bench bench-dashboard book release lab fake-api diagram clean clean-live
