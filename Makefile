# Personalize: `make run` (demo on http://127.0.0.1:8000) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

CHROMIUM_PATH ?= /usr/bin/chromium

.PHONY: install run test lint format bench migrate seed builder clean chromium messages

$(BIN)/activate: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	touch $(BIN)/activate

install: $(BIN)/activate

migrate: install
	DEBUG=$${DEBUG:-true} $(PY) manage.py migrate --noinput

seed: migrate
	DEBUG=$${DEBUG:-true} $(PY) manage.py seed_demo

run: seed
	@echo "Serving http://$(HOST):$(PORT)/admin/ (login printed above)"
	DEBUG=$${DEBUG:-true} $(PY) manage.py runserver $(HOST):$(PORT)

test: install chromium
	CHROMIUM_PATH=$(CHROMIUM_PATH) $(BIN)/pytest $(PYTEST_ARGS)

# The browser tests drive Debian's chromium (never a downloaded browser): install it as
# root, otherwise stop at once with the command to run.
chromium:
	@[ -x "$(CHROMIUM_PATH)" ] || { \
	  if [ "$$(id -u)" != 0 ]; then \
	    echo "The browser tests need $(CHROMIUM_PATH); run: sudo apt-get install -y chromium" >&2; exit 1; \
	  fi; \
	  echo "Installing Debian's chromium for the browser tests"; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 \
	    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }; \
	  [ -x "$(CHROMIUM_PATH)" ] || { echo "chromium was installed but $(CHROMIUM_PATH) is missing: set CHROMIUM_PATH" >&2; exit 1; }; \
	}

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	DEBUG=false SECRET_KEY=$${SECRET_KEY:-bench-only-secret} $(PY) benchmarks/run.py

# Rebuild the committed segment-builder bundle (needs Node; CI does not).
builder:
	cd frontend && npm ci && npm run build

# Re-extract the admin's strings into locale/fr/LC_MESSAGES/django.po and compile the
# committed django.mo (needs GNU gettext: apt-get install gettext). Tests never need it.
# The builder's strings live in frontend/src/locale/fr.json (then `make builder`).
I18N_IGNORE := -i .venv -i node_modules -i frontend -i static -i staticfiles -i tests -i benchmarks -i deploy -i docs
messages: install
	DEBUG=$${DEBUG:-true} $(PY) manage.py makemessages -l fr --no-location --no-obsolete $(I18N_IGNORE)
	DEBUG=$${DEBUG:-true} $(PY) manage.py compilemessages -l fr $(I18N_IGNORE)

clean:
	rm -rf $(VENV) var db.sqlite3 staticfiles
