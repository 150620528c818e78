# Contracts: protos/ (buf module), buf lint + breaking, generated stubs in
# libs/protos/src. Included by the root Makefile (ROOT, LOCAL, PY, SHELL).
# See docs/adr/0003-contracts.md.
#
#   make protos        regenerate libs/protos/src from protos/ (commit the result)
#   make protos-check  fail, listing the files, when libs/protos/src is stale
#   make lint-protos   buf format check, buf lint (STANDARD), buf breaking (FILE)
#   make protos-fmt    rewrite protos/ in buf's canonical format

# buf comes from the npm package @bufbuild/buf, pinned in package-lock.json.
# Install scripts are skipped: the package's bin/buf resolves the platform
# binary from its optional dependency without them.
BUF            := $(ROOT)/node_modules/.bin/buf
BUF_STAMP      := $(ROOT)/node_modules/.guildhall-installed
PROTOS_SCRIPTS := $(ROOT)/scripts/protos

$(BUF_STAMP): $(ROOT)/package.json $(ROOT)/package-lock.json
	@command -v npm >/dev/null || { echo "npm (Node.js) is required for buf; see README.md" >&2; exit 1; }
	@echo "==> buf from npm (node_modules/)"
	@cd $(ROOT) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $@

.PHONY: buf protodeps protos protos-check lint-protos protos-fmt
buf: $(BUF_STAMP) ## install the pinned buf CLI into node_modules/

# Idempotent and quick when the pinned file is already in place (a hash check).
protodeps: ## fetch third-party .proto imports (protovalidate) into .local/protodeps
	@$(PROTOS_SCRIPTS)/fetch-deps.sh

# `install` rather than the venv stamp itself: this file is included before
# the root Makefile defines VENV_STAMP, and prerequisites expand on reading.
protos: install protodeps ## regenerate the typed Python stubs in libs/protos/src from protos/
	@$(PY) $(PROTOS_SCRIPTS)/generate.py write

protos-check: install protodeps ## fail when the committed stubs differ from what protos/ generates
	@$(PY) $(PROTOS_SCRIPTS)/generate.py check

lint-protos: $(BUF_STAMP) protodeps ## buf format check, buf lint (STANDARD) and buf breaking (FILE)
	@echo "==> buf format"
	@cd $(ROOT) && $(BUF) format --diff --exit-code protos || { echo "protos are not in buf format: run make protos-fmt" >&2; exit 1; }
	@echo "==> buf lint"
	@cd $(ROOT) && $(BUF) lint
	@$(PROTOS_SCRIPTS)/breaking.sh

protos-fmt: $(BUF_STAMP) ## rewrite protos/ in buf's canonical format
	@cd $(ROOT) && $(BUF) format --write protos
