# Co-Creation Hub — the two commands a newcomer needs:
#   make demo   # install everything, start the embedded PostGIS, publish datasets/, serve :8000
#   make test   # install everything and run the test suite against a throwaway PostGIS
# Everything below is idempotent: run it twice and the second run only checks.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
APT_PACKAGES := postgresql-15 postgresql-15-postgis-3 postgresql-contrib gdal-bin
# Redis: the real CKAN the CKAN-sync tests start needs one (started by the test harness).
APT_PACKAGES += redis-server
# Varnish: `make serve-cached` puts it in front of the hub's workers; tests/e2e/test_varnish.py
# runs through it.
APT_PACKAGES += varnish
# CKAN for the integration tests, in its OWN venv (its pinned requirements conflict with the
# hub's); never a dependency of the hub. HUB_SKIP_CKAN=1 skips building it (tests then skip).
CKAN_VENV := .ckan-venv
CKAN_VERSION ?= 2.11.6
CKAN_STAMP := $(CKAN_VENV)/.installed-$(CKAN_VERSION)
export HUB_PORT ?= 8000

.PHONY: demo test deps venv ckan-env lint audit serve serve-cached db-up db-down clean help bench-smoke
.PHONY: assets node-deps browser-deps

help:
	@echo "make demo  - set up and run the hub with the demo catalogue on http://127.0.0.1:$(HUB_PORT)"
	@echo "make test  - set up and run the tests"
	@echo "make serve-cached - the hub's workers behind Varnish on http://127.0.0.1:$(HUB_PORT) (docs/scaling.md)"
	@echo "make lint  - ruff"
	@echo "make bench - benchmarks against tipg, pygeoapi, ogr2ogr and COPY (bench/README.md)"
	@echo "make bench-smoke - the same suite at tiny size (about a minute)"

