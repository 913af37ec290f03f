#!/usr/bin/env bash
# The one command that sets up and runs every test: unit tests, the classifier's
# checks on real photos, and the integration tests against a real MediaWiki and
# MariaDB on 127.0.0.1 (started and stopped by the tests themselves).
# Extra arguments go to pytest, e.g. scripts/test.sh -m "not integration".
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-test-services.sh
scripts/setup.sh --full
exec .venv/bin/python -m pytest "$@"
