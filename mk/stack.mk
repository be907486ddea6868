# The production topology on one host (docs/deploy.md): Debian's nginx on
# http://127.0.0.1:$(STACK_PORT) in front of $(STACK_WORKERS) socket workers (uvicorn),
# $(STACK_HTTP_WORKERS) HTTP workers (WSGI) and $(STACK_LIKE_WORKERS) like workers (uvicorn,
# likes and feed pages), three gunicorn masters, on the local PostgreSQL and Redis, run by honcho
# (deploy/Procfile) in the foreground until Ctrl-C.
#   make stack        build, migrate, start          make stack-stop   stop it from elsewhere

# The stack's own settings and their defaults live in deploy/stack.py, which reads them from
# the environment (an empty one counts as unset): make only passes on what the command line
# or .env gives. The database and Redis are make's to choose, as for make run.
STACK_DATABASE ?= karmafeed
STACK_REDIS_URL ?= redis://127.0.0.1:6379/0

.PHONY: stack stack-stop

stack stack-stop: export STACK_DIR := $(STACK_DIR)
stack: export STACK_PORT := $(STACK_PORT)
stack: export STACK_WORKERS := $(STACK_WORKERS)
stack: export STACK_HTTP_WORKERS := $(STACK_HTTP_WORKERS)
stack: export STACK_LIKE_WORKERS := $(STACK_LIKE_WORKERS)
stack: export STACK_WORKER_PORT := $(STACK_WORKER_PORT)
stack: export STACK_HTTP_PORT := $(STACK_HTTP_PORT)
stack: export STACK_LIKE_PORT := $(STACK_LIKE_PORT)
stack: export STACK_FRONTEND_ROOT := $(STACK_FRONTEND_ROOT)
stack: export DATABASE_URL := postgres://postgres@127.0.0.1:5432/$(STACK_DATABASE)
stack: export REDIS_URL := $(STACK_REDIS_URL)

stack: backend-install frontend-build services nginx ## nginx, STACK_WORKERS socket, STACK_HTTP_WORKERS HTTP and STACK_LIKE_WORKERS like workers, on http://127.0.0.1:STACK_PORT
	@psql -h 127.0.0.1 -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$(STACK_DATABASE)'" \
		| grep -q 1 || createdb -h 127.0.0.1 -U postgres $(STACK_DATABASE)
	$(MANAGE) migrate --noinput
	$(MANAGE) collectstatic --noinput -v0
	@# honcho ends with 130 on Ctrl-C and 143 on SIGTERM (make stack-stop): both a normal end.
	$(PY) $(ROOT)/deploy/stack.py start || [[ $$? =~ ^(130|143)$$ ]]

stack-stop: backend-install ## stop a running make stack from another shell
	$(PY) $(ROOT)/deploy/stack.py stop

