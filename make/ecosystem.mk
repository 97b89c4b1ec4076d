# Issue 8: the programs the ecosystem tests (tests/ecosystem) run downstream of the tap.
#
# Each Singer target and tool pins its own old singer-python / jsonschema, so each
# gets a virtualenv of its own under .venvs/NAME (never the tap's .venv). A stamp
# file .venvs/NAME/.installed makes every install happen once; `make clean` or
# deleting .venvs/NAME redoes it. Debian packages (a PostgreSQL server for the
# throwaway database, libfaketime for the tap's clock) are installed only when
# dpkg says they are missing.
#
#   make ecosystem-deps    everything below
#   make ecosystem-venvs   the four virtualenvs
#   make ecosystem-apt     the Debian packages
#   make test-ecosystem    just the ecosystem tests
#
# The Makefile's `test` target depends on $(TEST_DEPS). Nothing here changes the
# Makefile's default goal.

ECO_SAVED_GOAL := $(.DEFAULT_GOAL)
ECO_VENVS := .venvs
ECO_NAMES := target-jsonl target-postgres singer-tools meltano

# What goes into each virtualenv. The versions are the newest that install on Python 3.11.
# target-postgres is MeltanoLabs' (the Meltano Hub default, built on the Meltano SDK):
# unlike pipelinewise-target-postgres it keeps "" in key columns instead of loading NULL.
ECO_PKG_target-jsonl := target-jsonl==0.1.4
ECO_PKG_target-postgres := meltanolabs-target-postgres==0.8.1
ECO_PKG_singer-tools := singer-tools==0.4.1 singer-python==6.8.0
ECO_PKG_meltano := meltano==4.4.1

ECO_STAMPS := $(foreach n,$(ECO_NAMES),$(ECO_VENVS)/$(n)/.installed)
ECO_APT_PKGS := postgresql faketime

.PHONY: ecosystem-deps ecosystem-venvs ecosystem-apt test-ecosystem

ecosystem-deps: ecosystem-apt ecosystem-venvs

ecosystem-venvs: $(ECO_STAMPS)

# A stamp holds the packages it was made for: a stamp that lacks one of the
# pins above is removed here, so a changed pin reinstalls that virtualenv.
$(foreach n,$(ECO_NAMES),$(if $(filter-out $(file <$(ECO_VENVS)/$(n)/.installed),$(ECO_PKG_$(n))),$(shell rm -f $(ECO_VENVS)/$(n)/.installed)))

# uv (from the tap's .venv) makes each virtualenv, with bytecode compiled (see the
# Makefile); its output goes to .venvs/NAME.log, shown only when the install fails. Old
# targets import pkg_resources: setuptools<70.
$(ECO_VENVS)/%/.installed: $(STAMP)
	@echo "ecosystem: installing $(ECO_PKG_$*) into $(ECO_VENVS)/$*"
	@rm -rf $(ECO_VENVS)/$* && mkdir -p $(ECO_VENVS)
	@{ $(UV) venv -q --python $(PYTHON) $(ECO_VENVS)/$* && \
	   $(UV) pip install --compile-bytecode --python $(ECO_VENVS)/$*/bin/python 'setuptools<70' wheel $(ECO_PKG_$*); \
	 } >$(ECO_VENVS)/$*.log 2>&1 || { cat $(ECO_VENVS)/$*.log; exit 1; }
	@echo '$(ECO_PKG_$*)' >$@

ecosystem-apt:
	@missing=""; \
	for p in $(ECO_APT_PKGS); do \
	  dpkg -s $$p 2>/dev/null | grep -q '^Status: install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "ecosystem: apt-get install$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

test-ecosystem: $(STAMP) ecosystem-deps
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadscope tests/ecosystem

TEST_DEPS += ecosystem-deps

.DEFAULT_GOAL := $(ECO_SAVED_GOAL)
