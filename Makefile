# Two entry points for a fresh machine: `make pipeline` and `make test`. Both create or refresh .venv.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
STAMP := $(VENV)/.installed-stamp
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
# Prefect and DVC must not phone home.
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1

.PHONY: setup pipeline test lint

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip
	$(VENV)/bin/python -m pip install -q -e '.[dev,cpu]'
	touch $(STAMP)

setup: $(STAMP)

pipeline: setup
	dvc repro
	dvc plots show --out dvc_plots -q
	tokshift sql "SELECT tokenizer, lang, round(tokens_per_word, 3) AS tokens_per_word FROM fertility ORDER BY lang, tokenizer"

test: setup
	pytest -q

lint: setup
	ruff check src stages flows tests bench
