# Two entry points for a fresh machine: `make run` and `make test` (see README).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test install install-dev lint bench migrate console-vendor

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -U pip
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -U pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed

# The console's browser libraries (ECharts) from npm, exactly as console/package-lock.json pins
# them; served by our own server from /console/static/vendor/ (never a CDN).
console/node_modules/.package-lock.json: console/package.json console/package-lock.json
	cd console && npm ci --omit=dev --no-audit --no-fund

console-vendor: console/node_modules/.package-lock.json

install-dev: $(VENV)/.installed-dev

migrate: install
	SIDEKICK_SANDBOX=1 $(PY) -m bot db upgrade

# The product on its embedded defaults: SQLite under ./data (migrated at start), in-process
# cache, sandbox WeCom.
run: install console-vendor
	SIDEKICK_SANDBOX=1 $(PY) -m bot

# Debian packages, dev dependencies, a throwaway redis-server on loopback, then pytest.
test:
	bash tests/run.sh

lint: install-dev
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(VENV)/bin/lint-imports

bench: install-dev
	$(PY) bench/callback.py
	$(PY) bench/matcher.py
	$(PY) bench/welcome.py
	$(PY) bench/sidebar_page.py
