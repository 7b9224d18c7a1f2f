# Developer and CI entry points. See docs/development.md.
#
#   make venv      .venv with the project (editable) and the dev tools
#   make run       run example_service
#   make servers   make sure Redis, PostgreSQL and ClickHouse answer (scripts/servers.sh)
#   make lint      ruff check + ruff format --check
#   make typing    mypy (strict, configured in pyproject.toml)
#   make unit      unit tests only
#   make test      venv + servers + lint + typing + the whole test suite (what CI runs)
#   make bench     every benchmarks/*.py (BENCH_ARGS are passed to each)
#   make migrate   alembic upgrade head on DATABASE_URL (default: the example's SQLite file)

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := test
.DELETE_ON_ERROR:
MAKEFLAGS += --no-builtin-rules

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Re-install into the venv when pyproject.toml is newer than this stamp.
STAMP := $(VENV)/.service-pkg-dev.stamp
# `pip install --group` needs pip >= 25.1; a fresh venv brings an older pip.
PIP_MIN := 25.1

# Paths that exist (git does not keep empty folders, so a fresh clone may lack some).
LINT_PATHS := $(wildcard src tests example_service benchmarks scripts)
BENCHMARKS := $(sort $(wildcard benchmarks/*.py))
PYTEST_ARGS ?=
BENCH_ARGS ?=

# Pass CI through to the tools only when it is set: pytest treats a CI variable that is merely
# present (even empty) as "running on CI".
ifdef CI
export CI
endif

.PHONY: venv run servers lint typing unit test bench migrate

venv: $(STAMP)

$(STAMP): pyproject.toml
	@if ! $(PY) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then \
		echo "venv: creating $(VENV) with $$($(PYTHON) --version)"; \
		rm -rf $(VENV); \
		$(PYTHON) -m venv $(VENV); \
	fi
	@if [[ ! -f README.md ]]; then \
		echo "venv: README.md is missing; pyproject.toml names it as the readme and hatchling" \
			"refuses to build without it" >&2; \
		exit 1; \
	fi
	$(PY) -m pip install --quiet --upgrade 'pip>=$(PIP_MIN)'
	$(PY) -m pip install --quiet --editable '.[all]' --group dev
	@touch $@

run: venv
	$(PY) -m example_service

servers:
	bash scripts/servers.sh

lint: venv
	$(VENV)/bin/ruff check $(LINT_PATHS)
	$(VENV)/bin/ruff format --check $(LINT_PATHS)

typing: venv
	$(VENV)/bin/mypy

unit: venv
	$(VENV)/bin/pytest tests/unit $(PYTEST_ARGS)

# Runs every step even when an earlier one fails, so one CI run reports everything, then
# exits non-zero if any step failed. pytest's exit code 5 (no tests collected) is non-zero
# and so counts as a failure.
test: venv servers
	@failed=(); \
	$(MAKE) --no-print-directory lint || failed+=(lint); \
	$(MAKE) --no-print-directory typing || failed+=(typing); \
	$(VENV)/bin/pytest $(PYTEST_ARGS) || failed+=("pytest (exit $$?)"); \
	if (( $${#failed[@]} )); then \
		echo "make test: FAILED: $${failed[*]}" >&2; \
		exit 1; \
	fi; \
	echo "make test: lint, typing and pytest passed"

bench: venv
	$(PY) -m pip install --quiet --group bench
	@if [[ -z "$(BENCHMARKS)" ]]; then echo "bench: no benchmarks/*.py" >&2; exit 1; fi
	@for f in $(BENCHMARKS); do \
		echo "=== $$f"; \
		$(PY) "$$f" $(BENCH_ARGS) || exit 1; \
	done

# DATABASE_URL=postgresql://user:pw@host:5432/db make migrate; MIGRATE_TO=0001 picks a revision.
MIGRATE_TO ?= head
migrate: venv
	$(VENV)/bin/alembic -c alembic.ini upgrade $(MIGRATE_TO)
