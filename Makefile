# The two commands a newcomer needs: `make run` and `make test`. See README.md.
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
PYTHON := $(UV) run --frozen python
PORT ?= 8000
CHROMIUM ?= /usr/bin/chromium
# Extra pytest options; CI passes --create-db so a test database left on the machine never counts.
PYTEST_ARGS ?=

.PHONY: run test install services migrate demo browser lint format pytest test-clocks bench check-deploy loadtest fuzz

## Installs, starts services, migrates, loads the demo, serves web + Celery worker + beat.
run: install services migrate demo
	@mkdir -p var
	@echo ""
	@echo "RDV Solidarités démarre sur http://localhost:$(PORT)"
	@echo "  (identifiants de démonstration ci-dessus ; Ctrl-C pour arrêter)"
	@echo ""
	DEBUG=$${DEBUG:-true} $(UV) run --frozen honcho start -f Procfile -p $(PORT)

## Installs what tests need, then lint and the whole suite.
test: install services browser lint pytest

## --compile-bytecode, as the Dockerfile: where PYTHONDONTWRITEBYTECODE is set (this machine, CI),
## every process would otherwise compile each library it imports, every time (Django's set-up 2.5 s
## instead of 1.1; the web process's first booking 0.4 s more, while it holds the agents' lock).
install:
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --frozen --compile-bytecode

services:
	@python3 bin/services

migrate:
	$(PYTHON) manage.py migrate --no-input

demo:
	$(PYTHON) manage.py demo

## Debian's Chromium for the browser tests; Playwright never downloads a browser.
browser:
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installation de Chromium (paquet Debian chromium)…"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "Chromium manque : installez le paquet « chromium » (sudo apt-get install -y chromium)." >&2; exit 1; \
	  fi; \
	fi

lint:
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen ruff check .
	$(PYTHON) manage.py makemigrations --check --dry-run
	$(UV) run --frozen mypy

format:
	$(UV) run --frozen ruff format .
	$(UV) run --frozen ruff check --fix .

## In parallel, one worker per core, each with its own test database (pytest-xdist); worksteal: the
## long browser walks (accessibility, keyboard) do not leave the other core idle at the end.
pytest:
	$(UV) run --frozen pytest -n auto --dist worksteal $(PYTEST_ARGS)

## The suite (without the browser) at the instants that break clock-dependent tests: after midnight,
## before midnight, DST Sundays, a public holiday, the end of a week and a year. See bin/test-clocks.
test-clocks: install services
	UV="$(UV)" python3 bin/test-clocks -- $(PYTEST_ARGS)

## Hostile input on every form and filter (tests/fuzz), with many more examples than the suite's
## derandomized few, new ones on each run; FUZZ_EXAMPLES per page and method (150 by default).
fuzz: install services
	FUZZ_PROFILE=long $(UV) run --frozen pytest tests/fuzz -n auto $(PYTEST_ARGS)

## Benchmarks: each bench_<subject> command seeds its own throw-away data and prints one JSON object.
bench: install services
	@for command in $$($(PYTHON) manage.py help --commands | grep '^bench_'); do \
	  echo "== $$command"; $(PYTHON) manage.py $$command || exit 1; \
	done

## Load test: gunicorn with the production settings, a Celery worker and beat, 20 people for 60 s on
## 127.0.0.1, its own throw-away database and Redis; prints one JSON object (bench/loadtest.py).
## `make loadtest ARGS=--faults` also stops Redis and restarts PostgreSQL: only on a machine of your own.
loadtest: install services
	$(PYTHON) bench/loadtest.py $(ARGS)

## `check --deploy` with production-like settings.
check-deploy: install
	DEBUG=false SECRET_KEY=$$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))') \
	  ALLOWED_HOSTS=rdv.example.fr $(PYTHON) manage.py check --deploy --fail-level WARNING
