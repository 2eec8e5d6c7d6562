# The README's two commands: `make book` builds the website, `make test` runs every test.
# Both first install everything into a fresh virtual environment (.venv) when requirements change.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

# Colab's runtime for the Colab-like test (tests/colab-requirements.txt): its Python is 3.13.
COLAB_VENV ?= .venv-colab
COLAB_PYTHON ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13) python3.13)

# The Chinese edition (README: Translations): Sphinx's gettext catalogs in locales/zh_CN/LC_MESSAGES, built
# with sphinx-build from the conf.py that Jupyter Book writes (git-ignored; _ext on PYTHONPATH, which
# `jupyter-book config sphinx` drops). Every output folder is a sibling under _build/, so all builds share
# one execution cache (_ext/book_site.py) and the translated build executes nothing.
LANGUAGES := zh_CN
SPHINX := PYTHONPATH=_ext$${PYTHONPATH:+:$$PYTHONPATH} $(BIN)/sphinx-build -q -W --keep-going

.PHONY: book test unit clean translations

$(VENV)/.installed: requirements.txt pyproject.toml
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -e .
	touch $@

# Executes the chapters on CPU (quick presets; paper-scale figures from data/runs) into _build/html, then
# builds the Chinese edition from the same execution into _build/html/zh (built beside it in
# _build/html-zh_CN, so that it shares the cache, then copied in). The English text is extracted too
# (_build/gettext), so that the tests see a paragraph whose catalog entry is missing.
book: $(VENV)/.installed
	$(BIN)/jupyter-book build --warningiserror --keep-going .
	$(BIN)/jupyter-book config sphinx . >/dev/null
	$(SPHINX) -b gettext -d _build/doctrees-gettext . _build/gettext
	$(SPHINX) -b html -D language=zh_CN -d _build/doctrees-zh_CN . _build/html-zh_CN
	rm -rf _build/html/zh
	cp -r _build/html-zh_CN _build/html/zh

# After editing a page: its English text extracted (_build/gettext/*.pot, from the cached execution) and
# merged into every catalog: new entries empty, changed ones marked fuzzy (with their old translation).
# Translate those, then `make unit` (tests/test_i18n.py) says what is still missing.
translations: $(VENV)/.installed
	$(BIN)/jupyter-book config sphinx . >/dev/null
	$(SPHINX) -b gettext -d _build/doctrees-gettext . _build/gettext
	$(BIN)/sphinx-intl update -p _build/gettext -d locales $(addprefix -l ,$(LANGUAGES))

$(COLAB_VENV)/.installed: tests/colab-requirements.txt
	@$(COLAB_PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 13)' || \
	  { echo "Python 3.13 (Colab's) is needed for the Colab-like test: set COLAB_PYTHON=/path/to/python3.13"; exit 1; }
	rm -rf $(COLAB_VENV)
	$(COLAB_PYTHON) -m venv $(COLAB_VENV)
	$(COLAB_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(COLAB_VENV)/bin/python -m pip install --quiet -r tests/colab-requirements.txt
	touch $@

# The full gate (CI runs it): unit tests, every chapter notebook executed (here and as in Colab), and the
# built site checked in headless Chromium. The slowest tests are listed at the end.
test: book $(COLAB_VENV)/.installed
	$(BIN)/python -m pytest --durations=15

# The quick loop: every test that needs neither the built book, nor Colab's environment, nor a browser
# (pytest markers in pyproject.toml). No book build.
unit: $(VENV)/.installed
	$(BIN)/python -m pytest -m "not book and not colab and not browser"

clean:
	rm -rf _build
