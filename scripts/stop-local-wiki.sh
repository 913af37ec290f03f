#!/usr/bin/env bash
# Stops a wiki started by scripts/start-local-wiki.sh DIR; with --remove also deletes DIR.
#   scripts/stop-local-wiki.sh DIR [--remove]
set -euo pipefail
DIR=$(realpath -m "${1:?usage: stop-local-wiki.sh DIR [--remove]}")
if [ -f "$DIR/server.pid" ]; then
    kill "$(cat "$DIR/server.pid")" 2>/dev/null || true
    rm -f "$DIR/server.pid"
fi
[ "${2:-}" = "--remove" ] && rm -rf "$DIR"
exit 0
