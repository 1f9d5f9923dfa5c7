# Two commands do everything on a fresh machine:
#   make demo   — set up, write the example film, render its scene offline, print the outputs
#   make test   — set up with the dev extras and run the whole suite (the docs' strict build included)
# and, while writing code, make test-fast: the unit and integration tests measured short (docs/testing.md).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
FILM   ?= example-film

.PHONY: demo test test-fast timings typecheck docs setup dev clean chromium

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# A stamp per extras set: re-install only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@ $(VENV)/.installed

setup: $(VENV)/.installed
dev: $(VENV)/.installed-dev

demo: setup
	@test -f $(FILM)/film.yaml || $(BIN)/slate init --example $(FILM)
	$(BIN)/slate check $(FILM)
	$(BIN)/slate run $(FILM)

# The browser test (tests/e2e/test_browser.py) drives Debian's chromium, headless; install it when missing.
chromium:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

# Four workers (pytest-xdist) on two cores: much of the suite waits on servers, schedulers,
# heartbeat windows and subprocesses, and the workers that are not waiting keep both cores busy
# (measured: 24 min with four, 25 with three, on one machine and commit; docs/testing.md). Each
# group of tests that shares a started studio, stack or crash server (xdist_group) runs on one
# worker, so it starts once. Work is handed out in the order tests/conftest.py sorts it
# (--no-loadscope-reorder): the long groups first. JOBS=3 to run on three.
PYTEST := $(BIN)/python -m pytest -q -p no:cacheprovider --dist loadgroup --no-loadscope-reorder
JOBS   ?= 4
# The type checker runs beside the tests, not before them: it is one process on one core, and
# the minute it takes first left the other core idle. Its report is printed at the end; either
# failing fails the target.
test: dev chromium
	@$(BIN)/mypy > $(VENV)/typecheck.log 2>&1 & types=$$!; \
	$(PYTEST) -n $(JOBS) --durations=15 tests; tests=$$?; \
	wait $$types; typed=$$?; echo "make typecheck (run beside the tests):"; cat $(VENV)/typecheck.log; \
	test $$tests -eq 0 && test $$typed -eq 0

# The loop while writing code: the unit and integration tests measured short (--fast: not those on
# tests/slow_tests.txt, nor those that start a Prefect server; tests/fast_loop.py); no whole runs,
# no kill matrices, no studio, no browser. `make test` runs every one of them.
test-fast: dev
	$(PYTEST) -n 3 --fast --durations=5 tests/unit tests/integration

# Measure every unit and integration test and write tests/slow_tests.txt, the tests the fast loop
# leaves to `make test`; run after adding tests the fast loop names as too slow.
timings: dev
	$(PYTEST) -n 3 --write-slow-list tests/unit tests/integration

# The type checker over all of slate ([tool.mypy] in pyproject.toml: strict on the core).
typecheck: dev
	$(BIN)/mypy

# The documentation site (docs/, mkdocs.yml) on http://127.0.0.1:8000, rebuilt as pages change.
docs: dev
	$(BIN)/mkdocs serve

clean:
	rm -rf $(VENV) $(FILM)
