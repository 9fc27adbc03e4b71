# spinledger: `make run` serves on http://127.0.0.1:8000, `make test` runs the lint and the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The exact version and hashes of every package make install puts in the venv (pip itself included): made by make lock.
LOCK := requirements.lock
# What the venv is installed from; a change to any of them installs again.
INSTALLED_FROM := pyproject.toml $(LOCK) clients/python/pyproject.toml
STAMP := $(VENV)/.installed-$(shell cat $(INSTALLED_FROM) | cksum | cut -d' ' -f1)
# The packages that make lint checks.
LINTED := domain projections reconciliation

.PHONY: install lock lint format run test chaos bench clean client

install: $(STAMP)

# The lock's packages, checked against its hashes; then this project and the Python client (clients/python), editable,
# without dependencies (the lock has them) and built with the lock's setuptools.
$(STAMP): $(INSTALLED_FROM)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e . -e clients/python
	rm -f $(VENV)/.installed-*
	touch $@

# requirements.lock made again from the ranges in pyproject.toml (the test extra included) and in the client's: every
# package at the newest version that fits. `make lock LOCK_FLAGS=` keeps the pins that still fit and only adds or
# drops what the ranges changed; `make lock LOCK_FLAGS='--upgrade-package ruff'` moves one package.
# pip-compile resolves for the Python it runs on, so it runs on the oldest the lock must install on: Debian's
# python3.11 (3.11.2) where there is one, older than the 3.11 that python3 may name (a package whose newer releases
# need a later 3.11 is held back), in a venv of its own with the lock's pip-tools.
LOCK_FLAGS ?= --upgrade
LOCK_PYTHON ?= $(firstword $(wildcard /usr/bin/python3.11) $(PYTHON))
LOCK_VENV := $(VENV)/lock
lock:
	test -x $(LOCK_VENV)/bin/python || $(LOCK_PYTHON) -m venv $(LOCK_VENV)
	v=$$(sed -n 's/^pip-tools==\([^ ]*\).*/\1/p' $(LOCK) 2>/dev/null); $(LOCK_VENV)/bin/python -m pip install --quiet "pip-tools$${v:+==$$v}"
	$(LOCK_VENV)/bin/pip-compile --quiet $(LOCK_FLAGS) --extra test --all-build-deps --allow-unsafe --strip-extras --generate-hashes \
		--no-emit-index-url --no-emit-find-links --output-file $(LOCK) pyproject.toml clients/python/pyproject.toml

# ruff's rules and format, and mypy (strict, less the overrides listed in pyproject.toml), on the core packages.
lint: install
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/mypy $(LINTED)

# What lint asks for, done: the format, and ruff's safe fixes (the rest it reports).
format: install
	$(BIN)/ruff format $(LINTED)
	$(BIN)/ruff check --fix $(LINTED)

run: install
	$(BIN)/spinledger run

# The console's browser tests drive Debian's chromium (Playwright's own download cannot work on a closed network).
CHROMIUM := /usr/bin/chromium

test: install lint $(CHROMIUM)
	$(BIN)/python -m pytest -m "not chaos" tests

$(CHROMIUM):
	apt-get install -y -q chromium || (apt-get update -q && apt-get install -y -q chromium)

# The TypeScript client (clients/typescript): its types regenerated from the app's OpenAPI document, then checked.
client: install
	PYTHON=$(BIN)/python bash clients/typescript/generate.sh
	cd clients/typescript && npm run --silent typecheck

chaos: install
	$(BIN)/python -m pytest -m chaos tests

bench: install
	command -v wrk >/dev/null || (apt-get update -q && apt-get install -y -q wrk)
	$(BIN)/python -m tests.bench

clean:
	rm -rf $(VENV) var .pytest_cache
