# The web client (web/): a React + TypeScript app built by Vite into web/dist,
# which the gateway serves at / (GUILDHALL_STATIC_DIR). Included by the root
# Makefile (ROOT, LOCAL, PY, SHELL). See docs/adr/0017-web-client.md.
#
#   make web          npm ci, API types from services/gateway/openapi.json, type check, build, budget
#   make web-check    the same plus the unit/component tests (vitest); run by make test
#   make web-dev      Vite dev server with hot reload, proxying the API to make run's gateway
#   make chromium     Debian's chromium + chromium-driver for the browser tests, when missing

WEB        := $(ROOT)/web
WEB_STAMP  := $(WEB)/node_modules/.guildhall-installed
WEB_DIST   := $(WEB)/dist

$(WEB_STAMP): $(WEB)/package.json $(WEB)/package-lock.json
	@command -v npm >/dev/null || { echo "npm (Node.js 20+) is required for the web client; see README.md" >&2; exit 1; }
	@echo "==> web client dependencies (web/node_modules)"
	@cd $(WEB) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

.PHONY: web web-check web-dev chromium
web: $(WEB_STAMP) ## build the web client into web/dist (API types, type check, bundle, JS budget)
	@echo "==> web client build"
	@cd $(WEB) && npm run --silent build

web-check: $(WEB_STAMP) ## the web client's build plus its unit and component tests (vitest)
	@echo "==> web client: API types, type check, build, budget"
	@cd $(WEB) && npm run --silent build
	@echo "==> web client: vitest"
	@cd $(WEB) && npx vitest run --reporter=dot

web-dev: $(WEB_STAMP) ## Vite dev server on 127.0.0.1:5173, API proxied to the gateway of make run
	@cd $(WEB) && npx vite

# The browser tests drive Debian's Chromium (never a browser downloaded by a
# tool: the closed network refuses those). CI starts from a clean machine.
chromium: ## install Debian's chromium and chromium-driver when missing (browser tests)
	@command -v chromium >/dev/null || { \
		echo "==> chromium from Debian (browser tests)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; }
