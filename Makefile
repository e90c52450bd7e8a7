# The two commands of the README: `make demo` (the main job) and `make test` (the tests).
# Both create .venv and install the package with what it needs on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/claude-connector demo

lint: $(STAMP)
	$(BIN)/ruff check streams tests

# The suite mostly waits on brokers and processes: three pytest workers (each with its own
# broker) share the two cores; a test module stays on one worker.
TEST_WORKERS ?= 3

test: $(STAMP) lint
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile --durations=25

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
