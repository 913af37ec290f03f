#!/usr/bin/env bash
# Creates (or updates) the project's virtual environment at .venv.
#   scripts/setup.sh          runtime only: the bot and the classifier
#   scripts/setup.sh --full   also the review tool, training (TensorFlow), the Spark backfill
#                             and the test tools
# Safe to run again: pip only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="bot"
[ "${1:-}" = "--full" ] && extras="bot,review,training,spark,dev"
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
    .venv/bin/python -m pip install -q --upgrade pip
fi
.venv/bin/python -m pip install -q -e ".[$extras]"
