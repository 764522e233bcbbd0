# sesame-link developer commands. `make run` and `make test` do all the set-up they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LIVE ?=

FUNCTION ?= LinkFunction
EVENT ?= events/link-good.json

.PHONY: run test invoke lint format clean

$(STAMP): requirements-dev.txt functions/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

run: $(STAMP) ## the HTTP door on http://127.0.0.1:3000 with local backends (LIVE=1: real AWS + Sesame)
	$(BIN)/python -m local.run $(if $(LIVE),--live)

invoke: $(STAMP) ## run FUNCTION on EVENT in-process, as `sam local invoke` would (LIVE=1: real AWS + Sesame)
	@$(BIN)/python -m local.invoke --function $(FUNCTION) --event $(EVENT) $(if $(LIVE),--live)

test: $(STAMP) ## unit + integration tests (real HTTP on loopback)
	$(BIN)/python -m pytest

lint: $(STAMP) ## ruff (lint + format) and strict mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .aws-sam
