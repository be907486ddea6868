# KarmaFeed: the verbs a newcomer types.
#   make run     install what is missing, migrate, seed once, build the app, serve on :8000
#   make test    lint, type-check and run every test (backend, frontend unit, browser)
#   make help    every target, with what it does
# Both install what they need; see README.md.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
ROOT := $(abspath .)
VENV := $(ROOT)/backend/.venv
PY := $(VENV)/bin/python
# The values make itself uses may come from .env too, read by the app's own reader
# (backend/config/env_file.py); the environment and the command line win over the file.
ifneq ($(wildcard $(or $(KARMAFEED_ENV_FILE),$(ROOT)/.env)),)
$(foreach setting,$(shell $(PY) $(ROOT)/backend/config/env_file.py HOST PORT DATABASE_URL REDIS_URL 'STACK_*' \
	2>/dev/null),$(eval $(setting)))
endif
HOST ?= 127.0.0.1
PORT ?= 8000
MANAGE := cd $(ROOT)/backend && $(PY) manage.py

.PHONY: help run serve test backend-install frontend-install frontend-build services chromium \
	lint test-backend test-loadtest test-frontend test-e2e screenshots clean

help: ## list every target (this list)
	@awk -F ':.*## ' '/^[a-z][a-z0-9-]*:.*## / {printf "  make %-20s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# --- installs (each only when its inputs changed) ---------------------------------------
$(VENV)/.installed: backend/requirements.txt backend/requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -r backend/requirements-dev.txt
	touch $@

backend-install: $(VENV)/.installed ## the Python virtual environment (backend/.venv), when its requirements changed

# Not `npm ci`: the lock does not list tailwind's native packages for every platform, and ci
# refuses such a lock; install --no-save follows the lock without rewriting it.
frontend/node_modules/.installed: frontend/package.json frontend/package-lock.json
	cd frontend && npm install --no-save --no-audit --no-fund --loglevel=error
	touch $@

frontend-install: frontend/node_modules/.installed ## the frontend's node_modules, when package.json or the lock changed

frontend-build: frontend-install ## build the browser app into frontend/dist
	cd frontend && npm run build

# The tests use a local PostgreSQL 15 and Redis; start them if they are installed but down.
services: ## start the local PostgreSQL and Redis if they are down (installs redis-server and redis-sentinel if missing)
	@command -v redis-server >/dev/null || (apt-get update -qq && apt-get install -y -qq redis-server)
	@command -v redis-sentinel >/dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-sentinel >/dev/null)
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || \
		redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no
	@for i in $$(seq 1 50); do pg_isready -q -h 127.0.0.1 -p 5432 && redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && exit 0; sleep 0.2; done; \
		echo "PostgreSQL or Redis did not come up" >&2; exit 1

# The local stack puts Debian's nginx in front of the workers.
.PHONY: nginx
nginx: ## install Debian's nginx if missing (make stack and its tests put it in front of the workers)
	@command -v nginx >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null)

# Browser tests drive Debian's Chromium, so no test tool downloads a browser of its own.
chromium: ## install Debian's Chromium if missing (the browser tests drive it)
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

# --- serving ----------------------------------------------------------------------------
run: backend-install frontend-build ## install, migrate, seed demo data once, build the app, serve it (HOST, PORT: 127.0.0.1:8000)
	mkdir -p var
	$(MANAGE) migrate --noinput
	$(MANAGE) seed
	$(MAKE) --no-print-directory serve-only

# Migrate and serve what is built (the browser tests start the server this way).
serve: backend-install ## migrate and serve what is built (no seeding, no frontend build)
	mkdir -p var
	$(MANAGE) migrate --noinput
	$(MAKE) --no-print-directory serve-only

.PHONY: serve-only
serve-only: ## serve as it is: collect static files and start uvicorn
	$(MANAGE) collectstatic --noinput -v0
	@echo "KarmaFeed on http://$(HOST):$(PORT)  (database: $(or $(DATABASE_URL),embedded SQLite); events: $(or $(REDIS_URL),in-memory))"
	@# One uvicorn process; its options live in backend/config/serving.py, shared with make stack.
	cd $(ROOT)/backend && exec $(PY) -m config.serving --host $(HOST) --port $(PORT)

# --- tests ------------------------------------------------------------------------------
test: lint test-backend test-loadtest test-frontend test-e2e ## every check and test; leaves the git tree as it found it

# Every Python folder, under the one configuration in backend/pyproject.toml.
PYTHON_DIRS := . ../loadtest ../deploy

lint: backend-install frontend-install ## ruff, mypy and vulture (dead code) on every Python folder; eslint, knip (unused code) and tsc
	cd backend && $(VENV)/bin/ruff check $(PYTHON_DIRS) && $(VENV)/bin/ruff format --check $(PYTHON_DIRS)
	cd backend && $(VENV)/bin/mypy $(PYTHON_DIRS)
	cd backend && $(VENV)/bin/vulture
	@# The repository stands alone: its protocol is docs/protocol.md, nothing outside it.
	@! git grep -n -I -e 'CONTRACT\.md' -e '\.\./shared/' -- . ':!Makefile' || \
		{ echo "refer to docs/protocol.md, not to a file outside the repository" >&2; exit 1; }
	cd frontend && npm run lint && npm run typecheck

# The whole suite on PostgreSQL and Redis, then again on the embedded default (SQLite and
# the in-memory layer) for every test that does not need the real services.
test-backend: backend-install services nginx frontend-build ## the backend suite on PostgreSQL and Redis, then on the embedded default
	cd backend && $(VENV)/bin/pytest
	cd backend && DATABASE_URL= REDIS_URL= $(VENV)/bin/pytest -m "not needs_services"

# The load bench's own logic, without a server: its Python packages come with bench-install.
test-loadtest: bench-install ## the load bench's unit tests (percentiles, folding a socket's frames, the report)
	cd $(ROOT) && $(PY) -m pytest -q -p no:django -p no:cacheprovider loadtest/tests

test-frontend: frontend-install ## the frontend unit tests (Vitest)
	cd frontend && npm test

test-e2e: backend-install frontend-build services chromium ## the browser tests in Chromium (pictures go to frontend/e2e/artifacts/)
	cd frontend && npm run e2e

# The README's pictures change only on purpose: the browser test that takes them also
# copies them into docs/screenshots/ when README_SCREENSHOTS_DIR names it.
screenshots: backend-install frontend-build services chromium ## refresh the README's screenshots in docs/screenshots/
	cd frontend && README_SCREENSHOTS_DIR=$(ROOT)/docs/screenshots npm run e2e -- -t 'writes screenshots'

clean: ## remove what run and build wrote (var/, frontend/dist)
	rm -rf var frontend/dist

# The local stack (make stack) and the load bench (make bench) keep their recipes apart.
include $(wildcard mk/*.mk)
