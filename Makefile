# Cercle — the two commands: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint imports types pytest pytest-postgres test-postgres bench messages clean

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

test: lint imports types pytest pytest-postgres

# The API tests and the scale test once more on PostgreSQL, when it answers (on a machine
# without it they are skipped with a message; `make test-postgres` runs the whole suite there).
PG_URL ?= postgres://postgres@127.0.0.1:5432/cercle
pytest-postgres: $(STAMP)
	@if $(BIN)/python -c "import psycopg; psycopg.connect('$(PG_URL)', dbname='postgres', connect_timeout=3).close()" 2>/dev/null; then \
	  echo "the API tests and the scale test on PostgreSQL ($(PG_URL))"; \
	  DATABASE_URL=$(PG_URL) $(BIN)/pytest -q -n 2 --dist loadgroup tests/api tests/scale; \
	else \
	  echo "PostgreSQL not reachable at $(PG_URL): the API and scale tests on PostgreSQL skipped"; \
	fi

# The suite again on PostgreSQL (CI runs it where PostgreSQL is reachable).
test-postgres: $(STAMP)
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/cercle} $(BIN)/pytest -q -n 2 --dist loadgroup

# Every benchmark (quick sizes), then a table of their machine-readable lines.
# BENCH_DB=postgres runs the ingest and serving benchmarks on PostgreSQL (DATABASE_URL or the local one).
BENCH_DB ?= sqlite
BENCH_LOG := var/bench.log
bench: $(STAMP)
	@mkdir -p var && : > $(BENCH_LOG)
	@echo "### ingest" >> $(BENCH_LOG); $(BIN)/python bench/ingest.py --quick --db $(BENCH_DB) 2>&1 | tee -a $(BENCH_LOG)
	@echo "### classify" >> $(BENCH_LOG); $(BIN)/python bench/classify.py 2>&1 | tee -a $(BENCH_LOG)
	@echo "### insights" >> $(BENCH_LOG); $(BIN)/python bench/insights.py --quick 2>&1 | tee -a $(BENCH_LOG)
	@echo "### inbox" >> $(BENCH_LOG); $(BIN)/python bench/inbox.py --quick 2>&1 | tee -a $(BENCH_LOG)
	@echo "### search" >> $(BENCH_LOG); $(BIN)/python bench/search.py --quick 2>&1 | tee -a $(BENCH_LOG)
	@echo "### hooks" >> $(BENCH_LOG); $(BIN)/python bench/hooks.py --quick --db $(BENCH_DB) 2>&1 | tee -a $(BENCH_LOG)
	@echo "### live" >> $(BENCH_LOG); $(BIN)/python bench/live.py --quick --db $(BENCH_DB) 2>&1 | tee -a $(BENCH_LOG)
	@echo "### memory" >> $(BENCH_LOG); $(BIN)/python bench/memory.py --quick --db $(BENCH_DB) 2>&1 | tee -a $(BENCH_LOG)
	@$(BIN)/python bench/table.py $(BENCH_LOG)

messages: $(STAMP)
	cd cercle && export CERCLE_DATA_DIR=$${CERCLE_DATA_DIR:-$(CURDIR)/var} && ../$(BIN)/cercle manage makemessages -l fr --ignore '*/migrations/*' --ignore 'static/*' --no-obsolete --add-location file && ../$(BIN)/cercle manage compilemessages -l fr

clean:
	rm -rf $(VENV) var
