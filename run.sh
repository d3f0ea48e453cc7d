#!/usr/bin/env bash
# Set everything up and run kaohe's main job: scores the bundled sample district and writes
# its report (data/sample/report-2025.xlsx).
set -euo pipefail
cd "$(dirname "$0")"
source scripts/setup.sh
exec .venv/bin/kaohe demo "$@"
