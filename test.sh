#!/usr/bin/env bash
# Set everything up and run the whole test suite: ruff, mypy, the import contracts, pytest.
# Exits non-zero when anything fails, and when no test ran (pytest exits 5 then).
set -euo pipefail
cd "$(dirname "$0")"
source scripts/setup.sh
source scripts/postgres.sh
source scripts/browser.sh
export PYTHONDONTWRITEBYTECODE=1

echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy"
.venv/bin/mypy scoring storage services cli bot templates web
echo "== import contracts"
.venv/bin/lint-imports
echo "== pytest"
# One worker per core (KAOHE_TEST_WORKERS overrides; 0 runs in this process).
.venv/bin/pytest -q -n "${KAOHE_TEST_WORKERS:-auto}" "$@"
