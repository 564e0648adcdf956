# Deskwright: `make run` to try it, `make test` to check it. Both install what they need.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
FLASK   := $(BIN)/flask --app wsgi
PORT    ?= 5000
VENDOR  := static/vendor/htmx.min.js static/vendor/Sortable.min.js

.PHONY: run test install install-dev vendor translations messages migrate seed worker lint clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Stamp files: re-install only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

# The few built files the pages load; served from static/, never from a CDN.
$(VENDOR): node_modules/.package-lock.json
	mkdir -p static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js node_modules/sortablejs/Sortable.min.js static/vendor/

vendor: $(VENDOR)

translations: $(VENV)/.installed
	$(BIN)/pybabel compile -d portal/translations -f 2>&1 | grep -v "^compiling" || true

migrate: install
	$(FLASK) db upgrade

run: install vendor translations migrate
	$(FLASK) seed-demo --if-empty
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

worker: install
	$(FLASK) worker

test: install-dev vendor translations
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) node_modules static/vendor

# Re-extract translatable strings and merge them into the catalogs (then translate the new ones).
messages: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k ngettext:1,2 -o portal/translations/messages.pot portal rule_builder blueprint_designer customer_portal
	$(BIN)/pybabel update -i portal/translations/messages.pot -d portal/translations --no-fuzzy-matching

# Rules benchmark (bench/rules, see bench/README.md): the micro benchmark, then end to end on
# PostgreSQL + Redis. json-logic-qubit and panzi-json-logic both install a top-level `json_logic`
# package, so each goes into a folder of its own that bench/rules/peers.py imports it from;
# business-rules comes with the `bench` extra. BENCH_RULES_ARGS / BENCH_E2E_ARGS pass options.
BENCH_DEPS := bench/rules/.deps

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[bench]'
	touch $@

$(BENCH_DEPS)/qubit/.installed: | $(BIN)/python
	$(BIN)/pip install -q --upgrade --target $(BENCH_DEPS)/qubit json-logic-qubit==0.9.1
	touch $@

$(BENCH_DEPS)/panzi/.installed: | $(BIN)/python
	$(BIN)/pip install -q --upgrade --target $(BENCH_DEPS)/panzi panzi-json-logic==1.0.1
	touch $@

.PHONY: bench-rules
bench-rules: $(VENV)/.installed-bench $(BENCH_DEPS)/qubit/.installed $(BENCH_DEPS)/panzi/.installed
	$(BIN)/python bench/rules/run.py $(BENCH_RULES_ARGS)
	$(BIN)/python bench/rules/e2e.py $(BENCH_E2E_ARGS)
