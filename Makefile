# Two commands for a new user: `make run` and `make test`. Everything else is set-up they share.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test install index lint browser services js clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# Idempotent: builds the index when missing or stale, embeds nothing when the corpus is unchanged.
index: install
	$(BIN)/assistant ingest --quiet

run: index
	$(BIN)/assistant serve

# The browser test needs Debian's Chromium; install it when possible, never fail the build over it.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) >/dev/null 2>&1 \
	  || echo "note: Chromium could not be installed; the browser test will be skipped with its reason."; }

# Tests start their own redis-server (shared rate limits) and PostgreSQL (conversation store) on
# loopback; both come from Debian's packages.
services:
	@command -v redis-server >/dev/null 2>&1 && ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || { \
	  (apt-get install -y -qq redis-server postgresql >/dev/null 2>&1 || \
	   (apt-get update -qq && apt-get install -y -qq redis-server postgresql >/dev/null)) >/dev/null 2>&1 \
	  || echo "note: redis-server or postgresql could not be installed; the tests that need them will fail and say so."; }

# The AI SDK (npm package `ai`) that tests/web/test_ai_sdk.py drives, pinned by tests/js/package-lock.json.
JS_STAMP := tests/js/node_modules/.package-lock.json
$(JS_STAMP): tests/js/package-lock.json
	npm ci --prefix tests/js --no-audit --no-fund --loglevel=error

js: $(JS_STAMP)

test: index browser services js
	$(BIN)/ruff check assistant tests examples
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check assistant tests examples

clean:
	rm -rf $(VENV) data .pytest_cache .ruff_cache tests/js/node_modules
