# Every target creates the virtualenv itself: nothing on this machine is assumed but python3.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test unit integration lint demo bench bench-core bench-signals bench-broker bench-load bench-ingest schemas clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# promtool (Debian's prometheus package) checks deploy/prometheus.yml and the alert rules for
# real. Installed when missing and we are root (CI, this dev box); otherwise those tests skip
# and say how to install it.
PROMTOOL := $(VENV)/.promtool
$(PROMTOOL): $(STAMP)
	@command -v promtool >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	   --no-install-recommends prometheus >/dev/null) || \
	  echo "promtool not available: its checks will be skipped"; }
	@touch $@

# Postgres (Debian's postgresql package) is the real server behind the loader's tests and
# bench; installed the same way, and those tests skip naming the package when it is missing.
POSTGRES := $(VENV)/.postgres
$(POSTGRES): $(STAMP)
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	   --no-install-recommends postgresql >/dev/null) || \
	  echo "postgresql not available: the Postgres loader tests will be skipped"; }
	@touch $@

# chromium (Debian's package) runs the browser tracker's test (playwright drives it through
# executable_path, nothing downloaded). Installed like promtool; the test skips without it.
CHROMIUM := $(VENV)/.chromium
$(CHROMIUM): $(STAMP)
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	   --no-install-recommends chromium >/dev/null) || \
	  echo "chromium not available: the browser tracker test will be skipped"; }
	@touch $@

install: $(STAMP)

test: $(STAMP) $(PROMTOOL) $(POSTGRES) $(CHROMIUM)
	$(BIN)/python -m pytest -q

unit: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit

integration: $(STAMP) $(POSTGRES) $(CHROMIUM)
	$(BIN)/python -m pytest -q tests/integration

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

schemas: $(STAMP)
	$(BIN)/python -m eventyard.schemas

demo: $(STAMP)
	$(BIN)/eventyard demo

bench: $(STAMP)
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.report --write
	$(BIN)/python -m bench.ingest

# The ingest edge against a bare aiohttp + aiokafka floor, alone (about 2 minutes).
bench-ingest: $(STAMP)
	$(BIN)/python -m bench.ingest

bench-core: $(STAMP)
	$(BIN)/python -m bench.core

bench-signals: $(STAMP)
	$(BIN)/python -m bench.signals

bench-broker: $(STAMP)
	$(BIN)/python -m bench.broker_drift

bench-load: $(STAMP) $(POSTGRES)
	$(BIN)/python -m bench.load

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
