# sesame-link developer commands. `make run` and `make test` do all the set-up they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LIVE ?=
STATE ?=
TOKEN ?=
TENANT ?= demo-tenant
NAME ?= Demo Customer

FUNCTION ?= LinkFunction
EVENT ?= events/link-good.json

.PHONY: mutation run test chromium invoke sweep sesame-token connect-link openapi build bench lint format clean

# Template tools pin conflicting boto3 versions: each gets a virtual environment of its own.
.venv-%/.installed: tools/%.txt
	$(PYTHON) -m venv .venv-$*
	.venv-$*/bin/pip install --quiet --upgrade pip
	.venv-$*/bin/pip install --quiet -r tools/$*.txt
	touch $@

$(STAMP): requirements-dev.txt functions/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

run: $(STAMP) ## the HTTP API and connect page on http://127.0.0.1:3000, local backends (LIVE=1 AWS_PROFILE=.. STACK=..: a deployed stack)
	$(BIN)/python -m local.stack.run $(if $(LIVE),--live)

invoke: $(STAMP) ## run FUNCTION on EVENT in-process, as `sam local invoke` would (the running make run's stack if any; LIVE=1: a deployed stack + real Sesame)
	@$(BIN)/python -m local.tools.invoke --function $(FUNCTION) --event $(EVENT) $(if $(LIVE),--live)

sweep: $(STAMP) ## one health check against `make run`: the sweep, then the check queue drained
	@$(BIN)/python -m local.tools.sweep_once

sesame-token: $(STAMP) ## in `make run`'s Sesame simulator, STATE=revoked|forbidden|active a token (TOKEN, default the eu1 demo)
	@$(BIN)/python -m local.tools.sesame_control "$(STATE)" "$(TOKEN)"

connect-link: $(STAMP) ## mint a connect session through `make run` (TENANT=.. NAME="..": SigV4, as a backend) and print its connect URL
	@$(BIN)/python -m local.tools.connect_link --tenant "$(TENANT)" --name "$(NAME)"

openapi: $(STAMP) ## regenerate openapi.json from the Powertools resolver (a test fails when it is stale)
	$(BIN)/python -m local.build.openapi

build: .venv-sam/.installed ## sam build (no Docker: makefile method, arm64 wheels) and the zipped size
	SAM_CLI_TELEMETRY=0 .venv-sam/bin/sam build --template template.yaml
	@$(PYTHON) -c "import shutil, os; z = shutil.make_archive('.aws-sam/LinkFunction', 'zip', '.aws-sam/build/LinkFunction'); print(f'LinkFunction package: {os.path.getsize(z) / 1e6:.2f} MB zipped ({z})')"

bench: $(STAMP) build ## performance against the floor on this machine (BENCH_ARGS=--smoke: quick, no verdicts)
	$(BIN)/python -m local.bench.bench $(BENCH_ARGS)

test: $(STAMP) .venv-sam/.installed chromium ## unit, template (SAM's transform, in .venv-sam) and integration tests (real HTTP on loopback; Chromium)
	$(BIN)/python -m pytest

chromium: ## Debian's Chromium for the browser test (no browser downloads on these machines)
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing Debian's chromium (apt-get, as root)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

LINT_TOOLS := .venv-cfn-lint/.installed .venv-sam/.installed .venv-checkov/.installed .venv-bandit/.installed \
	.venv-pip-audit/.installed

MUTANTS ?=
mutation: $(STAMP) ## mutmut on functions/ (slow, not in CI; MUTANTS="sesame_link.services.*" for one layer): score by layer, survivors
	$(BIN)/python -m local.build.mutation $(MUTANTS)

lint: $(STAMP) $(LINT_TOOLS) ## code, template, security and dependency checks
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	PYTHONPATH=functions:. $(BIN)/lint-imports
	.venv-cfn-lint/bin/cfn-lint --append-rules cfn_lint_serverless.rules -- template.yaml
	SAM_CLI_TELEMETRY=0 .venv-sam/bin/sam validate --lint --template template.yaml --region eu-west-1
	.venv-checkov/bin/checkov --quiet --compact --skip-download --framework cloudformation --file template.yaml
	.venv-bandit/bin/bandit --quiet --recursive functions --severity-level medium
	$(BIN)/python -m local.build.audit

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .aws-sam
