# Cercle — the two commands: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint imports types pytest test-postgres bench messages clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/cercle demo

lint: $(STAMP)
	$(BIN)/ruff check cercle tests bench
	$(BIN)/ruff format --check cercle tests bench

types: $(STAMP)
	$(BIN)/mypy cercle

# The layers of DESIGN.md §3 import one way (contract in pyproject.toml).
imports: $(STAMP)
	$(BIN)/lint-imports --no-cache

pytest: $(STAMP)
	$(BIN)/pytest -q -n 2 --dist loadgroup

test: lint imports types pytest

# The suite again on PostgreSQL (CI runs it where PostgreSQL is reachable).
test-postgres: $(STAMP)
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/cercle} $(BIN)/pytest -q -n 2 --dist loadgroup

bench: $(STAMP)
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/classify.py
	$(BIN)/python bench/insights.py --quick
	$(BIN)/python bench/inbox.py --quick
	$(BIN)/python bench/search.py --quick

messages: $(STAMP)
	cd cercle && export CERCLE_DATA_DIR=$${CERCLE_DATA_DIR:-$(CURDIR)/var} && ../$(BIN)/cercle manage makemessages -l fr --ignore '*/migrations/*' --ignore 'static/*' --no-obsolete --add-location file && ../$(BIN)/cercle manage compilemessages -l fr

clean:
	rm -rf $(VENV) var
