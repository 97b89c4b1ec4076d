# Every target installs what it needs: a fresh clone runs `make demo` or `make test` alone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_DEPS :=

# Real targets, PostgreSQL, Meltano and singer-check-tap (issue 8); they add to TEST_DEPS.
-include make/ecosystem.mk
# make bench (issue 7).
-include make/bench.mk

.PHONY: install demo test lint clean

$(STAMP): setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python scripts/demo.py

test: $(STAMP) $(TEST_DEPS)
	$(BIN)/python -m pytest -q -p no:cacheprovider tests

lint: $(STAMP)
	$(BIN)/ruff check tap_pendo tests bench scripts
	$(BIN)/ruff format --check tap_pendo tests bench scripts

clean:
	rm -rf $(VENV) .venvs .demo .bench
