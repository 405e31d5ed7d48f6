#!/usr/bin/env bash
# The test suite, after set-up. Real corpora are read from ../shared/data (beside the project's root).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/python -m pytest -q "$@"
