# Developer and CI entry points. See docs/development.md.
#
#   make venv      .venv with the project (editable), every extra and the dev tools, from uv.lock
#   make run       run example_service; installs only what it needs (the `example` extra), from uv.lock
#   make lock      regenerate uv.lock after editing dependencies in pyproject.toml
#   make servers   make sure Redis, PostgreSQL and ClickHouse answer (scripts/servers.sh)
#   make lint      ruff check + ruff format --check
#   make typing    mypy (strict, configured in pyproject.toml)
#   make unit      unit tests only
#   make test      venv + servers + lint + typing + the whole test suite (what CI runs)
#   make bench     every benchmarks/*.py (BENCH_ARGS are passed to each)
#   make migrate   alembic upgrade head on DATABASE_URL (default: the example's SQLite file)
#
# Installs go through uv (scripts/uv.sh: a pinned uv, configured like this machine's pip) and
# install exactly the versions in uv.lock (`--frozen`: the lockfile is used as it is, never
# rewritten by an install).

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := test
.DELETE_ON_ERROR:
MAKEFLAGS += --no-builtin-rules

PYTHON ?= python3
export PYTHON
VENV := .venv
PY := $(VENV)/bin/python
UV := bash scripts/uv.sh
# An install re-runs when pyproject.toml or uv.lock is newer than its stamp. Syncs are
# --inexact (nothing is uninstalled), so `make run` after `make venv` keeps the dev tools and
# a .venv made earlier by pip keeps its pip; `rm -rf .venv` gives a clean one.
DEV_STAMP := $(VENV)/.service-pkg-dev.stamp
RUN_STAMP := $(VENV)/.service-pkg-run.stamp
SYNC := $(UV) sync --frozen --inexact

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
.PHONY: venv run lock servers lint typing unit test bench

venv: $(DEV_STAMP)

# The readme check: hatchling refuses to build a project whose readme is missing.
$(DEV_STAMP) $(RUN_STAMP): | README.md

$(DEV_STAMP): pyproject.toml uv.lock
	$(SYNC) --all-extras --group dev
	@touch $@

# Only the project, its core dependencies and the `example` extra: no dev tools, no peers.
$(RUN_STAMP): pyproject.toml uv.lock
	$(SYNC) --no-default-groups --extra example
	@touch $@

run: $(RUN_STAMP)
	$(PY) -m example_service

# After a dependency change in pyproject.toml. Resolves against PyPI for every platform and
# Python >= 3.11; commit the new uv.lock with the pyproject.toml change.
lock:
	$(UV) lock

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
	@if [[ -z "$(BENCHMARKS)" ]]; then echo "bench: no benchmarks/*.py" >&2; exit 1; fi
	@for f in $(BENCHMARKS); do \
		echo "=== $$f"; \
		$(PY) "$$f" $(BENCH_ARGS) || exit 1; \
	done

# DATABASE_URL=postgresql://user:pw@host:5432/db make migrate; MIGRATE_TO=0001 picks a revision.
MIGRATE_TO ?= head
migrate: venv
	$(VENV)/bin/alembic -c alembic.ini upgrade $(MIGRATE_TO)
