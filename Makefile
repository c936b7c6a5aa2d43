# The two commands of the README are `make demo` and `make test`; everything else serves them.
# Each target installs what it needs itself: a fresh clone needs Python 3.11+, Java 17+ and Maven.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
NATIVE := $(VENV)/.native-stamp
NATIVE_SOURCES := $(wildcard native/src/*.rs) native/Cargo.toml native/Cargo.lock native/pyproject.toml
CARGO  := $(shell command -v cargo 2>/dev/null)

.PHONY: install test unit integration demo lint format bench broker-start broker-stop clean chromium

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed, found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,features,portal,postgres,ai]'
	@touch $(STAMP)

# The router's native core (native/, Rust): a release wheel by maturin, installed into the venv,
# rebuilt when its sources change. Without cargo the router runs on its Python engine.
$(NATIVE): $(STAMP) $(NATIVE_SOURCES)
ifdef CARGO
	rm -rf native/target/wheels
	$(BIN)/maturin build --release --quiet -m native/Cargo.toml -o native/target/wheels
	$(BIN)/python -m pip install --quiet --force-reinstall --no-deps native/target/wheels/hub_core-*.whl
	@touch $(NATIVE)
else
	@echo "cargo not found: hub_core not built, the router will use its Python engine"
endif

install: $(STAMP) $(NATIVE)

# The portal's browser tests drive Debian's Chromium (Playwright's own download is not reachable):
# installed here where it is missing and we run as root (as CI does); elsewhere they skip, saying so.
chromium:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi
	@if ! command -v promtool >/dev/null && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's prometheus (promtool) for the alert rule tests"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null \
		|| (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null); \
	fi

# The test session starts a Kafka broker of its own (fetching it once from Maven Central) unless
# one already answers on its port, and stops it again if it started it. Its own port, data and
# credentials (.hub/test/): what the tests publish never shows up in `make demo`.
TEST_BROKER ?= 127.0.0.1:19092
TEST_CREDENTIALS ?= .hub/test/credentials
TEST_ENV := HUB_BOOTSTRAP_SERVERS=$(TEST_BROKER) HUB_BROKER_DIR=.hub/test/kafka \
	HUB_CREDENTIALS_DIR=$(TEST_CREDENTIALS)
# Test files run on this many pytest-xdist workers, each with a broker of its own on the next
# ports (tests/conftest.py); a file's tests stay together, so its fixtures are made once.
TEST_WORKERS ?= 2
PYTEST := $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

test: install chromium
ifdef CARGO
	cargo test --quiet --manifest-path native/Cargo.toml
endif
	$(TEST_ENV) $(PYTEST)

unit: install
	$(TEST_ENV) $(PYTEST) tests/unit

integration: install chromium
	$(TEST_ENV) $(PYTEST) tests/integration

demo: install
	$(BIN)/hub demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
ifdef CARGO
	cargo fmt --manifest-path native/Cargo.toml --check
	cargo clippy --quiet --manifest-path native/Cargo.toml --all-targets --features python -- -D warnings
endif

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	@for b in bench/[!_]*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

broker-start: install
	$(BIN)/hub broker start

broker-stop: install
	$(BIN)/hub broker stop

clean:
	-$(BIN)/hub broker stop
	rm -rf $(VENV) .hub .pytest_cache .ruff_cache .hypothesis native/target
