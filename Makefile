# spinledger: `make run` serves on http://127.0.0.1:8000, `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: install run test chaos bench clean client

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $@

run: install
	$(BIN)/spinledger run

# The console's browser tests drive Debian's chromium (Playwright's own download cannot work on a closed network).
CHROMIUM := /usr/bin/chromium

test: install $(CHROMIUM)
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