# $(call apt_ensure,<packages>,<why>): install the Debian packages that are missing, saying
# which and why; only check when all are present. Used by deps and bench-deps.
define apt_ensure
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo ">> installing system packages:$$missing ($(2))"; \
	  if [ "$$(id -u)" = "0" ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	else echo ">> system packages present: $(1)"; fi
endef

deps:
	$(call apt_ensure,$(APT_PACKAGES),PostgreSQL + PostGIS for the embedded database; GDAL for interop tests)

$(STAMP): pyproject.toml
	@echo ">> creating the Python environment in $(VENV) and installing the hub with its test tools"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install -q --upgrade pip
	@$(BIN)/pip install -q -e '.[test]'
	@touch $(STAMP)

venv: $(STAMP)

# -- the portal's front-end assets (package-lock.json: MapLibre GL JS, Swagger UI, axe-core) --
# Served by the hub from node_modules/ (HUB_ASSETS_DIR), never from a CDN. `npm ci` runs only
# when the lock changed (stamp); --ignore-scripts: no package may run code or phone home.
NPM_STAMP := node_modules/.installed

node-deps:
	@if command -v npm >/dev/null 2>&1; then echo ">> npm present ($$(npm --version))"; \
	else $(MAKE) -s --no-print-directory node-apt; fi

.PHONY: node-apt
node-apt:
	$(call apt_ensure,nodejs npm,Node.js and npm to install the portal's pinned front-end assets)

$(NPM_STAMP): package.json package-lock.json | node-deps
	@echo ">> installing the portal's front-end assets with npm ci (package-lock.json)"
	@npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $@

assets: $(NPM_STAMP)

# Debian's Chromium for the portal's browser tests (Playwright drives /usr/bin/chromium;
# Playwright's own browser download is never used).
browser-deps:
	$(call apt_ensure,chromium,headless browser for the portal's browser tests)

ckan-env:
ifeq ($(HUB_SKIP_CKAN),)
	@$(MAKE) -s --no-print-directory $(CKAN_STAMP) && echo ">> CKAN test environment ready in $(CKAN_VENV) (CKAN $(CKAN_VERSION))"
else
	@echo ">> HUB_SKIP_CKAN is set: not building the CKAN test environment (tests marked 'ckan' skip)"
endif

$(CKAN_STAMP):
	@echo ">> building CKAN $(CKAN_VERSION) in $(CKAN_VENV) for the CKAN-sync integration tests (own venv, ~1 min once; HUB_SKIP_CKAN=1 skips)"
	@test -x $(CKAN_VENV)/bin/python || $(PYTHON) -m venv $(CKAN_VENV)
	@$(CKAN_VENV)/bin/pip install -q --upgrade pip
	@$(CKAN_VENV)/bin/pip install -q --no-deps ckan==$(CKAN_VERSION)
	@echo ">> installing CKAN's pinned requirements (psycopg2 as the psycopg2-binary wheel, so no compiler is needed)"
	@$(CKAN_VENV)/bin/python -c "from importlib.metadata import requires; print('\n'.join(r.split(';')[0].strip().replace('psycopg2==', 'psycopg2-binary==') for r in requires('ckan') if 'extra == \"requirements\"' in r))" > $(CKAN_VENV)/requirements.txt
	@$(CKAN_VENV)/bin/pip install -q -r $(CKAN_VENV)/requirements.txt
	@rm -f $(CKAN_VENV)/.installed-*
	@touch $@

demo: deps venv assets
	$(BIN)/hub demo

serve: venv assets
	$(BIN)/hub serve

# Varnish on HUB_PORT in front of HUB_WORKERS hub workers on HUB_PORT+1 (docs/scaling.md).
HUB_WORKERS ?= 2
serve-cached: deps venv assets
	$(BIN)/hub serve-cached --workers $(HUB_WORKERS)

db-up: deps venv
	$(BIN)/hub db up

db-down: venv
	$(BIN)/hub db down

test: deps venv assets browser-deps ckan-env
	@echo ">> ruff (lint) on hub etl tests bench security"
	$(BIN)/ruff check hub etl tests bench security
	@$(MAKE) --no-print-directory audit
	$(BIN)/pytest -q $(PYTEST_ARGS)

# Known vulnerabilities in the installed dependencies fail the run unless
# security/audit-allowlist.toml lists them with a reason; an unreachable vulnerability service
# warns locally and fails in CI (HUB_AUDIT_REQUIRED=1, set by .ci/run). docs/security.md.
audit: venv
	@echo ">> pip-audit over the installed dependencies (security/audit.py)"
	$(BIN)/python security/audit.py

lint: venv
	$(BIN)/ruff check hub etl tests bench security

clean:
	-$(BIN)/hub db down
	rm -rf .hub

# -- benchmarks (bench/README.md) ------------------------------------------------------------
# The peers (tipg, pygeoapi), the chart and the profilers live in their own environment,
# bench/.venv, never in the hub's. wrk (load generator) and ogr2ogr come from apt.
# BENCH_ARGS passes options to bench/run.py, e.g. BENCH_ARGS="--with-5m" or "--scales 100000".
BENCH_VENV := bench/.venv
BENCH_STAMP := $(BENCH_VENV)/.installed
BENCH_APT := wrk gdal-bin
BENCH_ARGS ?=

.PHONY: bench bench-venv bench-deps

bench-deps:
	$(call apt_ensure,$(BENCH_APT),load generator and ogr2ogr for bench/)

$(BENCH_STAMP): bench/requirements.txt
	@echo ">> creating $(BENCH_VENV) with the peers (tipg, pygeoapi), matplotlib and py-spy"
	@test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	@$(BENCH_VENV)/bin/pip install -q --upgrade pip
	@$(BENCH_VENV)/bin/pip install -q -r bench/requirements.txt
	@touch $(BENCH_STAMP)

bench-venv: $(BENCH_STAMP)

bench: deps venv bench-deps bench-venv
	$(BIN)/python -m bench.run --suite full $(BENCH_ARGS)

bench-smoke: deps venv bench-deps bench-venv
	$(BIN)/python -m bench.run --suite smoke $(BENCH_ARGS)

# Bulk-file exports vs PostgreSQL's COPY (bench/README.md, "Exports"); not part of make test.
# EXPORT_BENCH_ARGS e.g. "--rows 200000".
.PHONY: bench-exports
bench-exports: deps venv
	$(BIN)/python bench/export_bench.py $(EXPORT_BENCH_ARGS)
