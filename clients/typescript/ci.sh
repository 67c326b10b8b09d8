#!/usr/bin/env bash
# Installs, builds and tests the TypeScript client against a live server.
#
#   clients/typescript/ci.sh [EVENTFOLD_BIN]
#
# EVENTFOLD_BIN: the eventfold binary the tests start (default: $EVENTFOLD_BIN, else `eventfold`
# on PATH). Works from any directory. With CHECK_SCHEMA=1 it also fails when src/schema.ts is not
# what the document the binary serves at /openapi.json generates (regenerate with
# `EVENTFOLD_BIN openapi | clients/typescript/generate.sh -`, see README.md).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin="${1:-${EVENTFOLD_BIN:-eventfold}}"
# A relative path means relative to where the script was called from, not to $here.
if [[ "$bin" == */* && "$bin" != /* ]]; then
  bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
fi
cd "$here"

# npm ci starts from a clean node_modules each time; skip it when the lock file has not
# changed since the last install (npm writes node_modules/.package-lock.json).
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi

npm run --silent build
if [[ "${CHECK_SCHEMA:-0}" == 1 ]]; then
  doc="$(mktemp -t eventfold-openapi.XXXXXX.json)"
  trap 'rm -f "$doc"' EXIT
  node scripts/served-openapi.mjs "$bin" 2>/dev/null >"$doc"
  if ! node scripts/generate.mjs "$doc" --check >/dev/null; then
    echo "src/schema.ts is not what $bin serves at /openapi.json generates; regenerate it with" >&2
    echo "  $bin openapi | $here/generate.sh -" >&2
    exit 1
  fi
  echo "src/schema.ts is up to date"
fi
EVENTFOLD_BIN="$bin" npm test --silent
