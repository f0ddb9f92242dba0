# VoiceMock — `make run [PORT=8080] [HOST=0.0.0.0]` serves the whole platform (embedded mode); `make test` runs the suite.
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 5000
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
STAMP_TEST := $(VENV)/.installed-test
STAMP_BENCH := $(VENV)/.installed-bench

.PHONY: run test test-slow bench install lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/pip install -q -e .
	touch $@

$(STAMP_TEST): $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/pip install -q -e '.[test,rabbitmq]'
	touch $@ $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/voicemock dev --host $(HOST) --port $(PORT)

test: $(STAMP_TEST)
	$(BIN)/python -m pytest

test-slow: $(STAMP_TEST)
	$(BIN)/python -m pytest -m slow

$(STAMP_BENCH): $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/pip install -q -e '.[test,rabbitmq,bench]'
	touch $@ $(STAMP_TEST) $(STAMP)

bench: $(STAMP_BENCH)
	$(BIN)/python bench/run_all.py --busy-core

clean:
	rm -rf $(VENV) var .pytest_cache
