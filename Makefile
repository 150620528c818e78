# Guildhall — one Makefile for a newcomer, a developer and CI.
#
#   make run    infra + every service, with demo data
#   make test   install, build protos, start infra, lint, run every test
#
# Everything it needs is fetched into ignored folders: .venv/ (Python),
# node_modules/ (buf), .local/ (Kafka jars, FerretDB binary, proto deps, data,
# logs, pids).

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

ROOT      := $(abspath .)
LOCAL     := $(ROOT)/.local
VENV      := $(ROOT)/.venv
PY        := $(VENV)/bin/python
PYTHON3   ?= python3
SERVICES  := profile community post notification gateway

export GUILDHALL_ROOT := $(ROOT)

# Where the local infra listens (deploy/local/infra.py reads the ports); tests,
# `make run` and the services read the two addresses derived from them.
GUILDHALL_KAFKA_PORT ?= 19092
GUILDHALL_FERRETDB_PORT ?= 27027
GUILDHALL_REDIS_PORT ?= 16379
export GUILDHALL_KAFKA_PORT GUILDHALL_FERRETDB_PORT GUILDHALL_REDIS_PORT
export GUILDHALL_KAFKA_BOOTSTRAP_SERVERS ?= 127.0.0.1:$(GUILDHALL_KAFKA_PORT)
export GUILDHALL_MONGO_URI ?= mongodb://127.0.0.1:$(GUILDHALL_FERRETDB_PORT)/
export GUILDHALL_REDIS_URL ?= redis://127.0.0.1:$(GUILDHALL_REDIS_PORT)/0

include mk/infra.mk
include mk/protos.mk
include mk/web.mk

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sort | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

# --- Python environment -----------------------------------------------------
# The stamp depends on every manifest, so a changed dependency reinstalls.
PY_MANIFESTS := requirements/constraints.txt requirements/dev.txt \
	libs/kit/pyproject.toml libs/protos/pyproject.toml libs/testsupport/pyproject.toml \
	$(foreach s,$(SERVICES),services/$(s)/pyproject.toml)
VENV_STAMP := $(VENV)/.guildhall-installed

$(VENV_STAMP): $(PY_MANIFESTS)
	@echo "==> Python environment in .venv (first run: about a minute)"
	@test -x $(PY) || $(PYTHON3) -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip
	@$(PY) -m pip install -q -c requirements/constraints.txt -r requirements/dev.txt
	@$(PY) -m pip install -q -c requirements/constraints.txt --no-deps \
		-e libs/protos -e libs/kit -e libs/testsupport $(foreach s,$(SERVICES),-e services/$(s))
	@touch $@

.PHONY: install
install: $(VENV_STAMP) ## create .venv and install every package (editable)

# --- Quality gates ----------------------------------------------------------
.PHONY: lint lint-py
lint: lint-py lint-protos openapi-check ## ruff (lint + format check), mypy strict, buf lint + breaking, OpenAPI drift

lint-py: install protos
	@echo "==> ruff"
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .
	@echo "==> mypy (strict)"
	@$(VENV)/bin/mypy

.PHONY: fmt
fmt: install ## apply ruff fixes and formatting (never run by CI)
	@$(VENV)/bin/ruff check --fix .
	@$(VENV)/bin/ruff format .

# --- Gateway: the checked-in OpenAPI document and the audit trail ------------
.PHONY: openapi openapi-check audit-verify
openapi: install ## rewrite services/gateway/openapi.json and docs/api-routes.md from the code
	@$(PY) -m guildhall_gateway.cli openapi write
	@$(PY) -m guildhall_gateway.cli routes write

openapi-check: install ## fail when services/gateway/openapi.json or docs/api-routes.md drifts from the code
	@$(PY) -m guildhall_gateway.cli openapi check
	@$(PY) -m guildhall_gateway.cli routes check

audit-verify: install ## check every hash chain of the gateway's audit trail (CHAIN=pinhole:<id> for one)
	@$(PY) -m guildhall_gateway.cli audit-verify $(if $(CHAIN),--chain "$(CHAIN)")

# --- Tests ------------------------------------------------------------------
PYTEST_ARGS ?=

.PHONY: test test-unit test-integration
test: install protos-check lint deploy-check web-check chromium infra-up ## everything CI runs: lint, manifests, web build and tests, unit and integration tests (browser tests included)
	@echo "==> pytest (unit + integration against real Kafka and FerretDB)"
	@$(PY) -m pytest $(PYTEST_ARGS)

test-unit: install protos ## unit tests only: no I/O, no infra
	@$(PY) -m pytest -m "not integration" $(PYTEST_ARGS)

test-integration: install protos infra-up ## integration tests only
	@$(PY) -m pytest -m integration $(PYTEST_ARGS)

# --- Running the platform ---------------------------------------------------
.PHONY: run stop status
run: install protos infra-up web ## infra + every service with demo data; prints where they listen
	@GUILDHALL_STATIC_DIR=$(WEB_DIST) $(PY) -m guildhall_kit.devstack up
	@$(PY) web/devsignin.py $(WEB_DIST)/dev-signin.json

stop: ## stop the services started by make run (infra keeps running)
	@test -x $(PY) && $(PY) -m guildhall_kit.devstack down || true

status: infra-status ## alias of infra-status

.PHONY: token
token: install ## mint a local-only dev JWT: make token SUB=alice ORG=home KIND=employee
	@$(PY) -m guildhall_kit.auth.devtoken --sub "$(or $(SUB),alice)" --org "$(or $(ORG),home)" --kind "$(or $(KIND),employee)"

# --- Benchmarks -------------------------------------------------------------
# vegeta drives the platform benchmark's open-loop load; built once from the Go
# module registry into .local/bin, like kustomize.
VEGETA_VERSION := v12.13.0
VEGETA         := $(LOCAL)/bin/vegeta-$(VEGETA_VERSION)

$(VEGETA):
	@command -v go >/dev/null || { echo "Go is required to build vegeta; see README.md" >&2; exit 1; }
	@echo "==> vegeta $(VEGETA_VERSION) (go install, into .local/bin)"
	@mkdir -p $(LOCAL)/bin/.vegeta
	@GOBIN=$(LOCAL)/bin/.vegeta go install github.com/tsenart/vegeta/v12@$(VEGETA_VERSION)
	@mv $(LOCAL)/bin/.vegeta/vegeta $@

.PHONY: bench bench-quick bench-services
bench: install protos infra-up $(VEGETA) ## the platform under the mix through the gateway: seed, ceilings, rate steps (docs/performance.md)
	@GUILDHALL_VEGETA=$(VEGETA) $(PY) -m bench.mix --scale $(or $(SCALE),default) $(BENCH_ARGS)

bench-quick: install protos infra-up $(VEGETA) ## the 60-second version of `make bench` that CI runs (reports, never judges)
	@GUILDHALL_VEGETA=$(VEGETA) $(PY) -m bench.mix --scale quick

bench-services: install protos infra-up ## each service's own benchmarks in bench/ (one RPC at a time, at scale)
	@$(PY) -m bench

.PHONY: clean
clean: ## remove caches (keeps .local toolchain and data)
	@rm -rf .pytest_cache .mypy_cache .ruff_cache
	@find . -name __pycache__ -type d -prune -not -path './.venv/*' -exec rm -rf {} +
