# Local infrastructure: Apache Kafka (KRaft, one node), FerretDB (SQLite), Redis
# (Debian's redis-server, the services' cache) and Keycloak (the local OpenID
# Connect provider), built or installed once and run on 127.0.0.1 without Docker. The logic lives in deploy/local/infra.py; these
# targets only choose the Python to run it. Versions and first-run times:
# docs/adr/0002-local-infra-versions.md, docs/adr/0014-gateway-authentication.md.
#
# Overrides: GUILDHALL_KAFKA_PORT (19092), GUILDHALL_KAFKA_CONTROLLER_PORT
# (19093), GUILDHALL_FERRETDB_PORT (27027), GUILDHALL_REDIS_PORT (16379),
# GUILDHALL_KEYCLOAK_PORT (18080),
# GUILDHALL_KEYCLOAK_MANAGEMENT_PORT (18081), GUILDHALL_INFRA_KEYCLOAK (1; 0
# leaves Keycloak out), GUILDHALL_INFRA_TIMEOUT (120 s).

INFRA := deploy/local/infra.py

# The probes need aiokafka and pymongo from the venv. Only when they are
# missing is the full `install` run, so infra works while packages are
# being written and `infra-up` stays fast.
.PHONY: infra-venv
infra-venv:
	@$(PY) -c 'import aiokafka, pymongo' 2>/dev/null || $(MAKE) install

# Stopping needs nothing but the standard library; do not build a venv for it.
INFRA_STDLIB_PY = $(if $(wildcard $(PY)),$(PY),$(PYTHON3))

.PHONY: redis
redis: ## install Debian's redis-server when missing (the local cache)
	@command -v redis-server >/dev/null || { \
		echo "==> redis-server from Debian (the local cache)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }

.PHONY: infra-build infra-up infra-down infra-status infra-reset infra-env infra-verify
infra-build: ## fetch Kafka jars, build FerretDB and Keycloak into .local/ (once per pin)
	@$(INFRA_STDLIB_PY) $(INFRA) build

infra-up: infra-venv redis ## build if needed, start Kafka, FerretDB, Redis and Keycloak, wait until they answer
	@$(PY) $(INFRA) up

infra-down: ## stop Kafka, FerretDB, Redis and Keycloak (SIGTERM, then SIGKILL after a timeout)
	@$(INFRA_STDLIB_PY) $(INFRA) down

# The services' report comes from the kit's devstack when it exists; a missing
# or failing devstack never hides the infra report, and the exit code stays
# that of the infra check.
infra-status: infra-venv ## report Kafka, FerretDB, Redis, Keycloak (and services); fails if infra is down
	@rc=0; $(PY) $(INFRA) status || rc=$$?; \
	if $(PY) -c 'import guildhall_kit.devstack' 2>/dev/null; then \
		$(PY) -m guildhall_kit.devstack status || true; \
	fi; \
	exit $$rc

infra-reset: ## stop Kafka, FerretDB, Redis and Keycloak and delete .local/data
	@$(INFRA_STDLIB_PY) $(INFRA) reset

infra-env: ## print the GUILDHALL_* exports for the local infra (eval "$$(make -s infra-env)")
	@$(INFRA_STDLIB_PY) $(INFRA) env

infra-verify: infra-up ## round-trip check of the pinned aiokafka against the running broker
	@$(PY) deploy/local/verify_kafka.py

# --- deployment manifests ----------------------------------------------------
# kustomize renders the overlays; built once from the Go module registry into .local/bin.
KUSTOMIZE_VERSION := v5.7.1
KUSTOMIZE         := $(LOCAL)/bin/kustomize-$(KUSTOMIZE_VERSION)

$(KUSTOMIZE):
	@command -v go >/dev/null || { echo "Go is required to build kustomize; see README.md" >&2; exit 1; }
	@echo "==> kustomize $(KUSTOMIZE_VERSION) (go install, into .local/bin)"
	@mkdir -p $(LOCAL)/bin/.kustomize
	@GOBIN=$(LOCAL)/bin/.kustomize go install sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION)
	@mv $(LOCAL)/bin/.kustomize/kustomize $@

.PHONY: deploy-check
deploy-check: infra-venv $(KUSTOMIZE) ## validate docker-compose.yml; render deploy/k8s overlays and check them against the Kubernetes schema
	@$(PY) deploy/check_compose.py
	@GUILDHALL_KUSTOMIZE=$(KUSTOMIZE) $(PY) deploy/check_manifests.py
