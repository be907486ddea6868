# The load bench (docs/load-testing.md): `make bench` runs a quick default scenario;
# BENCH_ARGS passes options, e.g. make bench BENCH_ARGS="--scenario hot --sockets 10000".
.PHONY: bench bench-install

BENCH_ARGS ?= --scenario hot --sockets 1000 --duration 20

$(VENV)/.bench-installed: loadtest/requirements.txt $(VENV)/.installed
	$(PY) -m pip install -q --disable-pip-version-check -r loadtest/requirements.txt
	touch $@

bench-install: backend-install $(VENV)/.bench-installed ## the load bench's own Python packages

bench: bench-install services ## run the load bench (BENCH_ARGS: its options) and write a report with plots
	cd $(ROOT) && $(PY) -m loadtest $(BENCH_ARGS)
