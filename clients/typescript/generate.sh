#!/usr/bin/env bash
# Regenerates src/schema.ts from Eventfold's OpenAPI document: a file, a URL such as
# http://127.0.0.1:7117/openapi.json, or - for standard input:
#
#   clients/typescript/generate.sh DOC.json | URL | - [--check]
#   eventfold openapi | clients/typescript/generate.sh -
#
# --check writes nothing and exits 1 when src/schema.ts differs from what DOC generates.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
args=()
for arg in "$@"; do
  # Relative paths are relative to the caller's directory.
  if [[ "$arg" != - && "$arg" != --* && "$arg" != http://* && "$arg" != https://* && "$arg" != /* ]]; then
    arg="$PWD/$arg"
  fi
  args+=("$arg")
done
cd "$here"
[[ -d node_modules/openapi-typescript ]] || npm ci --no-audit --no-fund --loglevel=error >/dev/null
exec node scripts/generate.mjs "${args[@]}"
