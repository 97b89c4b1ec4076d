# Every target installs what it needs: a fresh clone runs `make demo` or `make test` alone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-unit test-fake lint bench clean

$(STAMP): setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q tests

lint: $(STAMP)
	$(BIN)/ruff check tap_pendo tests bench
	$(BIN)/ruff format --check tap_pendo tests bench

clean:
	rm -rf $(VENV) .venvs .demo .bench .pg

# Real targets, PostgreSQL, Meltano and singer-check-tap (issue 8).
-include make/ecosystem.mk
# make bench (issue 7).
-include make/bench.mk
