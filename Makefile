# Every target installs what it needs: a fresh clone runs `make demo` or `make test` alone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
UV := $(BIN)/uv
TEST_DEPS :=

# Real targets, PostgreSQL, Meltano and singer-check-tap (issue 8); they add to TEST_DEPS.
-include make/ecosystem.mk
# make bench (issue 7).
-include make/bench.mk

.PHONY: install demo test check lint clean

# pytest-xdist workers for `make test`: one more than the cores, as the tests wait on
# taps, targets and retries (on 2 cores, 3 workers took 165 s where 2 took 189 s). A
# module's tests stay on one worker (--dist loadscope): they share its fakes and runs.
TEST_WORKERS ?= $(shell expr $$(nproc 2>/dev/null || echo 1) + 1)

# uv installs in seconds what pip resolves in minutes (s3fs pins botocore, moto wants
# boto3: pip backtracks for over two minutes); it is a build tool only, not a dependency
# of the tap. --compile-bytecode, as pip does: where PYTHONDONTWRITEBYTECODE is set (it is
# on these machines), every tap launch would otherwise compile its imports again (0.55
# CPU s of start-up against 0.36, measured).
$(STAMP): setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q uv
	$(UV) pip install -q --compile-bytecode --python $(BIN)/python -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python scripts/demo.py

# The installs are independent of each other: made in parallel. tests/README.md says
# what each folder proves.
test:
	$(MAKE) -j4 $(STAMP) $(TEST_DEPS)
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadscope tests

# The quick loop: lint, the unit tests and the suite's rules, in parallel (tests/fake
# too when the fake changes: `pytest -n auto tests/fake`).
check: lint
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadscope tests/unit tests/test_suite_rules.py

lint: $(STAMP)
	$(BIN)/ruff check tap_pendo tests bench scripts
	$(BIN)/ruff format --check tap_pendo tests bench scripts

clean:
	rm -rf $(VENV) .venvs .demo .bench
