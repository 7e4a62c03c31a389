# Two entry points for a fresh machine:  `make demo`  and  `make test`.  CI also runs `make lint`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup demo test lint bench clean

setup: $(VENV)/.installed

# torch is installed first and pinned exactly: an unpinned torch pulls a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[test,bench,serve,pretrained,report,ray]'
	touch $@

demo: setup
	$(BIN)/python -m malmoi.demo

test: setup
	$(BIN)/python -m pytest -q

# Static checks, apart from the tests (which do not depend on them); settings in pyproject.toml.
lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src/malmoi

bench: setup
	$(BIN)/python bench/kochat_demo.py

clean:
	rm -rf $(VENV) models build .pytest_cache .mypy_cache .ruff_cache
