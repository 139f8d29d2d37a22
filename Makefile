# The two commands a new machine needs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench faults soak clean

# The demo needs only the runtime dependencies; the tests add pytest, Playwright,
# pyscard (built against libpcsclite) and friends.
$(VENV)/.runtime: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.test: $(VENV)/.runtime
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

demo: $(VENV)/.runtime
	$(BIN)/evote demo --output demo-output

lint: $(VENV)/.test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict crypto
	$(BIN)/mypy evote ballot_server terminal firmware_sim tally

# The whole suite, the bounded fault suite (tests/faults/) included, on two pytest-xdist
# workers: most tests wait on browsers, subprocesses, ptys and sockets, not on the CPU.
# --dist loadscope keeps each module on one worker, so a module-scoped fixture (the
# fault run, the demo election, a module's Chromium) is built once, as in a serial run.
# `pytest -p no:xdist tests` runs the same tests one at a time.
test: lint
	$(BIN)/pytest -q -n 2 --dist loadscope --durations=15 tests

# The fault suite alone (tests/faults/, docs/reliability.md): >= 300 ballots, >= 14 faults
# of every kind, real processes; bounded (about 2.5 minutes idle).
faults: $(VENV)/.test
	$(BIN)/pytest -q tests/faults

# The fault suite (tests/faults/) for SOAK_S seconds instead of its bounded run.
SOAK_S ?= 1800
soak: $(VENV)/.test
	EVOTE_SOAK_S=$(SOAK_S) $(BIN)/pytest -q tests/faults

bench: $(VENV)/.test
	$(BIN)/evote bench

clean:
	rm -rf $(VENV) demo-output test-artifacts .pytest_cache .mypy_cache .hypothesis
