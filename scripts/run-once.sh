#!/usr/bin/env bash
# Sets up the runtime environment (.venv, no TensorFlow) and runs ONE pass of the bot
# with ./config.toml: by default Wikimedia Commons, read-only, reports to local files.
# Extra arguments go to the bot, e.g. scripts/run-once.sh --api-url http://127.0.0.1:8080/api.php
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/python -m bot.run --once "$@"
