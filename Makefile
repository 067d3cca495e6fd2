# The two commands a new machine needs: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: run test test-fast mutate bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# A stamp per extra, rebuilt when pyproject.toml changes.
$(VENV)/.installed-%: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[$*]'
	touch $@

run: $(VENV)/.installed-embedded
	$(BIN)/storeflow dev

# One test process per core (at most 4), a whole test file per process at a time.
PARALLEL = -n auto --maxprocesses 4 --dist loadfile

test: $(VENV)/.installed-test
	$(BIN)/pytest $(PARALLEL) $(PYTEST_ARGS)

# Daily work: the same real services, without the slow fault and fuzz tests.
test-fast: $(VENV)/.installed-test
	$(BIN)/pytest -m "not slow" $(PARALLEL) $(PYTEST_ARGS)

# Mutation testing of the critical modules (tens of minutes; not in CI): tests/MUTATION.md.
mutate: $(VENV)/.installed-mutation
	$(BIN)/python -m tests.mutation

bench: $(VENV)/.installed-test
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .storeflow mutants
