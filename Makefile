# Every target creates the virtualenv itself: nothing on this machine is assumed but python3.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test unit integration lint demo bench bench-core schemas clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q

unit: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit

integration: $(STAMP)
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

bench-core: $(STAMP)
	$(BIN)/python -m bench.core

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
