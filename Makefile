# KarmaFeed: the verbs a newcomer types.
#   make run     install what is missing, migrate, seed once, build the app, serve on :8000
#   make test    lint, type-check and run every test (backend, frontend unit, browser)
# Both install what they need; see README.md.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8000
ROOT := $(abspath .)
VENV := $(ROOT)/backend/.venv
PY := $(VENV)/bin/python
MANAGE := cd $(ROOT)/backend && $(PY) manage.py
# uvicorn with the sans-I/O websocket protocol: measured the cheapest per frame (README).
# No per-message deflate: compression would cost a deflate per socket per frame, and without
# it the hub frames each broadcast once for every socket.
UVICORN_FLAGS := --app-dir $(ROOT)/backend --ws websockets-sansio --loop uvloop --http httptools \
	--lifespan on --ws-max-size 1048576 --ws-per-message-deflate false --no-access-log \
	--proxy-headers --forwarded-allow-ips 127.0.0.1

.PHONY: help run serve test backend-install frontend-install frontend-build services chromium \
	lint test-backend test-frontend test-e2e clean

help:
	@echo "make run    serve the app at http://$(HOST):$(PORT) (installs, migrates, seeds, builds)"
	@echo "make test   every check and test (needs PostgreSQL and Redis; starts them if down)"

# --- installs (each only when its inputs changed) ---------------------------------------
$(VENV)/.installed: backend/requirements.txt backend/requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -r backend/requirements-dev.txt
	touch $@

backend-install: $(VENV)/.installed

# Not `npm ci`: the lock cannot list tailwind's native packages for other platforms (the
# registry here has none), and ci refuses such a lock; install --no-save follows the lock
# without rewriting it.
frontend/node_modules/.installed: frontend/package.json frontend/package-lock.json
	cd frontend && npm install --no-save --no-audit --no-fund --loglevel=error
	touch $@

frontend-install: frontend/node_modules/.installed

frontend-build: frontend-install
	cd frontend && npm run build

# PostgreSQL and Redis run on every machine of this project; start them if they are down.
services:
	@command -v redis-server >/dev/null || (apt-get update -qq && apt-get install -y -qq redis-server)
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || \
		redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no
	@for i in $$(seq 1 50); do pg_isready -q -h 127.0.0.1 -p 5432 && redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && exit 0; sleep 0.2; done; \
		echo "PostgreSQL or Redis did not come up" >&2; exit 1

# The local stack puts Debian's nginx in front of the workers.
.PHONY: nginx
nginx:
	@command -v nginx >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null)

# Browser tests drive Debian's Chromium (a test tool's own browser download fails here).
chromium:
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

# --- serving ----------------------------------------------------------------------------
run: backend-install frontend-build
	mkdir -p var
	$(MANAGE) migrate --noinput
	$(MANAGE) seed
	$(MAKE) --no-print-directory serve-only

# Migrate and serve what is built (the browser tests start the server this way).
serve: backend-install
	mkdir -p var
	$(MANAGE) migrate --noinput
	$(MAKE) --no-print-directory serve-only

.PHONY: serve-only
serve-only:
	$(MANAGE) collectstatic --noinput -v0
	@echo "KarmaFeed on http://$(HOST):$(PORT)  (database: $${DATABASE_URL:-embedded SQLite}; events: $${REDIS_URL:-in-memory})"
	exec $(VENV)/bin/uvicorn config.asgi:application $(UVICORN_FLAGS) --host $(HOST) --port $(PORT)

# --- tests ------------------------------------------------------------------------------
test: lint test-backend test-frontend test-e2e

lint: backend-install frontend-install
	cd backend && $(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .
	cd backend && $(VENV)/bin/mypy .
	cd frontend && npm run lint && npm run typecheck

# The whole suite on PostgreSQL and Redis, then again on the embedded default (SQLite and
# the in-memory layer) for every test that does not need the real services.
test-backend: backend-install services nginx frontend-build
	cd backend && $(VENV)/bin/pytest
	cd backend && DATABASE_URL= REDIS_URL= $(VENV)/bin/pytest -m "not needs_services"

test-frontend: frontend-install
	cd frontend && npm test

test-e2e: backend-install frontend-build services chromium
	cd frontend && npm run e2e

clean:
	rm -rf var frontend/dist

# The local stack (make stack) and the load bench (make bench) keep their recipes apart.
include $(wildcard mk/*.mk)
