#!/usr/bin/env bash
# Runs the whole test suite: with cargo-nextest when it is installed, with `cargo test` otherwise.
# PostgreSQL-backed tests run when EVENTFOLD_TEST_POSTGRES is set (CI always sets it).
# The API from outside (schemathesis against a live server, the Python and TypeScript clients'
# tests) runs when EVENTFOLD_TEST_CLIENTS is set (CI always sets it): it needs python3 and npm,
# and installs its packages from PyPI and npm into caches under ~/.cache.
set -euo pipefail
cd "$(dirname "$0")"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --all-targets --no-fail-fast "$@"
  cargo test --workspace --doc
else
  cargo test --workspace --no-fail-fast "$@"
fi
if [[ -n "${EVENTFOLD_TEST_CLIENTS:-}" ]]; then
  cargo build -p eventfold-cli
  bin="${CARGO_TARGET_DIR:-target}/debug/eventfold"
  tests/api/schemathesis.sh "$bin"
  clients/python/ci.sh "$bin"
  CHECK_SCHEMA=1 clients/typescript/ci.sh "$bin"
else
  echo "test.sh: the API-from-outside suites (schemathesis, Python and TypeScript clients) ran" \
    "only with EVENTFOLD_TEST_CLIENTS=1 (python3 and npm needed)" >&2
fi
