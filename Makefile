# Two jobs for a newcomer: `make quickstart` and `make test`. Each sets up .venv on
# first use (Python 3.11 + pip are all it needs) and reinstalls only when
# pyproject.toml changes.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: quickstart test test-slow setup

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -e '.[dev]'
	touch $(STAMP)

quickstart: $(STAMP)
	$(BIN)/antispoof list

test: $(STAMP)
	$(BIN)/python -m pytest

test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow
