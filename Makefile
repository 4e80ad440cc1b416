# crossborder: `make up` runs the platform, `make test` runs every test.
# Both install what they need, idempotently: a pinned .venv and a pinned Anvil from npm.
SHELL := /bin/bash
ROOT := $(CURDIR)
VENV := $(ROOT)/.venv
ANVIL_BIN := $(ROOT)/node_modules/@foundry-rs/anvil-linux-amd64/bin
# The venv's bin must come first: ape-vyper uses the pip-installed vyper only from PATH,
# and ape-foundry finds `anvil` only on PATH (the real binary, not the node wrapper).
export PATH := $(VENV)/bin:$(ANVIL_BIN):$(ROOT)/node_modules/.bin:$(PATH)
export APE_DATA_FOLDER := $(ROOT)/.ape
export PYTHONDONTWRITEBYTECODE := 1

PY_STAMP := $(VENV)/.installed
NODE_STAMP := $(ROOT)/node_modules/.installed
BUILD := $(ROOT)/.build/__local__.json
CONTRACTS := $(shell find contracts -name '*.vy' -o -name '*.vyi')

.PHONY: up test deps compile lint browser unit integration stateful bench clean

up: deps compile
	crossborder up

test: deps compile lint browser
	pytest -q tests

# Debian's chromium and Noto CJK fonts for the console's end-to-end tests (idempotent).
browser:
	bash scripts/chromium.sh > /dev/null

deps: $(PY_STAMP) $(NODE_STAMP)

$(PY_STAMP): pyproject.toml constraints.txt
	test -x $(VENV)/bin/python || python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	test -x $(ANVIL_BIN)/anvil
	touch $@

compile: $(BUILD)

# The entry contracts' ABIs and bytecode ship inside the package (src/crossborder/artifacts).
$(BUILD): $(CONTRACTS) ape-config.yaml $(PY_STAMP)
	ape compile --force
	test -f $(BUILD)
	python scripts/ship_abis.py

lint: $(PY_STAMP)
	ruff check src tests benchmarks scripts
	ruff format --check src tests benchmarks scripts
	mypy

unit: deps compile
	pytest -q tests/unit

integration: deps compile
	pytest -q tests/integration

# The guard's stateful property at length (`make test` runs it at a small budget): 10,000 steps,
# or `make stateful STATEFUL_STEPS=n`; prints the steps, examples and seconds it took.
STATEFUL_STEPS ?= 10000
stateful: deps compile
	CROSSBORDER_STATEFUL_STEPS=$(STATEFUL_STEPS) pytest -q --timeout=0 \
		tests/unit/contracts/test_guard_stateful.py -k random_operations

bench: deps compile
	python benchmarks/gas.py
	python benchmarks/screening.py
	python benchmarks/throughput.py
	python benchmarks/payments.py

clean:
	rm -rf .build .ape .devnet
