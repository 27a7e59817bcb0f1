# One entry point for people and CI. `make test` and `make demo` work on a fresh clone:
# they create the virtualenv, install the package (compiling the C core), and start the services.

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST := $(BIN)/pytest -p no:cacheprovider

.PHONY: all install services-up services-down lint typecheck test test-unit test-quick \
        test-integration fuzz demo bench soak clean

all: install

# Reinstall whenever the package metadata or the C core changes (the editable install compiles it).
$(STAMP): pyproject.toml setup.py native/build.py $(wildcard native/*.c native/*.h)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

install: $(STAMP)

services-up:
	scripts/services up

services-down:
	scripts/services down

lint: install
	$(BIN)/ruff check . scripts/services
	$(BIN)/ruff format --check . scripts/services

typecheck: install
	$(BIN)/mypy --strict bridge
	$(BIN)/mypy --strict --ignore-missing-imports tests $(wildcard bench/*.py scripts/*.py)
	# A script without a .py suffix is its own __main__: check it on its own.
	$(BIN)/mypy --strict --ignore-missing-imports scripts/services

test-unit: install
	$(PYTEST) tests/unit

# The unit tests with the heavy differential runs at about a tenth of their volume
# (tests/volume.py): the same assertions in under a minute. make test runs them whole.
test-quick: install
	BRIDGE_TEST_VOLUME=0.1 $(PYTEST) -q tests/unit

test-integration: install services-up
	$(PYTEST) tests/integration

# kill -9 of bridge replay at random instants, then a rerun, 100 times: exactly once every time.
soak: install services-up
	BRIDGE_SOAK_TRIALS=100 $(PYTEST) -x tests/integration/test_replay_crash.py

fuzz: install
	scripts/fuzz --seconds 60

# The README's test command: lint, types, every test (unit and integration) and a short fuzz run.
test: lint typecheck test-unit test-integration fuzz

demo: install services-up
	$(BIN)/python scripts/demo.py

bench: install services-up
	$(BIN)/python bench/decode_bench.py
	$(BIN)/python bench/validate_bench.py
	$(BIN)/python bench/mapping_bench.py
	eval "$$(scripts/services env)" && $(BIN)/python bench/replay_bench.py

clean:
	rm -rf $(VENV) build *.egg-info bridge/_bridge_native*.so bridge/_bridge_native.c
