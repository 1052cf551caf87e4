# Bitácora: `make help` lists the targets.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install compile run test lint typecheck unit bench bench-smoke soak stack-up stack-down clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	scripts/system-deps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ## create .venv and install Bitácora with its dev tools

compile: install ## rebuild the mypyc-compiled normalizer when its sources changed (bitacora/compiled.py)
	@$(BIN)/python -m bitacora.compiled --orphans | while read -r ext; do \
		echo "deleting $$ext (its module is no longer compiled)"; rm -f -- "$$ext"; \
	done
	@if [ -z "$$BITACORA_PURE_PYTHON" ] && ! $(BIN)/python -m bitacora.compiled --stale >/dev/null; then \
		echo "compiling the normalizer (its sources changed since the last build)"; \
		$(BIN)/pip install --quiet -c constraints.txt --no-deps -e .; \
	fi

run: compile ## the main job: local stack, setup, pipeline, demo traffic, live status
	$(BIN)/bitacora stack up
	$(BIN)/bitacora setup
	$(BIN)/bitacora run --demo

lint: install ## ruff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install ## mypy --strict
	$(BIN)/mypy

unit: compile ## unit tests only (no services)
	$(BIN)/pytest tests/unit -q

test: compile lint typecheck ## everything CI runs: ruff, mypy --strict, the whole suite on the real stack
	scripts/system-deps --tests
	$(BIN)/bitacora stack up
	$(BIN)/pytest -q -m "not slow" -p no:cacheprovider

bench: compile ## benchmarks (medians of 3 interleaved runs vs same-run baselines); rewrites README's speed table, docs/capacity.md's figures and docs/elastalert2.md's paging latencies
	$(BIN)/bitacora stack up
	sh scripts/elastalert2-venv
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.markdown --readme
	$(BIN)/python -m bench.capacity_doc --doc
	$(BIN)/python -m bench.ea2_doc --doc

bench-smoke: compile ## a small benchmark run, as in CI
	$(BIN)/python -m bench.run --smoke

soak: compile ## the long reliability scenarios; records results in docs/reliability.md
	$(BIN)/bitacora stack up
	BITACORA_RELIABILITY_REPORT=1 $(BIN)/pytest -q -m slow tests/reliability

stack-up: install ## start the local Kafka and OpenSearch
	$(BIN)/bitacora stack up

stack-down: install ## stop them
	$(BIN)/bitacora stack down

clean: ## remove the virtualenv, caches and compiled modules (not the stack downloads)
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis build ./*__mypyc.*.so
	find bitacora/ processors/ -name '*.so' -delete
