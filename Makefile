# The README's two commands: `make book` builds the website, `make test` runs every test.
# Both first install everything into a fresh virtual environment (.venv) when requirements change.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: book test clean

$(VENV)/.installed: requirements.txt pyproject.toml
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -e .
	touch $@

# Executes the chapters on CPU (quick presets; paper-scale figures from data/runs) into _build/html.
book: $(VENV)/.installed
	$(BIN)/jupyter-book build --warningiserror --keep-going .

# Unit tests, every chapter notebook executed, and the built site checked in headless Chromium.
test: book
	$(BIN)/python -m pytest

clean:
	rm -rf _build
