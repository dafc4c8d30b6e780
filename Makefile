PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Installs come from lock files with hashes (ADR 0030): `make run` installs the service's
# libraries only, `make test` the dev tools and the client too. `make lock` makes them again
# from pyproject.toml (newest releases within its ranges); test/test_lock_files.py checks
# that they agree with pyproject.toml and that the venv holds what they pin.
RUN_LOCK := requirements/run.lock
DEV_LOCK := requirements/dev.lock
RUN_STAMP := $(VENV)/.installed-run
STAMP := $(VENV)/.installed
LOCK_TOOLS := .venv-lock
PIP_TOOLS := pip-tools==7.6.2
COMPILE = $(LOCK_TOOLS)/bin/pip-compile --quiet --generate-hashes --strip-extras \
	--allow-unsafe --no-emit-index-url --no-emit-find-links

.PHONY: run test lint typecheck layers pytest bench soak lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(RUN_STAMP): $(RUN_LOCK) pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r $(RUN_LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

$(STAMP): $(DEV_LOCK) pyproject.toml client/pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r $(DEV_LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e . -e ./client
	touch $@ $(RUN_STAMP)

run: $(RUN_STAMP)
	$(BIN)/python -m api

test: lint typecheck layers pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

layers: $(STAMP)
	$(BIN)/lint-imports

pytest: $(STAMP)
	$(BIN)/pytest

# Benchmarks against nginx, Jupyter Server, Starlette and FastAPI (docs/performance.md).
# BENCH_ARGS: --quick (small sizes, one run), --no-sweep, --only S1,S2, --profile S1.
bench: $(STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

# Mixed traffic against `python -m api` with kills and SIGTERMs, checking that no
# acknowledged write is lost (ADR 0034). Not part of `make test`. SOAK_ARGS: --minutes 30
# --connections 48 --kill-every 300 --term-during-uploads; `--help` lists the rest.
soak: $(STAMP)
	$(BIN)/python -m bench.soak $(SOAK_ARGS)

lock:
	$(PYTHON) -m venv $(LOCK_TOOLS)
	$(LOCK_TOOLS)/bin/python -m pip install --quiet $(PIP_TOOLS)
	$(COMPILE) --output-file $(RUN_LOCK) pyproject.toml
	$(COMPILE) --extra dev --output-file $(DEV_LOCK) pyproject.toml client/pyproject.toml

clean:
	rm -rf $(VENV) $(LOCK_TOOLS) .pytest_cache .mypy_cache .ruff_cache
